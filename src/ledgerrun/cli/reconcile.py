"""``ledgerrun reconcile``: check a run date's results and the journal against Stripe."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ledgerrun.cli._common import (
    emit_json,
    event_logger,
    format_option,
    job_options,
    json_line,
    max_problems_option,
    output,
    reports_errors,
    resolve_job,
)


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
@format_option
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
    fmt: str,
    max_problems: int,
) -> None:
    """Check one run date (--date, default today; or --all) against Stripe's own records.
    Sends no money.

    Every row reported succeeded must have its objects in Stripe with the same account,
    amount, currency and adjustment; no adjustment may have two; and no object of the transfer
    group may go unaccounted for. Another night's objects of the job are never discrepancies;
    rows removed from the ledger after their money moved are reported as such. The findings
    are written beside the results (.reconcile.csv, with what to do for each, and
    .reconcile.json); --format json prints them as one JSON document. Each discrepancy is also
    logged on stderr (a reconcile_discrepancy event with --log-format json, then reconcile_end
    with the verdict; a short line each with text logs), so a scheduler's mail says what was
    found.

    Exit status: 0 when everything agrees, 1 when there are discrepancies, 3 when Stripe did
    not answer for some objects (run it again).
    """
    from ledgerrun.api.after_run import tell_reconcile
    from ledgerrun.output import text
    from ledgerrun.output.logs import reconcile_events, reconcile_lines
    from ledgerrun.reconcile.command import reconcile_job
    from ledgerrun.send.runner import who

    job = resolve_job(target, ledger, job_name, run_date, journal, api_base, pool="jemalloc")
    done = reconcile_job(job, results=results, every_date=every_date, live=live)
    findings = {
        **done.report.to_json(),
        "report": str(done.csv_path),
        "summary": str(done.json_path),
        "run_report": None if done.refreshed is None else str(done.refreshed),
    }
    if output().log_format == "json":
        for event, level, fields in reconcile_events(findings):
            json_line(event, level=level, **fields)
    else:
        for line in reconcile_lines(findings):
            click.echo(line, err=True)
    tell_reconcile(job, done.report, by="@".join(who()), log=event_logger())
    if fmt == "json":
        emit_json(findings)
    else:
        click.echo(text.reconciliation(done.report, done.csv_path, max_problems))
        if done.refreshed is not None:
            click.echo(f"Run report (with this verdict): {done.refreshed}")
    raise SystemExit(int(done.report.exit_code))
