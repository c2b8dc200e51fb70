"""The store in PostgreSQL: one truth and one run lock for several hosts (cron on two hosts, the
web application and its worker).

The tables are SQLite's (see :mod:`ledgerrun.store.schema`), in PostgreSQL's types, created by
ledgerrun in the first schema of the URL's ``search_path`` when the store is first opened. Two
processes opening a fresh database at once do not both create them: creation waits for a
transaction-level advisory lock and looks again.

Transactions. Every write transaction first takes a transaction-level advisory lock of the store,
so writes are serialised across every host as SQLite serialises them across processes: the table
mixins' read-then-write rules (an intent never swaps the key of its generation; two workers never
claim the same work) hold under PostgreSQL's READ COMMITTED as they do under ``BEGIN
IMMEDIATE``. Reads run in one REPEATABLE READ READ ONLY snapshot. Within a process, writes go
through :class:`~ledgerrun.store.commit.GroupCommit`: the intents and outcomes of several threads
that arrive while a commit waits for the server are sent as one transaction, in one round trip
(pipelined: the statements, COMMIT, then every result).

Durability, one setting per connection. The main connection (reads, and the writes that must be
durable) commits with ``synchronous_commit`` on (or the server's stronger setting): intents and
the start and end of runs are on the server's disk when the call returns, before anything is
sent. A second connection, made at the first such write, commits the others (outcomes, listings,
run files) with ``synchronous_commit`` off: losing one in a crash of the server leaves its
adjustment ``pending``, and the next run asks Stripe again under the same key and gets the same
answer.

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
import os
import select
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pgerrors

from ledgerrun.errors import JournalError, StoreUnavailableError
from ledgerrun.store.commit import GroupCommit, Write
from ledgerrun.store.lock import held_error
from ledgerrun.store.pgconn import (
    BEGIN_READ,
    BEGIN_WRITE,
    Adapter,
    PgConn,
    check_url,
    connect,
    end,
    journal_error,
    now_seconds,
    placeholder,
    shown,
    to_pyformat,
)
from ledgerrun.store.postgres_open import TABLES, StoreSchema, lock_key
from ledgerrun.store.reversal_sql import ReversalTables
from ledgerrun.store.sql import Conn
from ledgerrun.store.web_sql import WebTables

__all__ = ["TABLES", "PostgresStore", "lock_key"]


class PostgresStore(StoreSchema, ReversalTables, WebTables):
    """The store in a PostgreSQL database; one instance is shared by all threads of a process."""

    def __init__(
        self, url: str, conn: PgConn, readonly: bool, busy_s: float, lock_wait_s: float
    ) -> None:
        self.url, self.readonly = url, readonly
        self.location = shown(url)
        self._conn: PgConn | None = conn  # reads, and durable writes
        self._fast: PgConn | None = None  # other writes (synchronous_commit off), made when needed
        self._busy_s, self._lock_wait_s = busy_s, lock_wait_s
        self._mutex = threading.Lock()  # one transaction at a time on the main connection
        self._writer = GroupCommit(self._batch)  # one write transaction at a time
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

    def close(self) -> None:
        """Close the connections and release every run lock; calling it again does nothing.
        Waits for a commit under way."""
        with self._writer.exclusive(report=False), self._mutex:
            conns = [c for c in (self._fast, self._conn) if c is not None]
            self._conn = self._fast = None
            locks, self._locks = self._locks, {}
        for held in locks.values():
            with contextlib.suppress(psycopg.Error):
                held.execute("SELECT pg_advisory_unlock_all()")  # free now, not at session end
            with contextlib.suppress(psycopg.Error):
                held.close()
        for conn in conns:
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
        for job, held in list(self._locks.items()):
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

    def _fast_live(self) -> PgConn:
        """The connection of writes that need not wait for the disk (in the writer's place).
        Only this one is reconnected here: the main connection is the readers' (under
        ``_mutex``), and reconnects in :meth:`_live`."""
        if self._conn is None:
            raise JournalError(f"the store {self.location} is closed")
        fast = self._fast
        if fast is None or fast.closed or fast.broken:  # between transactions: safe to reconnect
            self._fast = None
            if fast is not None:
                with contextlib.suppress(psycopg.Error):
                    fast.close()
            fast = connect(self.url, "ledgerrun", False, self._busy_s)
            with self._guard("set up its connection for outcomes"):
                fast.execute("SET synchronous_commit = off")
            self._fast = fast
        return fast

    def _writing(self, doing: str) -> None:
        """Refuse a write to a closed or read-only store."""
        if self._conn is None:
            raise JournalError(f"the store {self.location} is closed")
        if self.readonly:
            raise JournalError(f"the store {self.location} is open read-only: cannot {doing}")

    @contextlib.contextmanager
    def _tx(self, doing: str, write: bool = False, durable: bool = True) -> Iterator[Conn]:
        """One transaction, alone on its connection. A write, in the writer's place, first takes
        the store's write lock; a durable write waits for the server's disk, any other write
        (on the other connection) does not."""
        if not write:
            self._writer.settle()  # a thread reads what it wrote, even what it did not wait for
            with self._mutex:
                yield from self._transaction(self._live(), doing, (BEGIN_READ,))
            return
        self._writing(doing)
        with self._writer.exclusive():
            self._check_locks()
            begin = (BEGIN_WRITE, self._write_lock)
            if durable:
                with self._mutex:
                    yield from self._transaction(self._live(), doing, begin)
            else:
                yield from self._transaction(self._fast_live(), doing, begin)

    def _transaction(self, conn: PgConn, doing: str, begin: tuple[str, ...]) -> Iterator[Conn]:
        with self._guard(doing):
            try:
                # Pipelined: the statements up to the first read of a result go in one round
                # trip, the rest and COMMIT in a second; the block ends once COMMIT is done.
                with conn.pipeline() as pipeline:
                    for statement in begin:
                        conn.execute(statement)
                    yield Adapter(conn, pipeline)
                    conn.execute("COMMIT")
            finally:
                end(conn)

    def _commit(self, write: Write, wait: bool = True) -> None:
        self._writing(write.doing)
        self._writer.write(write, wait)

    def _batch(self, writes: Sequence[Write]) -> list[bool]:
        """The writes in one transaction and one round trip: every statement and COMMIT go
        before any result is read (see :class:`~ledgerrun.store.commit.GroupCommit`)."""
        self._check_locks()
        doing = writes[0].doing + (f" (and {len(writes) - 1} more)" if len(writes) > 1 else "")
        if any(w.durable for w in writes):
            with self._mutex:
                return self._send_batch(self._live(), writes, doing)
        return self._send_batch(self._fast_live(), writes, doing)

    def _send_batch(self, conn: PgConn, writes: Sequence[Write], doing: str) -> list[bool]:
        """Each write as one statement (its change and its event); writes of distinct rows
        grouped by statement, each group one ``executemany``; the count of each write's
        statement says whether it applied."""
        steps = [(w.single,) if w.single is not None else w.statements for w in writes]
        groups: dict[tuple[str, ...], list[int]] = {}
        if len({w.row for w in writes}) == len(writes):
            for i, statements in enumerate(steps):
                groups.setdefault(tuple(sql for sql, _ in statements), []).append(i)
        else:  # one row twice: each write alone, in order
            groups = {(str(i),): [i] for i in range(len(writes))}
        lasts: list[tuple[list[int], psycopg.Cursor[tuple[Any, ...]]]] = []
        with self._guard(doing):
            try:
                with conn.pipeline():
                    conn.execute(BEGIN_WRITE)
                    conn.execute(self._write_lock)
                    for members in groups.values():
                        shape = steps[members[0]]
                        for n, (sql, _) in enumerate(shape):
                            if len(members) == 1:  # one write: a plain execute costs less
                                cursor = conn.execute(to_pyformat(sql), steps[members[0]][n][1])
                                continue
                            cursor = conn.cursor()
                            params = [steps[i][n][1] for i in members]
                            last = n == len(shape) - 1
                            cursor.executemany(to_pyformat(sql), params, returning=last)
                        lasts.append((members, cursor))
                    conn.execute("COMMIT")
            finally:
                end(conn)
            applied = [False] * len(writes)
            for members, cursor in lasts:
                for i in members:
                    applied[i] = cursor.rowcount > 0
                    cursor.nextset()
        return applied

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """The one place where a psycopg error becomes a JournalError."""
        try:
            yield
        except psycopg.Error as exc:
            raise journal_error(exc, doing, self.location, self._busy_s) from exc
