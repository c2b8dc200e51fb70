"""``ledgerrun status``: what the journal says about a job's runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ledgerrun.cli._common import (
    emit_json,
    format_option,
    job_options,
    reports_errors,
    resolve_job,
)

if TYPE_CHECKING:
    from ledgerrun.store.model import ReversalEntry


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
    """Show the job's runs (date, ledger, mode, who and where, how each ended, or "running"),
    how many adjustments of each run date are in each state, and what was reversed.

    With --date, only that run date: its runs, its counts and its reversals. Reads the journal
    only (safe while a run is in progress, and in a read-only folder); contacts nobody. States:
    succeeded (done), failed (refused by Stripe; a corrected row is sent again under a new key),
    pending (sent, outcome unknown: the next run settles it).
    """
    from ledgerrun.job import redact_location
    from ledgerrun.output import text
    from ledgerrun.store import open_store

    job = resolve_job(target, ledger, job_name, run_date, journal, api_base)
    only = run_date.isoformat() if run_date is not None else None
    where = redact_location(job.store_location)
    if not job.has_store():
        if fmt == "json":
            emit_json(
                {"job": job.name, "journal": where, "date": only, "runs": [], "dates": {}}
                | {"reversals": {}, "reversed_minor": {}}
            )
        else:
            click.echo(f"Job {job.name} has not run yet: no journal at {where}.")
        return
    store = open_store(job.store_location, readonly=True)
    try:
        runs = [r for r in store.runs(job.name) if only is None or r.run_date == only]
        holder = store.lock_holder(job.name)
        dates = sorted({r.run_date for r in runs} | {job.run_date.isoformat()})
        counts = {d: store.counts(job.name, d) for d in dates}
        entries = [r for r in store.iter_reversals(job.name) if only is None or r.run_date == only]
    finally:
        store.close()
    counts = {d: c for d, c in counts.items() if any(c.values())}
    reversals = reversal_states(entries)
    reversed_minor = reversed_by_date(entries)
    if not runs and not counts and not entries and fmt != "json":
        when = f" for {only}" if only else ""
        click.echo(f"Job {job.name} has not run yet{when}: its journal {where} holds no run of it.")
        return
    if fmt == "json":
        emit_json(
            text.status_json(job, runs, counts, holder)
            | {"date": only, "reversals": reversals, "reversed_minor": reversed_minor}
        )
    else:
        click.echo(text.status_text(job, runs, counts, holder, reversals, reversed_minor))


def reversal_states(entries: Iterable[ReversalEntry]) -> dict[str, dict[str, int]]:
    """Reversals per state: their number (``count``) and amount per currency (minor units), as
    version 2's ``status --format json`` gives them."""
    out: dict[str, dict[str, int]] = {}
    for r in entries:
        by_state = out.setdefault(r.state, {})
        by_state[r.currency] = by_state.get(r.currency, 0) + r.amount_minor
        by_state["count"] = by_state.get("count", 0) + 1
    return out


def reversed_by_date(entries: Iterable[ReversalEntry]) -> dict[str, dict[str, int]]:
    """What was given back, by run date and currency (minor units): the reversals that
    succeeded."""
    from ledgerrun.vocab import State

    out: dict[str, dict[str, int]] = {}
    for r in entries:
        if r.state == State.SUCCEEDED:
            by_currency = out.setdefault(r.run_date, {})
            by_currency[r.currency] = by_currency.get(r.currency, 0) + r.amount_minor
    return {d: dict(sorted(c.items())) for d, c in sorted(out.items())}
