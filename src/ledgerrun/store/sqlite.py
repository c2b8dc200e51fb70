"""The journal: ledgerrun's only state, and the reason a killed run can be resumed safely.

Guarantee. For every adjustment of a job the journal holds the latest *intent* (the idempotency
key and the exact request parameters about to be sent) and, once known, the *outcome*. The intent
is committed to disk before the caller sends anything, so whatever instant a run dies at (even a
SIGKILL between the request leaving and the answer arriving) the next run finds the adjustment
``pending`` with its key and resends the very same request under the very same key: Stripe then
answers with the original result instead of moving money twice. A ``succeeded`` adjustment never
takes a new intent, and an intent cannot swap the key or parameters of its generation.

How. Every write is one explicit transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``) on a SQLite file
in WAL mode. Intents and the start and end of runs commit with ``synchronous=FULL``: when the
call returns, the commit is on disk. Outcomes commit without waiting for the disk (they are
durable against a crash of the process at once, and against a power cut with the next intent or
the end of the run): losing one to a power cut leaves its adjustment ``pending``, and the next
run asks Stripe again under the same key and gets the same answer. That halves the disk flushes
per debit without weakening the one ordering that matters: intent on disk, then request.

A run holds the job's lock through ``flock`` on a sidecar ``<journal>.lock`` file kept open for
the run's life; the kernel drops it when the process dies, however it dies, so no stale lock
outlives a crash. Every SQLite failure (a damaged file, a database held by another process, a
full disk) surfaces as a :class:`JournalError` with a sentence for the operator, never as a
``sqlite3`` traceback.

Callers use only :class:`Journal`, :class:`Entry` and :class:`Run`; nothing SQLite-specific leaks
through them, so another store (PostgreSQL) can take :class:`SQLiteJournal`'s place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import itertools
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import quote

from ledgerrun.errors import JournalError, LockHeldError

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"  # journal states of an adjustment
STATES = (PENDING, SUCCEEDED, FAILED)
SCHEMA_VERSION = 1
_CHUNK = 500  # ids per query, well below SQLite's limit on bound parameters
_BUSY, _LOCKED, _CORRUPT, _NOTADB = 5, 6, 11, 26  # SQLite primary result codes


@dataclass(frozen=True)
class Entry:
    """One adjustment of one job, as the journal holds it."""

    job: str
    adjustment_id: str
    account: str
    currency: str  # lower-case ISO code
    amount_minor: int
    method: str  # "transfer" | "charge"
    state: str  # PENDING (intent written, outcome not known) | SUCCEEDED | FAILED
    generation: int  # attempt generation of the latest intent (0 first)
    idempotency_key: str  # key of the latest intent
    request: dict[str, Any]  # the exact API params of the latest intent, resent as-is
    attempts: int  # HTTP requests sent for this adjustment, over all runs
    attempted_at: dt.datetime  # local UTC time the latest intent was written
    attempted_at_server: dt.datetime  # the same moment on Stripe's clock
    transfer_id: str | None = None
    payment_id: str | None = None
    request_id: str | None = None  # Stripe request id of the latest answer, if any
    error_code: str | None = None
    error_message: str | None = None
    completed_at: dt.datetime | None = None  # when SUCCEEDED/FAILED was recorded
    run_id: str | None = None  # the run that wrote it last


@dataclass(frozen=True)
class Run:
    """One run of a job: what it read and, once it ended, how."""

    run_id: str
    job: str
    started_at: dt.datetime
    ledger_path: str
    ledger_sha256: str
    rows: int
    dry_run: bool
    ended_at: dt.datetime | None = None
    exit_code: int | None = None
    counts: dict[str, int] | None = None  # results statuses -> count, written at the end


class Journal(Protocol):
    """What the executor and the commands may ask of a journal, whatever stores it."""

    # fmt: off
    def lock(self, job: str) -> None: ...
    def close(self) -> None: ...
    def start_run(self, run: Run) -> None: ...
    def finish_run(self, run_id: str, ended_at: dt.datetime, exit_code: int,
                   counts: dict[str, int]) -> None: ...
    def runs(self, job: str) -> list[Run]: ...
    def entries(self, job: str,
                adjustment_ids: Iterable[str] | None = None) -> dict[str, Entry]: ...
    def record_intent(self, entry: Entry) -> None: ...
    def record_success(self, job: str, adjustment_id: str, *, run_id: str, transfer_id: str,
                       payment_id: str, request_id: str | None,
                       completed_at: dt.datetime, attempts: int = 0) -> None: ...
    def record_failure(self, job: str, adjustment_id: str, *, run_id: str, error_code: str,
                       error_message: str, request_id: str | None,
                       completed_at: dt.datetime, attempts: int = 0) -> None: ...
    def record_unknown(self, job: str, adjustment_id: str, *, run_id: str, error_code: str,
                       error_message: str, request_id: str | None,
                       attempts: int = 0) -> None: ...
    def counts(self, job: str) -> dict[str, int]: ...
    # fmt: on


# Column order is field order, so rows and dataclasses convert by position.
_ENTRY_COLUMNS = tuple(f.name for f in fields(Entry))
_RUN_COLUMNS = tuple(f.name for f in fields(Run))
_TIMES = {"attempted_at", "attempted_at_server", "completed_at", "started_at", "ended_at"}
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE runs (run_id TEXT PRIMARY KEY, job TEXT NOT NULL, started_at TEXT NOT NULL,"
    " ledger_path TEXT NOT NULL, ledger_sha256 TEXT NOT NULL, rows INTEGER NOT NULL,"
    " dry_run INTEGER NOT NULL, ended_at TEXT, exit_code INTEGER, counts TEXT)",
    "CREATE INDEX runs_by_job ON runs (job, started_at)",
    "CREATE TABLE adjustments (job TEXT NOT NULL, adjustment_id TEXT NOT NULL,"
    " account TEXT NOT NULL, currency TEXT NOT NULL, amount_minor INTEGER NOT NULL,"
    " method TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded',"
    " 'failed')), generation INTEGER NOT NULL, idempotency_key TEXT NOT NULL,"
    " request TEXT NOT NULL, attempts INTEGER NOT NULL, attempted_at TEXT NOT NULL,"
    " attempted_at_server TEXT NOT NULL, transfer_id TEXT, payment_id TEXT, request_id TEXT,"
    " error_code TEXT, error_message TEXT, completed_at TEXT, run_id TEXT,"
    " PRIMARY KEY (job, adjustment_id)) WITHOUT ROWID",
    # Append-only audit trail: one row per intent, attempts count and outcome recorded.
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, job TEXT NOT NULL,"
    " adjustment_id TEXT NOT NULL, kind TEXT NOT NULL, run_id TEXT, generation INTEGER,"
    " idempotency_key TEXT, detail TEXT NOT NULL)",
)
_T = TypeVar("_T")


def _ts(value: dt.datetime, what: str) -> str:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise JournalError(f"{what} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _now() -> str:
    return _ts(dt.datetime.now(dt.UTC), "now")


def _json(value: object, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise JournalError(f"{what} cannot be stored as JSON: {exc}") from exc


def _encode(obj: Entry | Run) -> list[Any]:
    values = []
    for name in _ENTRY_COLUMNS if isinstance(obj, Entry) else _RUN_COLUMNS:
        value = getattr(obj, name)
        if value is not None and name in _TIMES:
            value = _ts(value, name)
        elif value is not None and name in ("request", "counts"):
            value = _json(value, f"{name} of {obj.job}")
        values.append(int(value) if isinstance(value, bool) else value)
    return values


def _decoder(cls: Callable[..., _T], columns: tuple[str, ...]) -> Callable[[Sequence[Any]], _T]:
    """A fast row -> dataclass converter (entries() may decode a million rows)."""
    convert: dict[str, Callable[[Any], Any]] = {"request": json.loads, "counts": json.loads}
    convert |= dict.fromkeys(_TIMES, dt.datetime.fromisoformat)  # stored as +00:00: dt.UTC
    convert["dry_run"] = bool
    plan = [(i, convert[name]) for i, name in enumerate(columns) if name in convert]

    def decode(row: Sequence[Any]) -> _T:
        values = list(row)
        for i, function in plan:
            if values[i] is not None:
                values[i] = function(values[i])
        return cls(*values)

    return decode


_decode_entry, _decode_run = _decoder(Entry, _ENTRY_COLUMNS), _decoder(Run, _RUN_COLUMNS)


class SQLiteJournal:
    """The journal in one SQLite file; one instance is shared by all threads of a process."""

    def __init__(self, path: Path, conn: sqlite3.Connection, readonly: bool, busy_s: float):
        self.path, self.readonly, self.lock_path = path, readonly, Path(f"{path}.lock")
        self._conn: sqlite3.Connection | None = conn
        self._busy_s = busy_s
        self._mutex = threading.Lock()  # one transaction at a time on the shared connection
        self._sync = "FULL"  # the connection's current synchronous mode
        self._lock_fd: int | None = None
        self._lock_job: str | None = None

    @classmethod
    def open(
        cls, path: Path, *, create: bool = True, readonly: bool = False, busy_timeout_s: float = 5.0
    ) -> SQLiteJournal:
        """Open the journal at ``path`` (creating it and its directories if ``create``).

        Opening takes no lock. ``readonly`` (see :meth:`open_readonly`) implies ``create=False``
        and never changes the journal (SQLite may still add its ``-wal``/``-shm`` companions);
        every write then raises JournalError.
        """
        path = Path(path)
        create = create and not readonly
        existed = path.exists()
        if not existed and not create:
            raise JournalError(f"there is no journal at {path}: no run of this job has started")
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            uri = f"file:{quote(str(path.absolute()))}?mode="
            uri += "ro" if readonly else "rwc" if create else "rw"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"the journal {path} cannot be opened: {exc}") from exc
        journal = cls(path, conn, readonly, busy_timeout_s)
        try:
            with journal._mutex, journal._guard("be opened"):
                journal._prepare(conn, fresh=create and not existed)
            if not existed:  # make the new file's directory entry durable too
                fd = os.open(path.absolute().parent, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            conn.close()
            raise JournalError(f"the new journal {path} cannot be made durable: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return journal

    @classmethod
    def open_readonly(cls, path: Path, *, busy_timeout_s: float = 5.0) -> SQLiteJournal:
        """Open an existing journal for reading only (``validate``, ``status``)."""
        return cls.open(path, create=False, readonly=True, busy_timeout_s=busy_timeout_s)

    def _prepare(self, conn: sqlite3.Connection, fresh: bool) -> None:
        """Check the file before writing a byte to it; create the schema only in a new file."""
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_s * 1000)}")
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise self._damaged("; ".join(problems))
        tables_sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        tables = {row[0] for row in conn.execute(tables_sql)}
        if not tables and not self.readonly:
            if fresh:
                self._set_modes(conn)
            conn.execute("BEGIN IMMEDIATE")  # waits for a process creating it at this moment
            create = fresh and not conn.execute("SELECT 1 FROM sqlite_master").fetchone()
            if create:
                for statement in _SCHEMA:
                    conn.execute(statement)
                meta = {"schema_version": SCHEMA_VERSION, "application": "ledgerrun"}
                rows = [(k, str(v)) for k, v in (meta | {"created_at": _now()}).items()]
                conn.executemany("INSERT INTO meta VALUES (?, ?)", rows)
            conn.execute("COMMIT" if create else "ROLLBACK")  # a commit would write a header
            tables = {row[0] for row in conn.execute(tables_sql)}
        if not tables:  # never write into a file that existed: it may be a journal cut to nothing
            raise JournalError(
                f"{self.path} holds no journal: it is empty. If no run ever used it (a first run"
                " killed while creating it), delete it; otherwise restore it from a backup"
            )
        if "meta" not in tables:
            held = ", ".join(sorted(tables))
            raise JournalError(f"{self.path} is not a ledgerrun journal (it holds tables {held})")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row and str(row[0]).isdigit() else 0
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"the journal {self.path} was written by a newer ledgerrun (schema version "
                f"{version}; this one understands up to {SCHEMA_VERSION}): upgrade ledgerrun "
                "to use it, and do not touch the file with this version"
            )
        if version < 1 or not {"runs", "adjustments", "events"} <= tables:
            raise self._damaged("its schema is incomplete")
        if not self.readonly:
            self._set_modes(conn)

    def _set_modes(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise JournalError(f"the journal {self.path} cannot use WAL mode (it is in {mode})")
        conn.execute("PRAGMA synchronous = FULL")  # the default: a commit is on disk on return
        self._sync = "FULL"

    def close(self) -> None:
        """Close the database and release the run lock; calling it again does nothing."""
        with self._mutex:
            conn, self._conn = self._conn, None
            try:
                if conn is not None:
                    with self._guard("be closed"):
                        conn.close()
            finally:
                if self._lock_fd is not None:
                    os.close(self._lock_fd)  # closing the descriptor releases the flock
                    self._lock_fd = self._lock_job = None

    def lock(self, job: str) -> None:
        """Take the run lock or raise LockHeldError; it is held until close() or process death.

        The lock belongs to the journal file: two jobs sharing one journal exclude each other.
        """
        with self._mutex:
            self._live()
            if self._lock_fd is not None:
                if job == self._lock_job:
                    return
                raise JournalError(f"this journal is already locked for job {self._lock_job}")
            if self.readonly:
                raise JournalError(f"the journal {self.path} is open read-only: it takes no lock")
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise JournalError(f"cannot open the lock file {self.lock_path}: {exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                try:
                    holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
                except (OSError, ValueError):
                    holder = {}
                os.close(fd)
                if not isinstance(exc, BlockingIOError):
                    raise JournalError(f"cannot lock {self.lock_path}: {exc}") from exc
                h = holder if isinstance(holder, dict) else {}
                raise LockHeldError(
                    f"another run of job {h.get('job', job)} holds its lock (pid "
                    f"{h.get('pid', '?')} on host {h.get('host', '?')} since "
                    f"{h.get('since', '?')}; lock file {self.lock_path})"
                ) from None
            me = {"job": job, "pid": os.getpid(), "host": socket.gethostname(), "since": _now()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
            self._lock_fd, self._lock_job = fd, job

    def start_run(self, run: Run) -> None:
        with self._tx("record the start of a run", write=True) as conn:
            if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
                raise JournalError(f"the journal already holds a run {run.run_id}")
            sql = f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES ({_marks(_RUN_COLUMNS)})"
            conn.execute(sql, _encode(run))

    def finish_run(
        self, run_id: str, ended_at: dt.datetime, exit_code: int, counts: dict[str, int]
    ) -> None:
        values = (_ts(ended_at, "ended_at"), exit_code, _json(counts, "counts"), run_id)
        with self._tx("record the end of a run", write=True) as conn:
            sql = "UPDATE runs SET ended_at = ?, exit_code = ?, counts = ? WHERE run_id = ?"
            if conn.execute(sql, values).rowcount != 1:
                raise JournalError(f"the journal holds no run {run_id} to finish")

    def runs(self, job: str) -> list[Run]:
        """The job's runs, oldest first."""
        sql = f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE job = ? ORDER BY started_at, rowid"
        with self._tx("list runs") as conn:
            return [_decode_run(row) for row in conn.execute(sql, (job,))]

    def entries(self, job: str, adjustment_ids: Iterable[str] | None = None) -> dict[str, Entry]:
        """All of the job's entries, or those of ``adjustment_ids`` that the journal holds."""
        if isinstance(adjustment_ids, str):
            raise JournalError("adjustment_ids must be a collection of ids, not one string")
        if adjustment_ids is None:
            batches: Iterable[list[str] | None] = [None]
        else:
            ids = iter(adjustment_ids)
            batches = iter(lambda: list(itertools.islice(ids, _CHUNK)), [])
        sql = f"SELECT {', '.join(_ENTRY_COLUMNS)} FROM adjustments WHERE job = ?"
        found: dict[str, Entry] = {}
        with self._tx("read entries") as conn:  # one snapshot across all batches
            for batch in batches:
                where = "" if batch is None else f" AND adjustment_id IN ({_marks(batch)})"
                for row in conn.execute(sql + where, (job, *(batch or ()))):
                    found[row[1]] = _decode_entry(row)
        return found

    def counts(self, job: str) -> dict[str, int]:
        """State -> number of the job's adjustments; every state is present, even at zero."""
        sql = "SELECT state, COUNT(*) FROM adjustments WHERE job = ? GROUP BY state"
        with self._tx("count entries") as conn:
            return {state: 0 for state in STATES} | dict(conn.execute(sql, (job,)).fetchall())

    def record_intent(self, entry: Entry) -> None:
        """Write the adjustment's intent as PENDING; on disk when this returns.

        Refused with JournalError: a state other than PENDING; an adjustment that already
        SUCCEEDED; a generation lower than the journal's; the journal's generation with another
        key or other parameters. ``attempts`` never goes down: the higher count is kept.
        """
        what = f"adjustment {entry.adjustment_id} of job {entry.job}"
        if entry.state != PENDING:
            raise JournalError(f"an intent must be {PENDING}, not {entry.state} ({what})")
        values = _encode(entry)
        sent = values[_ENTRY_COLUMNS.index("request")]  # compared as JSON: tuples are lists
        with self._tx(f"record the intent of {what}", write=True) as conn:
            old = conn.execute(
                "SELECT state, generation, idempotency_key, request, attempts FROM adjustments"
                " WHERE job = ? AND adjustment_id = ?",
                (entry.job, entry.adjustment_id),
            ).fetchone()
            if old is not None:
                state, generation, key, request, attempts = old
                if state == SUCCEEDED:
                    raise JournalError(f"{what} already succeeded: it must not be sent again")
                if entry.generation < generation or (
                    entry.generation == generation
                    and (key, json.loads(request)) != (entry.idempotency_key, json.loads(sent))
                ):
                    raise JournalError(
                        f"{what}: an intent of generation {entry.generation} (key "
                        f"{entry.idempotency_key}) cannot replace generation {generation} (key "
                        f"{key}); another key or other parameters need a higher generation"
                    )
                values[_ENTRY_COLUMNS.index("attempts")] = max(attempts, entry.attempts)
            columns = ", ".join(_ENTRY_COLUMNS)
            sql = f"INSERT OR REPLACE INTO adjustments ({columns}) VALUES ({_marks(values)})"
            conn.execute(sql, values)
            self._event(conn, entry.job, entry.adjustment_id, "intent", {"run_id": entry.run_id})

    def record_success(
        self,
        job: str,
        adjustment_id: str,
        *,
        run_id: str,
        transfer_id: str,
        payment_id: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int = 0,
    ) -> None:
        """Mark the adjustment SUCCEEDED, on disk; recording the same ids again does nothing.
        ``attempts`` (requests sent for this outcome) is added in the same transaction."""
        done = _ts(completed_at, "completed_at")
        values: dict[str, Any] = {"state": SUCCEEDED, "run_id": run_id, "transfer_id": transfer_id}
        values |= {"payment_id": payment_id, "request_id": request_id, "completed_at": done}
        values |= {"error_code": None, "error_message": None}
        self._update("success", job, adjustment_id, _with_attempts(values, attempts))

    def record_failure(
        self,
        job: str,
        adjustment_id: str,
        *,
        run_id: str,
        error_code: str,
        error_message: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int = 0,
    ) -> None:
        """Mark the adjustment FAILED (refused for good, no money moved), on disk."""
        done = _ts(completed_at, "completed_at")
        values: dict[str, Any] = {"state": FAILED, "run_id": run_id, "request_id": request_id}
        values |= {"error_code": error_code, "error_message": error_message, "completed_at": done}
        self._update("failure", job, adjustment_id, _with_attempts(values, attempts))

    def record_unknown(
        self,
        job: str,
        adjustment_id: str,
        *,
        run_id: str,
        error_code: str,
        error_message: str,
        request_id: str | None,
        attempts: int = 0,
    ) -> None:
        """Note the last error of an adjustment whose outcome is still unknown (stays PENDING)."""
        values: dict[str, Any] = {"run_id": run_id, "request_id": request_id}
        values |= {"error_code": error_code, "error_message": error_message}
        self._update("unknown", job, adjustment_id, _with_attempts(values, attempts))

    def _update(self, kind: str, job: str, adjustment_id: str, values: dict[str, Any]) -> None:
        label = "unknown outcome" if kind == "unknown" else kind
        what = f"the {label} of adjustment {adjustment_id} of job {job}"
        with self._tx(f"record {what}", write=True, durable=False) as conn:
            row = conn.execute(
                "SELECT state, transfer_id, payment_id FROM adjustments"
                " WHERE job = ? AND adjustment_id = ?",
                (job, adjustment_id),
            ).fetchone()
            if row is None:
                raise JournalError(f"cannot record {what}: the journal holds no intent for it")
            done = (SUCCEEDED, values.get("transfer_id"), values.get("payment_id"))
            if kind == "success" and row == done:
                return
            if row[0] != PENDING:
                raise JournalError(
                    f"cannot record {what}: it is {row[0]} already"
                    + (f" (transfer {row[1]}, payment {row[2]})" if row[0] == SUCCEEDED else "")
                )
            sets = ", ".join(f"{k} = {k} + ?" if k == "attempts" else f"{k} = ?" for k in values)
            sql = f"UPDATE adjustments SET {sets} WHERE job = ? AND adjustment_id = ?"
            conn.execute(sql, (*values.values(), job, adjustment_id))
            self._event(conn, job, adjustment_id, kind, values)

    @staticmethod
    def _event(
        conn: sqlite3.Connection, job: str, adjustment_id: str, kind: str, detail: dict[str, Any]
    ) -> None:
        conn.execute(
            "INSERT INTO events (at, job, adjustment_id, kind, run_id, generation,"
            " idempotency_key, detail) SELECT ?, job, adjustment_id, ?, ?, generation,"
            " idempotency_key, ? FROM adjustments WHERE job = ? AND adjustment_id = ?",
            (_now(), kind, detail.get("run_id"), _json(detail, "detail"), job, adjustment_id),
        )

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalError(f"the journal {self.path} is closed")
        return self._conn

    @contextlib.contextmanager
    def _tx(
        self, doing: str, write: bool = False, durable: bool = True
    ) -> Iterator[sqlite3.Connection]:
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
                    yield conn
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
            raise JournalError(f"the journal {self.path} could not {doing}: {exc}") from exc

    def _damaged(self, detail: str) -> JournalError:
        return JournalError(
            f"the journal {self.path} is damaged ({detail}). It is the record of what was sent to"
            " Stripe, so do not delete it or start a new one: restore it from a backup, and keep"
            " the damaged file for inspection"
        )


def _with_attempts(values: dict[str, Any], attempts: int) -> dict[str, Any]:
    if attempts < 0:
        raise JournalError(f"attempts cannot go down (count {attempts})")
    return {**values, "attempts": attempts} if attempts else values


def _marks(values: Iterable[object]) -> str:
    return ", ".join("?" for _ in values)


if TYPE_CHECKING:

    def _conforms(journal: SQLiteJournal) -> Journal:  # SQLiteJournal implements Journal
        return journal
