"""Opening a PostgreSQL store: its tables made in a fresh schema (once, whoever opens it first),
checked, and brought forward from an older version; and the stand-in tables of a read-only open
of a database nothing has run with yet. A mixin of :class:`~ledgerrun.store.postgres.PostgresStore`.
"""

from __future__ import annotations

import hashlib
import uuid

from ledgerrun.errors import JournalError
from ledgerrun.store import schema
from ledgerrun.store.model import SCHEMA_VERSION
from ledgerrun.store.pgconn import (
    PgConn,
    bring_forward,
    current_schema,
    damaged,
    end,
    schema_version,
    table_names,
)

TABLES = schema.created_tables(schema.POSTGRES_TABLES)
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('ledgerrun:schema:' || %s, 0))"


def lock_key(store_id: str, name: str) -> int:
    """A 64-bit advisory lock key for ``name`` in the store ``store_id``."""
    digest = hashlib.sha256(f"ledgerrun:{store_id}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class StoreSchema:
    """Making, checking and bringing forward a store's tables (see the module docstring)."""

    location: str
    readonly: bool
    _store_id: str
    _write_key: int
    _write_lock: str
    _standing_in: bool

    def _prepare(self, conn: PgConn, create: bool) -> None:
        where = self.location
        tables = table_names(conn)
        if not tables and create:
            current = current_schema(conn)
            if current is None:
                raise JournalError(
                    f"the store {where} has no schema to create its tables in: the search_path"
                    " names no schema that exists (create it, or fix the URL's options)"
                )
            conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            try:
                conn.execute(_SCHEMA_LOCK, (current,))  # waits for one creating it now
                if not table_names(conn):
                    for statement in schema.POSTGRES_TABLES:
                        conn.execute(statement)
                    meta = {
                        "application": "ledgerrun",
                        "created_at": schema.now_text(),
                        "schema_version": str(SCHEMA_VERSION),
                        "store_id": uuid.uuid4().hex,
                    }
                    with conn.cursor() as cur:
                        cur.executemany("INSERT INTO meta VALUES (%s, %s)", list(meta.items()))
                conn.execute("COMMIT")
            finally:
                end(conn)
            tables = table_names(conn)
        if not tables and self.readonly and current_schema(conn) is not None:
            self._stand_in(conn)  # read as empty, as a SQLite journal not made yet reads
            return
        if not tables:
            raise JournalError(
                f"there is no ledgerrun store at {where}: nothing has run with it yet"
            )
        if "meta" not in tables:
            held = ", ".join(sorted(tables)[:8])
            raise JournalError(
                f"{where} is not a ledgerrun store: its schema holds other tables ({held}). Give"
                " ledgerrun a database or schema of its own (e.g. options=-csearch_path=ledgerrun)"
            )
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"the store {where} was written by a newer ledgerrun (schema version {version};"
                f" this one understands up to {SCHEMA_VERSION}): upgrade ledgerrun to use it,"
                " and do not touch it with this version"
            )
        if version < SCHEMA_VERSION or not tables >= TABLES:
            self._migrate(conn, version, tables)
        row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
        if row is None:
            raise damaged(self.location, "its meta table holds no store_id")
        self._store_id = str(row[0])
        self._write_key = lock_key(self._store_id, "\x00write")
        self._write_lock = f"SELECT pg_advisory_xact_lock({self._write_key})"

    def _stand_in(self, conn: PgConn) -> None:
        """A read-only open of a database nothing has run with yet reads an empty store: its
        tables made empty in this session's temporary schema (which PostgreSQL looks in first),
        nothing made in the database. So ``status`` and ``plan`` before the first run say that
        nothing was sent, as they do before a SQLite journal exists."""
        conn.execute("SET default_transaction_read_only = off")
        conn.execute("BEGIN")
        try:
            for statement in schema.POSTGRES_TABLES:
                if statement.startswith("CREATE TABLE "):
                    conn.execute(statement.replace("CREATE TABLE ", "CREATE TEMP TABLE ", 1))
            conn.execute("COMMIT")
        finally:
            end(conn)
        conn.execute("SET default_transaction_read_only = on")
        self._standing_in = True
        self._store_id = uuid.uuid4().hex  # no lock of this store is held anywhere
        self._write_key = lock_key(self._store_id, "\x00write")
        self._write_lock = f"SELECT pg_advisory_xact_lock({self._write_key})"

    def _migrate(self, conn: PgConn, version: int, tables: set[str]) -> None:
        """Bring the store forward to this version's schema, in one transaction.

        PostgreSQL stores start at schema version 2 (the version that keys adjustments by
        canonical id); no PostgreSQL store of version 1 exists. Each later version's statements
        (:data:`ledgerrun.store.schema.UPGRADES`) are applied in turn, then the version is
        written."""
        missing = TABLES - tables - schema.tables_added_after(version)
        if not 2 <= version <= SCHEMA_VERSION or missing - {"locks"}:
            raise damaged(
                self.location,
                f"its schema is incomplete (version {version}; missing "
                f"{', '.join(sorted(missing)) or 'nothing'})",
            )
        if self.readonly:
            raise JournalError(
                f"the store {self.location} needs its tables brought forward; run any command"
                " that writes (plan, run) once"
            )
        conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            conn.execute(_SCHEMA_LOCK, (current_schema(conn),))
            bring_forward(conn, SCHEMA_VERSION)
            conn.execute("COMMIT")
        finally:
            end(conn)
