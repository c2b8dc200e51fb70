"""``ledgerrun status``: what the journal says about a job's runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ledgerrun.cli._common import (
    emit_json,
    format_option,
    job_options,
    reports_errors,
    resolve_job,
)
from ledgerrun.job import redact_location


@click.command()
@job_options
@format_option
@reports_errors
def status(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    journal: str | None,
    api_base: str | None,
    live: bool,
    fmt: str,
) -> None:
    """Show the job's runs (date, ledger, mode, who and where, how each ended, or "running")
    and how many adjustments of each run date are in each state.

    Reads the journal only (safe while a run is in progress, and in a read-only folder);
    contacts nobody. States: succeeded (done), failed (refused by Stripe; a corrected row is sent
    again under a new key), pending (sent, outcome unknown: the next run settles it).
    """
    from ledgerrun.output import text
    from ledgerrun.store import open_store

    job = resolve_job(target, ledger, job_name, run_date, journal, api_base)
    where = redact_location(job.store_location)
    if not job.has_store():
        if fmt == "json":
            emit_json({"job": job.name, "journal": where, "runs": [], "dates": {}})
        else:
            click.echo(f"Job {job.name} has not run yet: no journal at {where}.")
        return
    store = open_store(job.store_location, readonly=True)
    try:
        runs = store.runs(job.name)
        holder = store.lock_holder(job.name)
        dates = sorted({r.run_date for r in runs} | {job.run_date.isoformat()})
        counts = {d: store.counts(job.name, d) for d in dates}
        reversals: dict[str, dict[str, int]] = {}
        for r in store.iter_reversals(job.name):
            by_state = reversals.setdefault(r.state, {})
            by_state[r.currency] = by_state.get(r.currency, 0) + r.amount_minor
            by_state["count"] = by_state.get("count", 0) + 1
    finally:
        store.close()
    counts = {d: c for d, c in counts.items() if any(c.values())}
    if not runs and not counts and fmt != "json":
        click.echo(f"Job {job.name} has not run yet: its journal {where} holds no run of it.")
        return
    if fmt == "json":
        emit_json(text.status_json(job, runs, counts, holder) | {"reversals": reversals})
    else:
        click.echo(text.status_text(job, runs, counts, holder, reversals))
