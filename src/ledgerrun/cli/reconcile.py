"""``ledgerrun reconcile``: check a run date's results and the journal against Stripe."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ledgerrun.cli._common import job_options, max_problems_option, reports_errors, resolve_job
from ledgerrun.errors import ExitCode
from ledgerrun.job import redact_location


@click.command()
@job_options
@click.option(
    "--results",
    type=click.Path(path_type=Path),
    help="The results file to check (default: the one the job writes for the run date).",
)
@click.option(
    "--all",
    "every_date",
    is_flag=True,
    help="Check every run date of the job that the journal holds, instead of one.",
)
@max_problems_option
@reports_errors
def reconcile(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    journal: str | None,
    api_base: str | None,
    live: bool,
    results: Path | None,
    every_date: bool,
    max_problems: int,
) -> None:
    """Check one run date (--date, default today; or --all) against Stripe's own records.
    Sends no money.

    Every row reported succeeded must have its objects in Stripe with the same account,
    amount, currency and adjustment; no adjustment may have two; and no object of the transfer
    group may go unaccounted for. Another night's objects of the job are never discrepancies;
    rows removed from the ledger after their money moved are reported as such. The findings
    are written beside the results (.reconcile.csv, with what to do for each, and
    .reconcile.json).

    Exit status: 0 when everything agrees, 1 when there are discrepancies, 3 when Stripe did
    not answer for some objects (run it again).
    """
    import os

    from ledgerrun.cli.prepare import read_store
    from ledgerrun.errors import ConfigError
    from ledgerrun.output import text
    from ledgerrun.output.html import refresh_report
    from ledgerrun.reconcile.check import reconcile as check
    from ledgerrun.reconcile.files import write_report
    from ledgerrun.stripe.session import connect

    job = resolve_job(target, ledger, job_name, run_date, journal, api_base)
    path = (results or job.results).resolve()
    if not every_date and not path.exists() and not job.has_store():
        raise ConfigError(
            f"nothing to reconcile for {job.run_date}: no results file at {path} and no journal"
            f" at {redact_location(job.store_location)} (run the job first, or give --results,"
            " --date or --all)"
        )
    started = dt.datetime.now(dt.UTC)
    with read_store(job) as store, connect(job, os.environ, live=live, standing=True) as session:
        report = check(
            job,
            session,
            store,
            path,
            run_date=None if every_date else job.run_date.isoformat(),
            now=started,
        )
    report.ended_at = dt.datetime.now(dt.UTC)
    csv_path, _ = write_report(report)
    refreshed = refresh_report(path) if path.exists() and not every_date else None
    click.echo(text.reconciliation(report, csv_path, max_problems))
    if refreshed is not None:
        click.echo(f"Run report (with this verdict): {refreshed}")
    if report.unchecked:
        raise SystemExit(int(ExitCode.INCOMPLETE))
    raise SystemExit(int(ExitCode.OK if report.clean else ExitCode.FAILED))
