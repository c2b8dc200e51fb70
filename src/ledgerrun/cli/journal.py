"""``ledgerrun journal``: look after the journal itself (backups, migration between stores)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ledgerrun.cli._common import global_options, job_options, reports_errors, resolve_job


@click.group()
@global_options
def journal() -> None:
    """Look after the journal: the record of every request ledgerrun sent.

    A SQLite journal is more than its file: the -wal file beside it holds the latest commits.
    Never copy it with cp; use `ledgerrun journal backup`. A PostgreSQL store is backed up with
    PostgreSQL's own tools (pg_dump); `ledgerrun journal migrate` moves a journal between the two.
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
    from ledgerrun.job import redact_location
    from ledgerrun.store.sqlite import SQLiteStore

    job = resolve_job(target, ledger, job_name, run_date, journal, api_base)
    if job.journal_url:
        raise ConfigError(
            f"the job's store is a PostgreSQL database ({redact_location(job.journal_url)}):"
            " back it up with pg_dump (see docs/stores.md); journal backup copies SQLite files"
        )
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


@journal.command()
@click.argument("source")
@click.argument("destination")
@global_options
@reports_errors
def migrate(source: str, destination: str) -> None:
    """Copy the whole store at SOURCE into a new, empty store at DESTINATION, verified.

    Each is a SQLite journal's path or a postgresql:// URL (the password from PGPASSWORD or
    ~/.pgpass), so a journal moves from SQLite to PostgreSQL and back. Every table is copied in
    one transaction, then read back: the row counts and a SHA-256 of each table's rows in key
    order must match the source's, or nothing is kept. A DESTINATION that holds anything is
    refused, and so is a SOURCE on which a run is going on. SOURCE is only read; point the jobs
    at DESTINATION afterwards.
    """
    from ledgerrun.errors import ConfigError
    from ledgerrun.output.text import plural
    from ledgerrun.store import is_url, open_store
    from ledgerrun.store.migrate import copy_store
    from ledgerrun.store.pgconn import shown

    def same(a: str, b: str) -> bool:
        if is_url(a) or is_url(b):
            return a == b
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()

    if same(source, destination):
        raise ConfigError("SOURCE and DESTINATION are the same store: migrate into a new one")
    if not is_url(source) and not Path(source).expanduser().exists():
        raise ConfigError(f"there is no journal at {source} to migrate")
    src = open_store(source if is_url(source) else Path(source).expanduser(), readonly=True)
    try:
        dest = open_store(destination if is_url(destination) else Path(destination).expanduser())
        try:
            copied = copy_store(src, dest)  # type: ignore[arg-type]
        finally:
            dest.close()
    finally:
        src.close()
    width = max(len(c.table) for c in copied)
    click.echo(f"Migrated {shown(source)} to {shown(destination)}:")
    for c in copied:
        rows = "row " if c.rows == 1 else "rows"
        click.echo(f"  {c.table:<{width}}  {c.rows:>9,} {rows}  sha256 {c.sha256[:16]}")
    total = sum(c.rows for c in copied)
    click.echo(
        f"Verified: {plural(total, 'row')} in {len(copied)} tables; every table's row count and "
        "SHA-256 match the source's. Point the jobs' `journal` at the new store."
    )
