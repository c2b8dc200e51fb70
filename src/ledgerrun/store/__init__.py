"""The store: ledgerrun's only state (see :mod:`ledgerrun.store.model` for what it holds).

:func:`open_store` opens a SQLite file by path, or a PostgreSQL database by ``postgresql://``
URL. :func:`default_journal` is the per-user journal a job uses when it names none, so that a
renamed or copied ledger never finds a fresh, empty journal beside it.
"""

from __future__ import annotations

from pathlib import Path

from ledgerrun.errors import JournalError
from ledgerrun.job import URL_PREFIXES, default_journal, redact_location
from ledgerrun.store.model import AccountRecord, Entry, Run, Seen, Store

__all__ = ["AccountRecord", "Entry", "Run", "Seen", "Store", "default_journal", "open_store"]


def is_url(location: str | Path) -> bool:
    return str(location).startswith(URL_PREFIXES)


def open_store(location: str | Path, *, create: bool = True, readonly: bool = False) -> Store:
    """Open the store at ``location``: a SQLite path, or a PostgreSQL URL."""
    if is_url(location):
        try:
            from ledgerrun.store.postgres import PostgresStore
        except ImportError as exc:  # psycopg missing from this installation
            raise JournalError(
                f"cannot open the PostgreSQL store {redact_location(str(location))}: {exc}"
                " (install ledgerrun with its dependencies, which include psycopg)"
            ) from exc
        return PostgresStore.open(str(location), create=create, readonly=readonly)
    from ledgerrun.store.sqlite import SQLiteStore

    return SQLiteStore.open(Path(location), create=create, readonly=readonly)
