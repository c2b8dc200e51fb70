"""``ledgerrun plan``: what a run would send, per account and currency. Sends nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ledgerrun.cli._common import (
    emit_json,
    format_option,
    job_options,
    max_problems_option,
    reports_errors,
    resolve_job,
)


@click.command()
@job_options
@click.option(
    "--offline",
    is_flag=True,
    help="Plan from the file and the journal only; make no call to Stripe (no balances).",
)
@format_option
@max_problems_option
@reports_errors
def plan(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    offline: bool,
    fmt: str,
    max_problems: int,
) -> None:
    """Show what a run would do, without sending anything.

    Validates the ledger, then groups its valid rows by account and currency: rows, total,
    how many the journal already holds as done, how many are left to send, and (unless
    --offline) the account's available balance, with a warning when it is short.

    Exit status: 0 when the ledger is valid, 2 when it is not.
    """
    import os

    from ledgerrun.output import text as render
    from ledgerrun.send.plan import plan_job

    job = resolve_job(target, ledger, job_name, run_date)
    result = plan_job(job, os.environ, offline=offline)
    if fmt == "json":
        emit_json(result.to_json())
    else:
        click.echo(render.plan(result, max_problems))
    raise SystemExit(0 if result.valid else 2)
