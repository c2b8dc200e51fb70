"""``ledgerrun journal``: look after the journal itself (backups)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ledgerrun.cli._common import job_options, reports_errors, resolve_job


@click.group()
def journal() -> None:
    """Look after the journal: the record of every request ledgerrun sent.

    A SQLite journal is more than its file: the -wal file beside it holds the latest commits.
    Never copy it with cp; use `ledgerrun journal backup`.
    """


@journal.command()
@job_options
@click.argument("destination", type=click.Path(path_type=Path))
@reports_errors
def backup(
    target: Path,
    ledger: Path | None,
    job_name: str | None,
    run_date: dt.date | None,
    journal: str | None,
    api_base: str | None,
    live: bool,
    destination: Path,
) -> None:
    """Write a consistent copy of the job's journal to DESTINATION (a new file).

    Uses SQLite's backup API, so the copy holds every commit, including those still in the
    -wal file, and can be taken while a run is going on. Restore it by pointing the job's
    `journal` at the copy (or copying it back while nothing runs).
    """
    from ledgerrun.errors import ConfigError
    from ledgerrun.store.sqlite import SQLiteStore

    job = resolve_job(target, ledger, job_name, run_date, journal, api_base)
    if not job.journal.exists():
        raise ConfigError(f"there is no journal at {job.journal} to back up")
    if destination.exists():
        raise ConfigError(f"{destination} exists already: back up to a new file")
    if destination.resolve() == job.journal.resolve():
        raise ConfigError("the backup must go to another file than the journal itself")
    store = SQLiteStore.open(job.journal, readonly=True)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        store.backup(destination)
    finally:
        store.close()
    click.echo(f"Backed up {job.journal} to {destination}.")
