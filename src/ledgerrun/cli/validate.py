"""``ledgerrun validate``: check a ledger, and unless offline, its accounts."""

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
@click.option("--offline", is_flag=True, help="Check the file only; make no call to Stripe.")
@format_option
@max_problems_option
@reports_errors
def validate(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    offline: bool,
    fmt: str,
    max_problems: int,
) -> None:
    """Check every row of a ledger and report every problem at once.

    Each problem names its row (as a spreadsheet numbers it: the header is row 1), its column,
    the value, a stable code and what to do. Without --offline, each account is also checked
    against Stripe (exists, reachable, eligible for debits, currency, region) and the journal is
    checked for adjustment ids reused with other values.

    Exit status: 0 when the ledger is valid, 2 when it is not.
    """
    import os

    from ledgerrun.output import text as render
    from ledgerrun.send.preflight import check_job

    job = resolve_job(target, ledger, job_name, run_date)
    result = check_job(job, os.environ, offline=offline)
    if fmt == "json":
        emit_json(
            {
                "valid": result.ok,
                "rows": result.rows,
                "problems": [p.to_json() for p in result.problems],
            }
        )
    else:
        click.echo(render.validation(result, max_problems))
    raise SystemExit(0 if result.ok else 2)
