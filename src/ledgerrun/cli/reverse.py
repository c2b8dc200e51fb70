"""``ledgerrun reverse``: undo all or part of a batch, exactly once."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import click

from ledgerrun.cli._common import job_options, max_problems_option, reports_errors, resolve_job
from ledgerrun.errors import ConfigError


@click.command()
@job_options
@click.option(
    "--adjustments",
    "request",
    type=click.Path(path_type=Path),
    help="A file (.csv, .xlsx, .parquet) of the reversals to make: adjustment_id, and optionally "
    "amount or amount_minor (blank: in full), reason, reversal_id.",
)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Reverse in full every adjustment of the run date that succeeded.",
)
@click.option("--reason", default="", help="Why, for every reversal that gives none of its own.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check everything (journal, Stripe, balances) and write the .dry-run results; "
    "reverse nothing.",
)
@max_problems_option
@reports_errors
def reverse(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    journal: str | None,
    api_base: str | None,
    live: bool,
    request: Path | None,
    every: bool,
    reason: str,
    dry_run: bool,
    max_problems: int,
) -> None:
    """Reverse adjustments that moved money: all of the run date (--all) or those a file names
    (--adjustments), in full or in part, exactly once.

    Each reversal is checked first (the adjustment succeeded, and no more is reversed than it
    moved, counting reversals made outside ledgerrun), journalled before it is sent, and sent
    under its own idempotency key: running the same request again reverses nothing twice.
    Writes <results>.reversals.csv and its summary; start with --dry-run.

    Exit status: as `run`: 0 all done; 1 some failed or were invalid; 2 the request is invalid,
    nothing sent; 3 incomplete, run again; 4 another run of the job holds its lock.
    """
    from ledgerrun.output import text
    from ledgerrun.send.publish import publish_reversals
    from ledgerrun.send.reversal.command import reverse_job

    if every == (request is not None):
        raise ConfigError("give exactly one of --adjustments FILE and --all")
    job = resolve_job(target, ledger, job_name, run_date, journal, api_base)
    stop = threading.Event()
    result = reverse_job(
        job,
        adjustments=request.resolve() if request is not None else None,
        every=every,
        reason=reason,
        dry_run=dry_run,
        live=live,
        stop=stop,
        publish=publish_reversals,
    )
    click.echo(text.reversal_report(result, max_problems))
    raise SystemExit(int(result.exit_code))
