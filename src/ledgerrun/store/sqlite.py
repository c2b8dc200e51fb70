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
import datetime as dt
import itertools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from ledgerrun.errors import JournalError
from ledgerrun.store import schema
from ledgerrun.store.lock import FileLock, is_held, lock_path, read_holder
from ledgerrun.store.model import (
    FAILED,
    PENDING,
    SCHEMA_VERSION,
    STATES,
    SUCCEEDED,
    AccountRecord,
    Entry,
    Run,
    Seen,
)

_CHUNK = 500  # ids per query, well below SQLite's limit on bound parameters
_BUSY, _LOCKED, _CORRUPT, _NOTADB, _READONLY, _FULL = 5, 6, 11, 26, 8, 13
_TIMES = {"attempted_at", "attempted_at_server", "completed_at", "started_at", "ended_at"}
_T = TypeVar("_T")


def _ts(value: dt.datetime | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise JournalError(f"{what} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _json(value: object, what: str) -> str:
    try:
        return schema.dumps(value)
    except (TypeError, ValueError) as exc:
        raise JournalError(f"{what} cannot be stored as JSON: {exc}") from exc


def _encode(obj: Entry | Run) -> list[Any]:
    values = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name in _TIMES:
            value = _ts(value, f.name)
        elif value is not None and f.name in ("request", "counts"):
            value = _json(value, f"{f.name} of {getattr(obj, 'key', getattr(obj, 'run_id', ''))}")
        values.append(value)
    return values


def _decoder(cls: Callable[..., _T], columns: Sequence[str]) -> Callable[[Sequence[Any]], _T]:
    """A fast row -> dataclass converter (a re-run may decode a million entries)."""
    convert: dict[str, Callable[[Any], Any]] = {"request": json.loads, "counts": json.loads}
    convert |= dict.fromkeys(_TIMES, dt.datetime.fromisoformat)
    plan = [(i, convert[name]) for i, name in enumerate(columns) if name in convert]

    def decode(row: Sequence[Any]) -> _T:
        values = list(row)
        for i, function in plan:
            if values[i] is not None:
                values[i] = function(values[i])
        return cls(*values)

    return decode


_decode_entry = _decoder(Entry, schema.ENTRY_COLUMNS)
_decode_run = _decoder(Run, schema.RUN_COLUMNS)


def _decode_account(row: Sequence[Any]) -> AccountRecord:
    return AccountRecord(row[0], dt.datetime.fromisoformat(row[1]), *row[2:])


def _cols(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _marks(values: Iterable[object]) -> str:
    return ", ".join("?" for _ in values)


def _batches(values: Iterable[str]) -> Iterator[list[str]]:
    items = iter(values)
    return iter(lambda: list(itertools.islice(items, _CHUNK)), [])


class SQLiteStore:
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
                self._create_v2(conn)
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
    def _create_v2(conn: sqlite3.Connection) -> None:
        for statement in schema.V2_TABLES:
            if statement.startswith("CREATE TABLE adjustments") or statement.startswith(
                "CREATE TABLE seen"
            ):
                statement += " WITHOUT ROWID"
            conn.execute(statement)
        conn.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

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
            self._create_v2(conn)
            rows, notes = schema.v1_adjustment_rows(old)
            cols = schema.ENTRY_COLUMNS
            conn.executemany(
                f"INSERT INTO adjustments ({_cols(cols)}) VALUES ({_marks(cols)})",
                [[r.get(c) for c in cols] for r in rows],
            )
            conn.executemany(
                f"INSERT INTO runs ({_cols(schema.RUN_COLUMNS)})"
                f" VALUES ({_marks(schema.RUN_COLUMNS)})",
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
                + [(schema.now_text(), "", "migration", None, None, None, _json(n, "note"))
                   for n in notes],
            )  # fmt: skip
            groups = sorted({str(r["job"]) for r in old})
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('legacy_groups', ?)", (_json(groups, "jobs"),)
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
        """Take the job's run lock or raise LockHeldError; held until close() or death."""
        with self._mutex:
            self._live()
            if job in self._locks:
                return
            if self.readonly:
                raise JournalError(f"the journal {self.path} is open read-only: it takes no lock")
            lock = FileLock(self.path, job)
            lock.acquire()
            self._locks[job] = lock

    def lock_holder(self, job: str) -> dict[str, Any] | None:
        """Who holds the job's lock now, or None when no run of it is going on."""
        path = lock_path(self.path, job)
        if job in self._locks or not is_held(path):
            return None
        return read_holder(path) or {}

    # --- runs ------------------------------------------------------------------------------

    def start_run(self, run: Run) -> None:
        with self._tx("record the start of a run", write=True) as conn:
            if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
                raise JournalError(f"the journal already holds a run {run.run_id}")
            sql = f"INSERT INTO runs ({_cols(schema.RUN_COLUMNS)}) VALUES ("
            conn.execute(sql + _marks(schema.RUN_COLUMNS) + ")", _encode(run))

    def finish_run(
        self, run_id: str, ended_at: dt.datetime, exit_code: int, counts: dict[str, int]
    ) -> None:
        values = (_ts(ended_at, "ended_at"), int(exit_code), _json(counts, "counts"), run_id)
        with self._tx("record the end of a run", write=True) as conn:
            sql = "UPDATE runs SET ended_at = ?, exit_code = ?, counts = ? WHERE run_id = ?"
            if conn.execute(sql, values).rowcount != 1:
                raise JournalError(f"the journal holds no run {run_id} to finish")

    def runs(self, job: str) -> list[Run]:
        """The job's runs, oldest first."""
        sql = f"SELECT {_cols(schema.RUN_COLUMNS)} FROM runs WHERE job = ? ORDER BY started_at"
        with self._tx("list runs") as conn:
            return [_decode_run(row) for row in conn.execute(sql, (job,))]

    # --- adjustments -----------------------------------------------------------------------

    def entries(self, keys: Iterable[str]) -> dict[str, Entry]:
        """The entries of ``keys`` (canonical ids) that the store holds, from any job."""
        if isinstance(keys, str):
            raise JournalError("keys must be a collection of canonical ids, not one string")
        sql = f"SELECT {_cols(schema.ENTRY_COLUMNS)} FROM adjustments WHERE key IN "
        found: dict[str, Entry] = {}
        with self._tx("read entries") as conn:  # one snapshot across all batches
            for batch in _batches(keys):
                for row in conn.execute(sql + f"({_marks(batch)})", batch):
                    found[row[0]] = _decode_entry(row)
        return found

    def iter_entries(self, job: str | None = None, run_date: str | None = None) -> Iterator[Entry]:
        """Entries of a job (and run date), or all of them, streamed in pages."""
        where, args = [], []
        if job is not None:
            where.append("job = ?")
            args.append(job)
        if run_date is not None:
            where.append("run_date = ?")
            args.append(run_date)
        clause = (" AND " + " AND ".join(where)) if where else ""
        sql = (
            f"SELECT {_cols(schema.ENTRY_COLUMNS)} FROM adjustments WHERE key > ?{clause}"
            f" ORDER BY key LIMIT {_CHUNK * 4}"
        )
        after = ""
        while True:
            with self._tx("read entries") as conn:
                page = [_decode_entry(row) for row in conn.execute(sql, (after, *args))]
            yield from page
            if len(page) < _CHUNK * 4:
                return
            after = page[-1].key

    def counts(self, job: str, run_date: str | None = None) -> dict[str, int]:
        """State -> number of the job's adjustments (of one run date); every state is present."""
        sql = "SELECT state, COUNT(*) FROM adjustments WHERE job = ?"
        args: tuple[str, ...] = (job,)
        if run_date is not None:
            sql, args = sql + " AND run_date = ?", (job, run_date)
        with self._tx("count entries") as conn:
            found = dict(conn.execute(sql + " GROUP BY state", args).fetchall())
        return {state: int(found.get(state, 0)) for state in STATES}

    def record_intent(self, entry: Entry) -> None:
        """Write the adjustment's intent as PENDING; on disk when this returns.

        Refused with JournalError: a state other than PENDING; an adjustment that already
        SUCCEEDED; a generation lower than the store's; the store's generation with another key
        or other parameters. ``attempts`` never goes down: the higher count is kept."""
        what = f"adjustment {entry.adjustment_id} ({entry.key})"
        if entry.state != PENDING:
            raise JournalError(f"an intent must be {PENDING}, not {entry.state} ({what})")
        values = _encode(entry)
        sent = values[schema.ENTRY_COLUMNS.index("request")]
        with self._tx(f"record the intent of {what}", write=True) as conn:
            old = conn.execute(
                "SELECT state, generation, idempotency_key, request, attempts FROM adjustments"
                " WHERE key = ?",
                (entry.key,),
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
                values[schema.ENTRY_COLUMNS.index("attempts")] = max(attempts, entry.attempts)
            cols = schema.ENTRY_COLUMNS
            conn.execute(
                f"INSERT OR REPLACE INTO adjustments ({_cols(cols)}) VALUES ({_marks(cols)})",
                values,
            )
            self._event(conn, entry.key, "intent", {"run_id": entry.run_id})

    def record_found(self, entry: Entry) -> None:
        """Record an adjustment found done in Stripe's books (by the guard) as SUCCEEDED,
        unless the store already knows it succeeded."""
        if entry.state != SUCCEEDED:
            raise JournalError(f"a found adjustment must be {SUCCEEDED} ({entry.key})")
        values = _encode(entry)
        with self._tx(f"record adjustment {entry.adjustment_id} found in Stripe", write=True) as c:
            old = c.execute("SELECT state FROM adjustments WHERE key = ?", (entry.key,)).fetchone()
            if old is not None and old[0] == SUCCEEDED:
                return
            cols = schema.ENTRY_COLUMNS
            c.execute(
                f"INSERT OR REPLACE INTO adjustments ({_cols(cols)}) VALUES ({_marks(cols)})",
                values,
            )
            self._event(c, entry.key, "found", {"run_id": entry.run_id})

    def record_success(
        self,
        key: str,
        *,
        run_id: str,
        transfer_id: str,
        payment_id: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int = 0,
    ) -> None:
        """Mark the adjustment SUCCEEDED; recording the same ids again does nothing."""
        values: dict[str, Any] = {"state": SUCCEEDED, "run_id": run_id, "transfer_id": transfer_id}
        values |= {"payment_id": payment_id, "request_id": request_id}
        values |= {"completed_at": _ts(completed_at, "completed_at")}
        values |= {"error_code": None, "error_message": None}
        self._update("success", key, _with_attempts(values, attempts))

    def record_failure(
        self,
        key: str,
        *,
        run_id: str,
        error_code: str,
        error_message: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int = 0,
    ) -> None:
        """Mark the adjustment FAILED (refused for good, no money moved)."""
        values: dict[str, Any] = {"state": FAILED, "run_id": run_id, "request_id": request_id}
        values |= {"error_code": error_code, "error_message": error_message}
        values |= {"completed_at": _ts(completed_at, "completed_at")}
        self._update("failure", key, _with_attempts(values, attempts))

    def record_unknown(
        self,
        key: str,
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
        self._update("unknown", key, _with_attempts(values, attempts))

    def _update(self, kind: str, key: str, values: dict[str, Any]) -> None:
        label = "unknown outcome" if kind == "unknown" else kind
        what = f"the {label} of adjustment {key}"
        with self._tx(f"record {what}", write=True, durable=False) as conn:
            row = conn.execute(
                "SELECT state, transfer_id, payment_id FROM adjustments WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                raise JournalError(f"cannot record {what}: the journal holds no intent for it")
            done = (SUCCEEDED, values.get("transfer_id"), values.get("payment_id"))
            if kind == "success" and tuple(row) == done:
                return
            if row[0] != PENDING:
                raise JournalError(
                    f"cannot record {what}: it is {row[0]} already"
                    + (f" (transfer {row[1]}, payment {row[2]})" if row[0] == SUCCEEDED else "")
                )
            sets = ", ".join(f"{k} = {k} + ?" if k == "attempts" else f"{k} = ?" for k in values)
            conn.execute(f"UPDATE adjustments SET {sets} WHERE key = ?", (*values.values(), key))
            self._event(conn, key, kind, values)

    @staticmethod
    def _event(conn: sqlite3.Connection, key: str, kind: str, detail: dict[str, Any]) -> None:
        conn.execute(
            "INSERT INTO events (at, key, kind, run_id, generation, idempotency_key, detail)"
            " SELECT ?, key, ?, ?, generation, idempotency_key, ? FROM adjustments WHERE key = ?",
            (schema.now_text(), kind, detail.get("run_id"), _json(detail, "detail"), key),
        )

    # --- what the guard saw ----------------------------------------------------------------

    def high_water(self, listing: str) -> int | None:
        with self._tx("read a listing mark") as conn:
            row = conn.execute("SELECT high_water FROM listings WHERE name = ?", (listing,))
            found = row.fetchone()
        return None if found is None else int(found[0])

    def record_listing(
        self, listing: str, objects: Iterable[Seen], high_water: int, listed_at: dt.datetime
    ) -> None:
        """Keep what one complete listing found, and move its mark on (never back)."""
        rows = [astuple(o) for o in objects]
        cols = schema.SEEN_COLUMNS
        with self._tx(f"record the listing {listing}", write=True, durable=False) as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO seen ({_cols(cols)}) VALUES ({_marks(cols)})", rows
            )
            conn.execute(
                "INSERT INTO listings VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " high_water = max(high_water, excluded.high_water), listed_at ="
                " excluded.listed_at",
                (listing, high_water, _ts(listed_at, "listed_at")),
            )

    def seen(self, keys: Iterable[str]) -> dict[str, list[Seen]]:
        sql = f"SELECT {_cols(schema.SEEN_COLUMNS)} FROM seen WHERE key IN "
        found: dict[str, list[Seen]] = {}
        with self._tx("read what was seen in Stripe") as conn:
            for batch in _batches(keys):
                for row in conn.execute(sql + f"({_marks(batch)})", batch):
                    found.setdefault(row[1], []).append(Seen(*row))
        return found

    def legacy_groups(self) -> list[str]:
        with self._tx("read the version-1 job names") as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'legacy_groups'").fetchone()
        return [str(g) for g in json.loads(row[0])] if row else []

    # --- account checks --------------------------------------------------------------------

    def account_records(
        self, accounts: Iterable[str], newer_than: dt.datetime
    ) -> dict[str, AccountRecord]:
        limit = _ts(newer_than, "newer_than")
        sql = f"SELECT {_cols(schema.ACCOUNT_COLUMNS)} FROM account_checks WHERE checked_at > ?"
        found: dict[str, AccountRecord] = {}
        with self._tx("read account checks") as conn:
            for batch in _batches(accounts):
                query = sql + f" AND account IN ({_marks(batch)})"
                for row in conn.execute(query, (limit, *batch)):
                    found[row[0]] = _decode_account(row)
        return found

    def record_accounts(self, records: Iterable[AccountRecord]) -> None:
        rows = [
            (
                r.account,
                _ts(r.checked_at, "checked_at"),
                r.code,
                r.message,
                r.default_currency,
                r.country,
            )
            for r in records
        ]
        cols = schema.ACCOUNT_COLUMNS
        with self._tx("record account checks", write=True, durable=False) as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO account_checks ({_cols(cols)}) VALUES ({_marks(cols)})",
                rows,
            )

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
            if code == _FULL:
                raise JournalError(
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


def _with_attempts(values: dict[str, Any], attempts: int) -> dict[str, Any]:
    if attempts < 0:
        raise JournalError(f"attempts cannot go down (count {attempts})")
    return {**values, "attempts": attempts} if attempts else values


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
