"""The store in one SQLite file: the default, for one host.

Every write is one explicit transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``) in WAL mode.
Intents and the start and end of runs commit with ``synchronous=FULL``: when the call returns,
the commit is on disk. Outcomes and listings commit without waiting for the disk (durable against
a crash of the process at once, and against a power cut with the next intent or the end of the
run): losing one to a power cut leaves its adjustment ``pending``, and the next run asks Stripe
again under the same key and gets the same answer. That halves the disk flushes per debit
without weakening the one ordering that matters: intent on disk, then request.

The ``-wal`` file beside the journal is part of it: copy a journal only with
``ledgerrun journal backup`` (SQLite's backup API), never with ``cp``.

Every SQLite failure (a damaged file, a database held by another process, a full disk) surfaces
as a :class:`~ledgerrun.errors.JournalError` with a sentence for the operator.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

from ledgerrun.errors import JournalError, StoreUnavailableError
from ledgerrun.store import codec, schema
from ledgerrun.store.lock import FileLock, is_held, lock_path, read_holder
from ledgerrun.store.model import SCHEMA_VERSION
from ledgerrun.store.reversal_sql import ReversalTables
from ledgerrun.store.sql import Conn
from ledgerrun.store.web_sql import WebTables

_CHUNK = 500  # ids per query, well below SQLite's limit on bound parameters
_BUSY, _LOCKED, _CORRUPT, _NOTADB, _READONLY, _FULL = 5, 6, 11, 26, 8, 13
_TIMES = {"attempted_at", "attempted_at_server", "completed_at", "started_at", "ended_at"}
_T = TypeVar("_T")


class SQLiteStore(ReversalTables, WebTables):
    """The store in one SQLite file; one instance is shared by all threads of a process."""

    def __init__(self, path: Path, conn: sqlite3.Connection, readonly: bool, busy_s: float):
        self.path, self.readonly = path, readonly
        self.location = str(path)
        self._conn: sqlite3.Connection | None = conn
        self._busy_s = busy_s
        self._mutex = threading.Lock()  # one transaction at a time on the shared connection
        self._sync = "FULL"
        self._locks: dict[str, FileLock] = {}

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path, *, create: bool = True, readonly: bool = False, busy_timeout_s: float = 5.0
    ) -> SQLiteStore:
        """Open the store at ``path`` (creating it and its folders if ``create``), bringing an
        older schema forward. ``readonly`` never writes (SQLite may still add ``-wal``/``-shm``
        where the folder allows; in a read-only folder the file is read as it stands)."""
        path = Path(path)
        create = create and not readonly
        existed = path.exists()
        if not existed and not create:
            raise JournalError(f"there is no journal at {path}: nothing has run with it yet")
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            conn = cls._connect(path, readonly, create)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"the journal {path} cannot be opened: {exc}") from exc
        store = cls(path, conn, readonly, busy_timeout_s)
        try:
            with store._mutex, store._guard("be opened"):
                store._prepare(conn, fresh=create and not existed)
            if not existed:
                _sync_folder(path.absolute().parent)
        except OSError as exc:
            conn.close()
            raise JournalError(f"the new journal {path} cannot be made durable: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return store

    @staticmethod
    def _connect(path: Path, readonly: bool, create: bool) -> sqlite3.Connection:
        base = f"file:{quote(str(path.absolute()))}?mode="
        base += "ro" if readonly else "rwc" if create else "rw"
        conn = sqlite3.connect(base, uri=True, isolation_level=None, check_same_thread=False)
        if readonly:
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                # A WAL database in a folder we cannot write: read the file as it stands.
                conn.close()
                uri = f"file:{quote(str(path.absolute()))}?mode=ro&immutable=1"
                conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        return conn

    def _prepare(self, conn: sqlite3.Connection, fresh: bool) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_s * 1000)}")
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise self._damaged("; ".join(problems))
        tables = self._tables(conn)
        if not tables and not self.readonly:
            if fresh:
                self._set_modes(conn)
            conn.execute("BEGIN IMMEDIATE")  # waits for a process creating it at this moment
            create = fresh and not conn.execute("SELECT 1 FROM sqlite_master").fetchone()
            if create:
                conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self._create(conn)
                meta = {"application": "ledgerrun", "created_at": schema.now_text()}
                conn.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
            conn.execute("COMMIT" if create else "ROLLBACK")
            tables = self._tables(conn)
        if not tables:  # never write into a file that existed: it may be a journal cut to nothing
            raise JournalError(
                f"{self.path} holds no journal: it is empty. If no run ever used it (a first run"
                " killed while creating it), delete it; otherwise restore it from a backup"
            )
        if "meta" not in tables:
            held = ", ".join(sorted(tables))
            raise JournalError(f"{self.path} is not a ledgerrun journal (it holds tables {held})")
        version = self._version(conn)
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"the journal {self.path} was written by a newer ledgerrun (schema version "
                f"{version}; this one understands up to {SCHEMA_VERSION}): upgrade ledgerrun "
                "to use it, and do not touch the file with this version"
            )
        if version == 1 and {"runs", "adjustments", "events"} <= tables:
            if self.readonly:
                raise JournalError(
                    f"the journal {self.path} was written by ledgerrun 0.1; run any command that"
                    " writes (plan, run) once to bring it forward"
                )
            self._migrate_v1(conn)
        elif 2 <= version < SCHEMA_VERSION and {"adjustments", "seen", "listings"} <= tables:
            if self.readonly:
                raise JournalError(
                    f"the journal {self.path} was written by an older ledgerrun; run any command"
                    " that writes (plan, run) once to bring it forward"
                )
            self._upgrade(conn, version)
        elif version != SCHEMA_VERSION or not {"adjustments", "seen", "listings"} <= tables:
            raise self._damaged("its schema is incomplete")
        if not self.readonly:
            self._set_modes(conn)

    @staticmethod
    def _tables(conn: sqlite3.Connection) -> set[str]:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {str(row[0]) for row in conn.execute(sql)}

    @staticmethod
    def _version(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row and str(row[0]).isdigit() else 0

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        for statement in schema.TABLES:
            if statement.startswith("CREATE TABLE adjustments") or statement.startswith(
                "CREATE TABLE seen"
            ):
                statement += " WITHOUT ROWID"
            conn.execute(statement)
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    def _upgrade(self, conn: sqlite3.Connection, version: int) -> None:
        """Bring a journal of schema ``version`` (2 or later) forward, in one transaction."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = self._version(conn)  # another process may have done it meanwhile
            for step in range(found + 1, SCHEMA_VERSION + 1):
                for statement in schema.UPGRADES[step]:
                    conn.execute(statement)
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _migrate_v1(self, conn: sqlite3.Connection) -> None:
        """Bring a version-1 journal forward in one transaction, after a backup copy."""
        backup = self.path.with_name(self.path.name + ".v1-backup")
        if not backup.exists():
            target = sqlite3.connect(backup)
            try:
                conn.backup(target)
            finally:
                target.close()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if self._version(conn) != 1:  # another process migrated it meanwhile
                conn.execute("ROLLBACK")
                return
            conn.row_factory = sqlite3.Row
            old = [dict(r) for r in conn.execute("SELECT * FROM adjustments")]
            runs = [dict(r) for r in conn.execute("SELECT * FROM runs")]
            events = [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY seq")]
            conn.row_factory = None
            for table in ("adjustments", "runs", "events"):
                conn.execute(f"ALTER TABLE {table} RENAME TO v1_{table}")
            conn.execute("DROP INDEX IF EXISTS runs_by_job")
            self._create(conn)
            rows, notes = schema.v1_adjustment_rows(old)
            cols = schema.ENTRY_COLUMNS
            conn.executemany(
                f"INSERT INTO adjustments ({codec.cols(cols)}) VALUES ({codec.marks(cols)})",
                [[r.get(c) for c in cols] for r in rows],
            )
            conn.executemany(
                f"INSERT INTO runs ({codec.cols(schema.RUN_COLUMNS)})"
                f" VALUES ({codec.marks(schema.RUN_COLUMNS)})",
                [[schema.v1_run_row(r)[c] for c in schema.RUN_COLUMNS] for r in runs],
            )
            conn.executemany(
                "INSERT INTO events (at, key, kind, run_id, generation, idempotency_key, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (e["at"], e["adjustment_id"], e["kind"], e["run_id"], e["generation"],
                     e["idempotency_key"], e["detail"])
                    for e in events
                ]
                + [(schema.now_text(), "", "migration", None, None, None, codec.to_json(n, "note"))
                   for n in notes],
            )  # fmt: skip
            groups = sorted({str(r["job"]) for r in old})
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('legacy_groups', ?)",
                (codec.to_json(groups, "jobs"),),
            )
            for table in ("adjustments", "runs", "events"):
                conn.execute(f"DROP TABLE v1_{table}")
            conn.execute("COMMIT")
        except BaseException:
            conn.row_factory = None
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _set_modes(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise JournalError(f"the journal {self.path} cannot use WAL mode (it is in {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        self._sync = "FULL"

    def close(self) -> None:
        """Close the database and release every run lock; calling it again does nothing."""
        with self._mutex:
            conn, self._conn = self._conn, None
            try:
                if conn is not None:
                    with self._guard("be closed"):
                        conn.close()
            finally:
                for lock in self._locks.values():
                    lock.release()
                self._locks.clear()

    # --- the run lock ----------------------------------------------------------------------

    def lock(self, job: str) -> None:
        """Take the job's run lock or raise LockHeldError; held until close() or death. A run
        that holds it is about to write, so another process holding a write transaction open
        on the journal (a sqlite3 shell, say) stops it here, once, before anything is asked of
        Stripe."""
        with self._mutex:
            self._live()
            if job in self._locks:
                return
            if self.readonly:
                raise JournalError(f"the journal {self.path} is open read-only: it takes no lock")
            lock = FileLock(self.path, job)
            lock.acquire()
            self._locks[job] = lock
        try:
            with self._tx("start a run", write=True, durable=False):
                pass
        except JournalError:
            self._locks.pop(job).release()
            raise

    def lock_holder(self, job: str) -> dict[str, Any] | None:
        """Who holds the job's lock now, or None when no run of it is going on."""
        path = lock_path(self.path, job)
        if job in self._locks or not is_held(path):
            return None
        return read_holder(path) or {}

    # --- backups ---------------------------------------------------------------------------

    def backup(self, destination: Path) -> None:
        """A consistent copy of the whole journal (``-wal`` included) at ``destination``."""
        with self._mutex:
            conn = self._live()
            try:
                target = sqlite3.connect(destination)
                try:
                    with self._guard("be backed up"):
                        conn.backup(target)
                finally:
                    target.close()
            except sqlite3.Error as exc:
                raise JournalError(f"cannot write the backup {destination}: {exc}") from exc

    # --- plumbing --------------------------------------------------------------------------

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError(f"the journal {self.path} is closed")
        return self._conn

    @contextlib.contextmanager
    def _tx(self, doing: str, write: bool = False, durable: bool = True) -> Iterator[Conn]:
        """One transaction, alone on the connection; a deferred BEGIN gives reads one snapshot.
        A durable write waits for the disk; any other write is committed without waiting."""
        with self._mutex:
            conn = self._live()
            if write and self.readonly:
                raise JournalError(f"the journal {self.path} is open read-only: cannot {doing}")
            with self._guard(doing):
                sync = "FULL" if durable else "NORMAL"
                if write and sync != self._sync:
                    conn.execute(f"PRAGMA synchronous = {sync}")  # outside any transaction
                    self._sync = sync
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield cast(Conn, conn)
                    conn.execute("COMMIT")
                finally:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """The one place where a sqlite3.Error becomes a JournalError."""
        try:
            yield
        except sqlite3.Error as exc:
            code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
            if code in (_BUSY, _LOCKED) or "database is locked" in str(exc):
                raise JournalError(
                    f"the journal {self.path} is locked by another process, so it could not "
                    f"{doing} within {self._busy_s:g} s (is a sqlite3 shell or another tool "
                    "holding a transaction open on it?)"
                ) from exc
            if code in (_CORRUPT, _NOTADB):
                raise self._damaged(str(exc)) from exc
            if code == _FULL:
                raise StoreUnavailableError(
                    f"the journal {self.path} could not {doing}: the disk is full. Free some "
                    "space and run again; nothing is sent twice"
                ) from exc
            raise JournalError(f"the journal {self.path} could not {doing}: {exc}") from exc

    def _damaged(self, detail: str) -> JournalError:
        return JournalError(
            f"the journal {self.path} is damaged ({detail}). It is the record of what was sent to"
            " Stripe, so do not delete it or start a new one: restore it from a backup, and keep"
            " the damaged file for inspection"
        )


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
