"""``ledgerrun validate``: check a ledger and, unless offline, its accounts and Stripe's books."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ledgerrun.cli._common import (
    emit_json,
    format_option,
    job_options,
    ledger_ready,
    max_problems_option,
    reports_errors,
    resolve_job,
    wait_for_ledger_option,
)


@click.command()
@job_options
@click.option("--offline", is_flag=True, help="Check the file only; make no call to Stripe.")
@format_option
@max_problems_option
@wait_for_ledger_option
@reports_errors
def validate(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    journal: str | None,
    api_base: str | None,
    live: bool,
    offline: bool,
    fmt: str,
    max_problems: int,
    wait_for: float | None,
) -> None:
    """Check every row of a ledger and report every problem at once.

    Each problem names its row (as a spreadsheet numbers it), its column, the value, a stable
    code and what to do. Without --offline, each account is also checked against Stripe
    (exists, reachable, eligible, currency, region), and the journal and Stripe's own books are
    searched for ids already used with other values. Sends nothing.

    Exit status: 0 when the ledger is valid, 2 when it is not (3 when Stripe cannot be reached).
    """
    from ledgerrun.output import text
    from ledgerrun.send.readonly import validate_job

    job = resolve_job(target, ledger, job_name, run_date, journal, api_base, pool="mimalloc")
    ledger_ready(job, wait_for)
    result = validate_job(job, offline=offline, live=live).validation
    if fmt == "json":
        emit_json(
            {
                "valid": result.ok,
                "rows": result.rows,
                "problems": [p.to_json() for p in result.problems],
            }
        )
    else:
        click.echo(text.validation(result, max_problems))
    raise SystemExit(int(result.exit_code))
