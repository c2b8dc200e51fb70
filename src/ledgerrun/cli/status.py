"""``ledgerrun status``: what the journal says about a job."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ledgerrun.cli._common import emit_json, format_option, job_options, reports_errors, resolve_job


@click.command()
@job_options
@format_option
@reports_errors
def status(
    target: Path, ledger: Path | None, job_name: str | None, run_date: dt.date | None, fmt: str
) -> None:
    """Show the job's runs and how many adjustments are in each state.

    Reads the journal only (safe while a run is in progress); contacts nobody. States:
    succeeded (debited), failed (refused by Stripe, will be tried again with a new key),
    pending (sent, outcome unknown: the next run settles it).
    """
    from ledgerrun.output import text as render
    from ledgerrun.store.sqlite import SQLiteJournal

    job = resolve_job(target, ledger, job_name, run_date)
    if not job.journal.exists():
        if fmt == "json":
            emit_json({"job": job.name, "journal": str(job.journal), "runs": [], "counts": {}})
        else:
            click.echo(f"Job {job.name} has not run yet: no journal at {job.journal}.")
        return
    journal = SQLiteJournal.open_readonly(job.journal)
    try:
        runs, counts = journal.runs(job.name), journal.counts(job.name)
    finally:
        journal.close()
    if fmt == "json":
        emit_json(render.status_json(job, runs, counts))
    else:
        click.echo(render.status_text(job, runs, counts))
