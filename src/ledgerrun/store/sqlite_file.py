"""The SQLite journal file: opening it (made if new, checked, brought forward from an older
schema) and its connections' settings. A mixin of :class:`~ledgerrun.store.sqlite.SQLiteStore`.

A journal is in WAL mode. Each connection keeps one durability setting for its life
(``synchronous``), chosen by what it writes: never switched per transaction.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

from ledgerrun.errors import JournalError
from ledgerrun.store import codec, schema
from ledgerrun.store.model import SCHEMA_VERSION


class JournalFile:
    """Opening, checking and bringing forward a journal file (see the module docstring)."""

    path: Path
    readonly: bool
    _busy_s: float

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
                    _apply(conn, statement)
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

    def _extra(self, sync: str | None) -> sqlite3.Connection:
        """Another connection to the journal (made and prepared already): one that writes with
        its own durability (``sync``: ``FULL`` waits for the disk at every commit, ``NORMAL``
        does not), or one that only reads (None)."""
        conn = self._connect(self.path, False, False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_s * 1000)}")
            if sync is None:
                conn.execute("PRAGMA query_only = ON")
            else:
                conn.execute(f"PRAGMA synchronous = {sync}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _damaged(self, detail: str) -> JournalError:
        return JournalError(
            f"the journal {self.path} is damaged ({detail}). It is the record of what was sent to"
            " Stripe, so do not delete it or start a new one: restore it from a backup, and keep"
            " the damaged file for inspection"
        )


DROP_COLUMN_FROM = (3, 35, 0)  # the first SQLite with ALTER TABLE ... DROP COLUMN


def _apply(conn: sqlite3.Connection, statement: str) -> None:
    """One upgrade statement. SQLite before 3.35 (Ubuntu 20.04's, RHEL 8's) cannot drop a column:
    there the table is made again without it, its rows copied over, inside the upgrade's
    transaction."""
    dropped = re.fullmatch(r"ALTER TABLE (\w+) DROP COLUMN (\w+)", statement)
    if dropped is None or sqlite3.sqlite_version_info >= DROP_COLUMN_FROM:
        conn.execute(statement)
        return
    table, column = dropped.groups()
    (create,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    kept = [row[1] for row in conn.execute(f"PRAGMA table_info({table})") if row[1] != column]
    conn.execute(f"ALTER TABLE {table} RENAME TO {table}_before")
    conn.execute(schema.without_column(create, column))
    names = codec.cols(kept)
    conn.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {table}_before")
    conn.execute(f"DROP TABLE {table}_before")
