"""The ``ledgerrun`` command line: a thin layer of click commands over the library.

Each command lives in its own module and imports the heavy parts of the library (pyarrow,
stripe) inside its function, so ``ledgerrun --help`` stays fast.
"""

from __future__ import annotations

import click

from ledgerrun import __version__
from ledgerrun.cli.plan import plan
from ledgerrun.cli.sandbox import sandbox
from ledgerrun.cli.validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ledgerrun")
def main() -> None:
    """Debit Stripe Connect accounts in bulk from a ledger file, exactly once.

    TARGET is a job file (TOML) or a ledger file (.csv, .parquet, .xlsx).
    """


for command in (validate, plan, sandbox):
    main.add_command(command)
