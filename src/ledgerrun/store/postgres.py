"""The store in PostgreSQL: one truth and one run lock for several hosts (cron on two hosts, the
web application and its worker).

The tables are SQLite's (see :mod:`ledgerrun.store.schema`), in PostgreSQL's types, created by
ledgerrun in the first schema of the URL's ``search_path`` when the store is first opened. Two
processes opening a fresh database at once do not both create them: creation waits for a
transaction-level advisory lock and looks again.

Transactions. One connection per process, shared by its threads one transaction at a time (as
the SQLite store does). Every write transaction first takes a transaction-level advisory lock of
the store, so writes are serialised across every host as SQLite serialises them across processes:
the table mixins' read-then-write rules (an intent never swaps the key of its generation; two
workers never claim the same work) hold under PostgreSQL's READ COMMITTED as they do under
``BEGIN IMMEDIATE``. Reads run in one REPEATABLE READ READ ONLY snapshot.

Durability. Intents and the start and end of runs commit with ``synchronous_commit`` on (or the
server's stronger setting): when the call returns, the commit is on the server's disk, before
anything is sent. Outcomes, listings and run files commit with ``SET LOCAL synchronous_commit =
off``: losing one in a crash of the server leaves its adjustment ``pending``, and the next run
asks Stripe again under the same key and gets the same answer.

The run lock. :meth:`PostgresStore.lock` takes a session-level advisory lock (a 64-bit key made
from the store's id and the job's name) on a connection of its own, held for the run and released
by :meth:`close` or by the end of that connection: at once when the process dies (its socket
closes), within seconds when its host vanishes (TCP keepalives, set on both ends of that
connection). Who holds it (host, pid, since) is kept in the ``locks`` table, matched to the holding
session through ``pg_locks``. A run that loses its lock connection while it holds the lock stops
writing: every later write is refused, so two hosts never send at the same time.

Passwords come only from the environment (``PGPASSWORD``) or ``~/.pgpass`` (``PGPASSFILE``): a
URL with a password in it is refused, and URLs are shown through
:func:`ledgerrun.job.redact_location`. Every psycopg error surfaces as a
:class:`~ledgerrun.errors.JournalError` with a sentence for the operator.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import errors as pgerrors

from ledgerrun.errors import JournalError, StoreUnavailableError
from ledgerrun.store import schema
from ledgerrun.store.lock import held_error
from ledgerrun.store.model import SCHEMA_VERSION
from ledgerrun.store.pgconn import (
    BEGIN_READ,
    BEGIN_WRITE,
    Adapter,
    PgConn,
    bring_forward,
    check_url,
    connect,
    current_schema,
    damaged,
    end,
    journal_error,
    now_seconds,
    placeholder,
    schema_version,
    shown,
    table_names,
)
from ledgerrun.store.reversal_sql import ReversalTables
from ledgerrun.store.sql import Conn
from ledgerrun.store.web_sql import WebTables

TABLES = schema.created_tables(schema.POSTGRES_TABLES)


_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('ledgerrun:schema:' || %s, 0))"


def lock_key(store_id: str, name: str) -> int:
    """A 64-bit advisory lock key for ``name`` in the store ``store_id``."""
    digest = hashlib.sha256(f"ledgerrun:{store_id}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresStore(ReversalTables, WebTables):
    """The store in a PostgreSQL database; one instance is shared by all threads of a process."""

    def __init__(
        self, url: str, conn: PgConn, readonly: bool, busy_s: float, lock_wait_s: float
    ) -> None:
        self.url, self.readonly = url, readonly
        self.location = shown(url)
        self._conn: PgConn | None = conn
        self._busy_s, self._lock_wait_s = busy_s, lock_wait_s
        self._mutex = threading.Lock()  # one transaction at a time on the shared connection
        self._locks: dict[str, PgConn] = {}
        self._store_id = ""
        self._write_key = 0
        self._write_lock = ""
        self._standing_in = False

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str,
        *,
        create: bool = True,
        readonly: bool = False,
        busy_timeout_s: float = 10.0,
        lock_wait_s: float = 1.0,
    ) -> PostgresStore:
        """Open the store at ``url`` (creating its tables if ``create`` and the schema holds
        none), bringing an older schema forward. ``readonly`` never writes."""
        check_url(url)
        create = create and not readonly
        conn = connect(url, "ledgerrun", readonly, busy_timeout_s)
        store = cls(url, conn, readonly, busy_timeout_s, lock_wait_s)
        try:
            with store._mutex, store._guard("be opened"):
                store._prepare(conn, create)
        except BaseException:
            conn.close()
            raise
        return store

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

    def close(self) -> None:
        """Close the connection and release every run lock; calling it again does nothing."""
        with self._mutex:
            conn, self._conn = self._conn, None
            locks, self._locks = self._locks, {}
        for held in locks.values():
            with contextlib.suppress(psycopg.Error):
                held.execute("SELECT pg_advisory_unlock_all()")  # free now, not at session end
            with contextlib.suppress(psycopg.Error):
                held.close()
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    # --- the run lock ----------------------------------------------------------------------

    def lock(self, job: str) -> None:
        """Take the job's run lock or raise LockHeldError; held until close() or death.

        A lock just freed by a holder that died is waited for (up to ``lock_wait_s``), as the
        server notices a closed connection a moment after the process dies."""
        with self._mutex:
            self._live()
            if job in self._locks:
                return
            if self.readonly:
                raise JournalError(f"the store {self.location} is open read-only: it takes no lock")
        key = lock_key(self._store_id, job)
        held = connect(self.url, f"ledgerrun lock {job}"[:63], False, self._busy_s)
        try:
            with self._guard(f"take the run lock of job {job}"):
                row = held.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                got = bool(row and row[0])
                if not got and self._lock_wait_s > 0:
                    held.execute(f"SET lock_timeout = {max(1, int(self._lock_wait_s * 1000))}")
                    try:
                        held.execute("SELECT pg_advisory_lock(%s)", (key,))
                        got = True
                    except pgerrors.LockNotAvailable:
                        pass
                if not got:
                    raise held_error(job, self._holder(held, job), self.location)
                held.execute("SET lock_timeout = 0; SET synchronous_commit = off")
                held.execute(
                    "INSERT INTO locks (job, host, pid, since, backend_pid) VALUES (%s, %s, %s,"
                    " %s, pg_backend_pid()) ON CONFLICT (job) DO UPDATE SET host ="
                    " excluded.host, pid = excluded.pid, since = excluded.since, backend_pid ="
                    " excluded.backend_pid",
                    (job, socket.gethostname(), os.getpid(), now_seconds()),
                )
        except BaseException:
            held.close()
            raise
        with self._mutex:
            if self._conn is None:
                held.close()
                raise JournalError(f"the store {self.location} is closed")
            self._locks[job] = held

    def lock_holder(self, job: str) -> dict[str, Any] | None:
        """Who holds the job's lock now, or None when no run of it is going on."""
        if job in self._locks:
            return None
        with self._tx(f"read the run lock of job {job}") as conn:
            return self._holder(conn, job)

    def _holder(self, conn: PgConn | Conn, job: str) -> dict[str, Any] | None:
        key = lock_key(self._store_id, job)
        high, low = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
        sql = (
            "SELECT l.host, l.pid, l.since FROM pg_catalog.pg_locks p LEFT JOIN locks l ON"
            f" l.backend_pid = p.pid AND l.job = {placeholder(conn)} WHERE p.locktype ="
            " 'advisory' AND p.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname"
            f" = current_database()) AND p.classid = {high} AND p.objid = {low} AND p.objsubid"
            " = 1 AND p.granted"
        )
        row = conn.execute(sql, (job,)).fetchone()
        if row is None:
            return None
        if row[0] is None:
            return {}
        return {"job": job, "host": row[0], "pid": int(row[1]), "since": row[2]}

    def _check_locks(self) -> None:
        """Refuse to write once a run lock this process holds may have been lost: its connection
        closed or the server said something unasked (ending the session). No round trip unless
        the socket has something to read."""
        for job, held in self._locks.items():
            try:
                lost = held.closed or held.broken or bool(select.select([held], [], [], 0)[0])
                if lost and not held.closed and not held.broken:
                    held.execute("SELECT 1")  # a notice, say: the session is fine
                    lost = False
            except (OSError, ValueError, psycopg.Error):
                lost = True
            if lost:
                raise StoreUnavailableError(
                    f"the run lock of job {job} on {self.location} was lost (its connection to"
                    " PostgreSQL ended), so this run stops writing: another host may take over."
                    " Run the job again; nothing is sent twice"
                )

    # --- migration -------------------------------------------------------------------------

    def restart_sequences(self, conn: Conn) -> None:
        """After rows were copied in with their own sequence numbers (``journal migrate``):
        number new rows on from the highest."""
        for table in ("events", "audit"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'seq'),"
                f" COALESCE((SELECT max(seq) FROM {table}), 0) + 1, false)"
            )

    # --- plumbing --------------------------------------------------------------------------

    def _live(self) -> PgConn:
        if self._conn is None:
            raise JournalError(f"the store {self.location} is closed")
        if self._conn.closed or self._conn.broken:  # between transactions: safe to reconnect
            old, self._conn = self._conn, None
            with contextlib.suppress(psycopg.Error):
                old.close()
            self._conn = connect(self.url, "ledgerrun", self.readonly, self._busy_s)
            if self._standing_in:
                self._stand_in(self._conn)
        return self._conn

    @contextlib.contextmanager
    def _tx(self, doing: str, write: bool = False, durable: bool = True) -> Iterator[Conn]:
        """One transaction, alone on the connection. A write first takes the store's write lock;
        a durable write waits for the server's disk, any other write does not."""
        with self._mutex:
            conn = self._live()
            if write and self.readonly:
                raise JournalError(f"the store {self.location} is open read-only: cannot {doing}")
            if write:
                self._check_locks()
            with self._guard(doing):
                try:
                    # Pipelined: the statements up to the first read of a result go in one round
                    # trip, the rest and COMMIT in a second; the block ends once COMMIT is done.
                    with conn.pipeline() as pipeline:
                        if write:
                            conn.execute(BEGIN_WRITE)
                            conn.execute(self._write_lock)
                            if not durable:
                                conn.execute("SET LOCAL synchronous_commit = off")
                        else:
                            conn.execute(BEGIN_READ)
                        yield Adapter(conn, pipeline)
                        conn.execute("COMMIT")
                finally:
                    end(conn)

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """The one place where a psycopg error becomes a JournalError."""
        try:
            yield
        except psycopg.Error as exc:
            raise journal_error(exc, doing, self.location, self._busy_s) from exc
