"""``ledgerrun sandbox``: placeholder until the sandbox lands (issue 3)."""

from __future__ import annotations

import click


@click.command()
def sandbox() -> None:
    """Run a local Stripe API for rehearsals and tests."""
    raise click.ClickException("the sandbox is not built yet")
