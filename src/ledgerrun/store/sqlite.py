"""The store in one SQLite file: the default, for one host.

The journal is in WAL mode, and the store keeps three connections to it, each with one setting
for its whole life:

* **durable writes** (``synchronous=FULL``): intents, and the start and end of runs. When the call
  returns, the commit is on disk: an intent is on disk before its request is sent.
* **other writes** (``synchronous=NORMAL``): outcomes, listings, account checks, run files. They
  commit without waiting for the disk: durable against a crash of the process at once, and
  against a power cut with the next durable commit. Losing one to a power cut leaves its
  adjustment ``pending`` with its intent, and the next run settles it under the same key (Stripe
  answers with the original result; nothing moves twice).
* **reads**, which never wait behind a write's flush (WAL lets them read beside it).

Writes are one at a time in the process (as SQLite allows one writer), through
:class:`~ledgerrun.store.commit.GroupCommit`: intents and outcomes that arrive while a commit
waits for the disk are committed together in the next transaction, on the durable connection if
any of them must be durable. Every write is an explicit transaction (``BEGIN IMMEDIATE`` ...
``COMMIT``), so another process's writes wait their turn (``busy_timeout``).

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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from ledgerrun.errors import JournalError, StoreUnavailableError
from ledgerrun.store.commit import GroupCommit, Write
from ledgerrun.store.lock import FileLock, is_held, lock_path, read_holder
from ledgerrun.store.reversal_sql import ReversalTables
from ledgerrun.store.sql import Conn
from ledgerrun.store.sqlite_file import JournalFile
from ledgerrun.store.web_sql import WebTables

_BUSY, _LOCKED, _CORRUPT, _NOTADB, _FULL = 5, 6, 11, 26, 13
_PIECE = 1 << 20  # bytes of a run file written into its blob at once


class SQLiteStore(JournalFile, ReversalTables, WebTables):
    """The store in one SQLite file; one instance is shared by all threads of a process."""

    def __init__(self, path: Path, readonly: bool, busy_s: float):
        self.path, self.readonly = path, readonly
        self.location = str(path)
        self._busy_s = busy_s
        self._read: sqlite3.Connection | None = None  # a read-only store's only connection
        self._durable: sqlite3.Connection | None = None  # synchronous=FULL
        self._fast: sqlite3.Connection | None = None  # synchronous=NORMAL
        self._reading = threading.Lock()  # one read transaction at a time on the read connection
        self._writer = GroupCommit(self._batch)  # one write transaction at a time
        self._locks: dict[str, FileLock] = {}
        self._locks_guard = threading.Lock()

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
            if create and not existed:
                cls._made_aside(path, busy_timeout_s)
            conn = cls._connect(path, readonly, create=False)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"the journal {path} cannot be opened: {exc}") from exc
        store = cls(path, readonly, busy_timeout_s)
        opened = [conn]
        try:
            with store._guard("be opened"):
                store._prepare(conn, fresh=False)
                if readonly:
                    store._read = conn
                else:
                    store._durable = conn  # _prepare set it to FULL
                    store._fast = store._extra("NORMAL")
                    opened.append(store._fast)
                    store._read = store._extra(None)
                    opened.append(store._read)
            if not existed:
                _fsync(path.absolute().parent)
        except OSError as exc:
            _close_all(opened)
            raise JournalError(f"the new journal {path} cannot be made durable: {exc}") from exc
        except BaseException:
            _close_all(opened)
            raise
        return store

    @classmethod
    def _made_aside(cls, path: Path, busy_timeout_s: float) -> None:
        """Make a new journal beside ``path`` and link it into place whole, so that no process
        ever opens a journal half made (two first runs started together, the one that lost the
        race would have found an empty file): a journal found empty was cut to nothing. When
        another process links its own first, this one is discarded."""
        aside = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.new")
        try:
            conn = cls._connect(aside, False, create=True)
            try:
                maker = cls(aside, False, busy_timeout_s)
                with maker._guard("be made"):
                    maker._prepare(conn, fresh=True)
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()  # the last connection: the -wal file is folded in and removed
            _fsync(aside)
            try:
                os.link(aside, path)  # fails if a journal is there already
            except FileExistsError:
                return  # another process made it first: open theirs
            except OSError:  # a file system without hard links: only a rarer race is left
                if not path.exists():
                    os.replace(aside, path)
        finally:
            for leftover in (aside, *(aside.with_name(aside.name + s) for s in ("-wal", "-shm"))):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def close(self) -> None:
        """Close the database and release every run lock; calling it again does nothing. Waits
        for a commit under way."""
        with self._writer.exclusive(report=False), self._reading:
            conns = [c for c in (self._read, self._fast, self._durable) if c is not None]
            conns.reverse()  # the first made (which can write) is closed last: it ends the WAL
            self._read = self._fast = self._durable = None
            try:
                with self._guard("be closed"):
                    _close_all(conns)
            finally:
                with self._locks_guard:
                    for lock in self._locks.values():
                        lock.release()
                    self._locks.clear()

    # --- the run lock ----------------------------------------------------------------------

    def lock(self, job: str) -> None:
        """Take the job's run lock or raise LockHeldError; held until close() or death. A run
        that holds it is about to write, so another process holding a write transaction open
        on the journal (a sqlite3 shell, say) stops it here, once, before anything is asked of
        Stripe."""
        with self._locks_guard:
            self._live(self._read)
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
            with self._locks_guard:
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
        self._writer.settle()
        with self._reading:
            conn = self._live(self._read)
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

    def _live(self, conn: sqlite3.Connection | None) -> sqlite3.Connection:
        if conn is None:
            raise JournalError(f"the journal {self.path} is closed")
        return conn

    def _writing(self, doing: str) -> None:
        """Refuse a write to a closed or read-only journal."""
        self._live(self._read)
        if self.readonly:
            raise JournalError(f"the journal {self.path} is open read-only: cannot {doing}")

    @contextlib.contextmanager
    def _tx(self, doing: str, write: bool = False, durable: bool = True) -> Iterator[Conn]:
        """One transaction, alone on its connection: a read (a deferred BEGIN gives it one
        snapshot), or a write in the writer's place, on the durable connection or the other."""
        if not write:
            self._writer.settle()  # a thread reads what it wrote, even what it did not wait for
            with self._reading:
                yield from self._transaction(self._live(self._read), doing, "BEGIN")
            return
        self._writing(doing)
        with self._writer.exclusive():
            conn = self._live(self._durable if durable else self._fast)
            yield from self._transaction(conn, doing, "BEGIN IMMEDIATE")

    def _transaction(self, conn: sqlite3.Connection, doing: str, begin: str) -> Iterator[Conn]:
        with self._guard(doing):
            conn.execute(begin)
            try:
                yield cast(Conn, conn)
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")

    def _put_run_file(
        self, conn: Conn, run_id: str, name: str, source: BinaryIO, stored: int
    ) -> None:
        """The row first, its blob zeros, then the file written into the blob a piece at a time:
        bound as a parameter, the file would be read whole, copied by SQLite and again into the
        record it builds (a large night's rows: 12 MB each; docs/benchmarks.md, "Memory"). The
        blob is the row's last column, so SQLite writes the zeros to its pages without making
        them in memory first."""
        db = cast(sqlite3.Connection, conn)
        db.execute(
            "INSERT INTO run_files (run_id, name, data) VALUES (?, ?, zeroblob(?))"
            " ON CONFLICT (run_id, name) DO UPDATE SET data = excluded.data",
            (run_id, name, stored),
        )
        (rowid,) = db.execute(
            "SELECT rowid FROM run_files WHERE run_id = ? AND name = ?", (run_id, name)
        ).fetchone()
        with db.blobopen("run_files", "data", rowid) as blob:
            while piece := source.read(_PIECE):
                blob.write(piece)

    def _commit(self, write: Write, wait: bool = True) -> None:
        self._writing(write.doing)
        self._writer.write(write, wait)

    def _batch(self, writes: Sequence[Write]) -> list[bool]:
        """The writes in one transaction (see :class:`~ledgerrun.store.commit.GroupCommit`)."""
        durable = any(w.durable for w in writes)
        conn = self._live(self._durable if durable else self._fast)
        doing = writes[0].doing + (f" (and {len(writes) - 1} more)" if len(writes) > 1 else "")
        applied: list[bool] = []
        with self._guard(doing):
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                for write in writes:
                    for sql, params in write.statements:
                        cursor.execute(sql, params)
                    applied.append(cursor.rowcount > 0)
                cursor.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
        return applied

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


def _close_all(conns: list[sqlite3.Connection]) -> None:
    """Close each connection, the last made first (the first, which can write, ends the WAL)."""
    for conn in reversed(conns):
        conn.close()


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
