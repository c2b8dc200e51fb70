"""``ledgerrun reconcile``: check the results and the journal against Stripe."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ledgerrun.cli._common import job_options, max_problems_option, reports_errors, resolve_job


@click.command()
@job_options
@click.option(
    "--results",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The results file to check (default: the one the job writes for the run date).",
)
@max_problems_option
@reports_errors
def reconcile(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    results: Path | None,
    max_problems: int,
) -> None:
    """Check a run's results against Stripe's own records. Sends no debit.

    Every row reported succeeded must have its Transfer and Payment in Stripe with the same
    account, amount, currency and adjustment; no adjustment may have two debits; and no debit
    carrying the job's transfer group may be missing from the results. The discrepancies are
    written beside the results (.reconcile.csv, with what to do for each, and .reconcile.json).

    Exit status: 0 when everything agrees, 1 when there are discrepancies.
    """
    import os

    from ledgerrun.output import text as render
    from ledgerrun.output.html import refresh_report
    from ledgerrun.reconcile.check import reconcile as check
    from ledgerrun.reconcile.check import write_report
    from ledgerrun.stripe.session import connect

    job = resolve_job(target, ledger, job_name, run_date)
    path = (results or job.results).resolve()
    started = dt.datetime.now(dt.UTC)
    with connect(job, os.environ) as session:
        report = check(job, session, path, started)
    report.ended_at = dt.datetime.now(dt.UTC)
    csv_path, _ = write_report(report)
    refreshed = refresh_report(path)
    click.echo(render.reconciliation(report, csv_path, max_problems))
    if refreshed is not None:
        click.echo(f"Run report (with this verdict): {refreshed}")
    raise SystemExit(0 if report.clean else 1)
