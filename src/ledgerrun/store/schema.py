"""The store's tables, and how a store written by an older ledgerrun is brought forward.

Version 1 (ledgerrun 0.1) kept one journal per job, keyed by (job, adjustment id as written).
Version 2 keys every adjustment by its canonical id, platform-wide, and adds what the Stripe
guard has seen, listing high-water marks and account checks. Version 3 (:data:`UPGRADES`) adds
work leases, so a work item whose worker died is taken over by any other, and the web
application's server-side sessions. Version 4 leaves a run file's blob as the last column of its
row, which lets SQLite write a large file without building it in memory.

A new store is made with the current tables (:data:`TABLES`: version 2's statements with every
later column folded in, or left out); an older one is brought forward by each version's
statements in turn, and a test holds the two to the same tables. Migrating keeps every intent with
its recorded idempotency key, so a row pending under a version-1 key is resent with that key and
never a new one; the job names of version 1 (its transfer groups) are remembered so the guard
and reconcile still find version 1's debits in Stripe.

The statements are plain SQL shared by SQLite and PostgreSQL where the two agree; each store
adds its own touches (``WITHOUT ROWID``, types).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from ledgerrun.ingest.identity import canonical

ENTRY_COLUMNS = (
    "key",
    "adjustment_id",
    "job",
    "run_date",
    "direction",
    "account",
    "currency",
    "amount_minor",
    "method",
    "state",
    "generation",
    "idempotency_key",
    "request",
    "attempts",
    "attempted_at",
    "attempted_at_server",
    "transfer_id",
    "payment_id",
    "request_id",
    "error_code",
    "error_message",
    "completed_at",
    "run_id",
    "batch",
)
RUN_COLUMNS = (
    "run_id",
    "job",
    "kind",
    "run_date",
    "started_at",
    "mode",
    "username",
    "host",
    "pid",
    "job_file",
    "ledger_path",
    "ledger_sha256",
    "results_path",
    "rows",
    "ended_at",
    "exit_code",
    "counts",
    "batch",
    "api_version",
)
SEEN_COLUMNS = (
    "object_id",
    "key",
    "adjustment_id",
    "job",
    "run_date",
    "direction",
    "method",
    "account",
    "amount",
    "currency",
    "created",
    "transfer_id",
    "payment_id",
    "amount_reversed",
    "bare",
)
ACCOUNT_COLUMNS = ("account", "checked_at", "code", "message", "default_currency", "country")
REVERSAL_COLUMNS = (
    *("key", "reversal_id", "adjustment_key", "adjustment_id", "job", "run_date", "direction"),
    *("account", "transfer_id", "context", "currency", "amount_minor", "reason", "state"),
    *("generation", "idempotency_key", "request", "attempts", "attempted_at"),
    *("attempted_at_server", "reversal_object_id", "request_id", "error_code", "error_message"),
    *("completed_at", "run_id", "method", "payment_id", "refund_id", "refund_status"),
)
USER_COLUMNS = ("name", "role", "password_hash", "disabled", "created_at")
SESSION_COLUMNS = (
    *("session_key", "username", "address", "started_at", "expires_at", "ended_at"),
    "ended_why",
)
BATCH_COLUMNS = (
    *("batch_id", "job", "file_name", "sha256", "size", "uploaded_by", "uploaded_at", "status"),
    *("rows", "summary", "run_id", "updated_at"),
)
APPROVAL_COLUMNS = ("batch_id", "job", "decision", "by_user", "at", "sha256", "totals", "comment")
AUDIT_COLUMNS = ("at", "username", "address", "action", "batch_id", "sha256", "detail", "seq")
WORK_COLUMNS = (
    *("work_id", "batch_id", "kind", "requested_by", "requested_at", "state", "params"),
    *("worker", "started_at", "ended_at", "exit_code", "progress", "message", "lease_until"),
    "history",
)
JSON_COLUMNS = frozenset(
    ("request", "counts", "summary", "totals", "detail", "params", "progress", "history")
)
TIME_COLUMNS = frozenset(
    (
        *("attempted_at", "attempted_at_server", "completed_at", "started_at", "ended_at"),
        *("created_at", "uploaded_at", "updated_at", "at", "requested_at", "checked_at"),
        *("lease_until", "expires_at"),
    )
)

V2_TABLES = (
    "CREATE TABLE runs (run_id TEXT PRIMARY KEY, job TEXT NOT NULL, kind TEXT NOT NULL,"
    " run_date TEXT NOT NULL, started_at TEXT NOT NULL, mode TEXT NOT NULL,"
    " username TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, job_file TEXT NOT NULL,"
    " ledger_path TEXT NOT NULL, ledger_sha256 TEXT NOT NULL, results_path TEXT NOT NULL,"
    " rows INTEGER NOT NULL, ended_at TEXT, exit_code INTEGER, counts TEXT)",
    "CREATE INDEX runs_by_job ON runs (job, started_at)",
    "CREATE TABLE adjustments (key TEXT PRIMARY KEY, adjustment_id TEXT NOT NULL,"
    " job TEXT NOT NULL, run_date TEXT NOT NULL, direction TEXT NOT NULL,"
    " account TEXT NOT NULL, currency TEXT NOT NULL, amount_minor BIGINT NOT NULL,"
    " method TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded',"
    " 'failed')), generation INTEGER NOT NULL, idempotency_key TEXT NOT NULL,"
    " request TEXT NOT NULL, attempts INTEGER NOT NULL, attempted_at TEXT NOT NULL,"
    " attempted_at_server TEXT NOT NULL, transfer_id TEXT, payment_id TEXT, request_id TEXT,"
    " error_code TEXT, error_message TEXT, completed_at TEXT, run_id TEXT)",
    "CREATE INDEX adjustments_by_job ON adjustments (job, run_date)",
    # Append-only audit trail: one row per intent and per outcome.
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, key TEXT NOT NULL,"
    " kind TEXT NOT NULL, run_id TEXT, generation INTEGER, idempotency_key TEXT,"
    " detail TEXT NOT NULL)",
    "CREATE TABLE listings (name TEXT PRIMARY KEY, high_water BIGINT NOT NULL,"
    " listed_at TEXT NOT NULL)",
    "CREATE TABLE seen (object_id TEXT PRIMARY KEY, key TEXT NOT NULL,"
    " adjustment_id TEXT NOT NULL, job TEXT NOT NULL, run_date TEXT NOT NULL,"
    " direction TEXT NOT NULL, method TEXT NOT NULL, account TEXT NOT NULL,"
    " amount BIGINT NOT NULL, currency TEXT NOT NULL, created BIGINT NOT NULL,"
    " transfer_id TEXT NOT NULL, payment_id TEXT NOT NULL, amount_reversed BIGINT NOT NULL)",
    "CREATE INDEX seen_by_key ON seen (key)",
    "CREATE TABLE account_checks (account TEXT PRIMARY KEY, checked_at TEXT NOT NULL,"
    " code TEXT, message TEXT NOT NULL, default_currency TEXT, country TEXT)",
    "CREATE TABLE reversals (key TEXT PRIMARY KEY, reversal_id TEXT NOT NULL,"
    " adjustment_key TEXT NOT NULL, adjustment_id TEXT NOT NULL, job TEXT NOT NULL,"
    " run_date TEXT NOT NULL, direction TEXT NOT NULL, account TEXT NOT NULL,"
    " transfer_id TEXT NOT NULL, context TEXT NOT NULL, currency TEXT NOT NULL,"
    " amount_minor BIGINT NOT NULL, reason TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN"
    " ('pending', 'succeeded', 'failed')), generation INTEGER NOT NULL,"
    " idempotency_key TEXT NOT NULL, request TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " attempted_at TEXT NOT NULL, attempted_at_server TEXT NOT NULL, reversal_object_id TEXT,"
    " request_id TEXT, error_code TEXT, error_message TEXT, completed_at TEXT, run_id TEXT)",
    "CREATE INDEX reversals_by_adjustment ON reversals (adjustment_key)",
    "CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,"
    " disabled INTEGER NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE signins (name TEXT NOT NULL, address TEXT NOT NULL, ok INTEGER NOT NULL,"
    " at TEXT NOT NULL)",
    "CREATE INDEX signins_by_name ON signins (name, at)",
    "CREATE TABLE batches (batch_id TEXT PRIMARY KEY, job TEXT NOT NULL, file_name TEXT NOT NULL,"
    " sha256 TEXT NOT NULL, size BIGINT NOT NULL, uploaded_by TEXT NOT NULL,"
    " uploaded_at TEXT NOT NULL, status TEXT NOT NULL, rows BIGINT NOT NULL,"
    " summary TEXT NOT NULL, run_id TEXT, updated_at TEXT)",
    "CREATE TABLE approvals (batch_id TEXT NOT NULL, job TEXT NOT NULL, decision TEXT NOT NULL,"
    " by_user TEXT NOT NULL, at TEXT NOT NULL, sha256 TEXT NOT NULL, totals TEXT NOT NULL,"
    " comment TEXT NOT NULL)",
    "CREATE INDEX approvals_by_hash ON approvals (job, sha256, at)",
    "CREATE TABLE audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, username TEXT NOT NULL,"
    " address TEXT NOT NULL, action TEXT NOT NULL, batch_id TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " detail TEXT NOT NULL)",
    "CREATE TABLE work (work_id TEXT PRIMARY KEY, batch_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " requested_by TEXT NOT NULL, requested_at TEXT NOT NULL, state TEXT NOT NULL,"
    " params TEXT NOT NULL, worker TEXT NOT NULL, started_at TEXT, ended_at TEXT,"
    " exit_code INTEGER, progress TEXT, message TEXT NOT NULL)",
    "CREATE INDEX work_by_state ON work (state, requested_at)",
    # Every run's files (results, summary, report), compressed: a later run never destroys an
    # earlier run's record, and any host sharing the store can hand them out. (Version 4 drops
    # ``size``: the blob is the row's last column.)
    "CREATE TABLE run_files (run_id TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL,"
    " size BIGINT NOT NULL, PRIMARY KEY (run_id, name))",
)

UPGRADES: dict[int, tuple[str, ...]] = {
    3: (
        # Work leases: a worker renews its item's lease while it lives; any worker takes over
        # an item whose lease ran out. ``history`` says who had it, and when (shown on the page).
        "ALTER TABLE work ADD COLUMN lease_until TEXT",
        "ALTER TABLE work ADD COLUMN history TEXT NOT NULL DEFAULT '[]'",
        # The batch a run read and an adjustment was last sent from: a web upload's id, or
        # "ledger:" and the ledger's path. Reconcile is scoped by it: another batch's rows of
        # the same job and date are never "removed from the ledger".
        "ALTER TABLE adjustments ADD COLUMN batch TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE runs ADD COLUMN batch TEXT NOT NULL DEFAULT ''",
        # The Stripe API version a run's requests were sent with: a later run whose SDK pins
        # another refuses to start unless the job names its version.
        "ALTER TABLE runs ADD COLUMN api_version TEXT NOT NULL DEFAULT ''",
        # A debit is undone by refunding the platform's payment (py_); a credit by reversing
        # the platform's transfer. A refund may be pending, and settles (or fails) later.
        "ALTER TABLE reversals ADD COLUMN method TEXT NOT NULL DEFAULT 'transfer_reversal'",
        "ALTER TABLE reversals ADD COLUMN payment_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE reversals ADD COLUMN refund_id TEXT",
        "ALTER TABLE reversals ADD COLUMN refund_status TEXT",
        # An object the guard saw, by its id's canonical form without the job's id_prefix: a
        # prefix changed since is found by it (possible_duplicate_prefix).
        "ALTER TABLE seen ADD COLUMN bare TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX seen_by_bare ON seen (bare)",
        # The web application's sessions, kept on the server: the cookie holds a random id,
        # this table its SHA-256. Signing out, a new password or disabling the user ends them.
        "CREATE TABLE web_sessions (session_key TEXT PRIMARY KEY, username TEXT NOT NULL,"
        " address TEXT NOT NULL, started_at TEXT NOT NULL, expires_at TEXT NOT NULL,"
        " ended_at TEXT, ended_why TEXT NOT NULL)",
        "CREATE INDEX web_sessions_by_user ON web_sessions (username, ended_at)",
        # Sign-in throttling counts a browser that signed in as a name before apart from its
        # name and address (its known-browser cookie's id): an attacker cannot slow it down.
        "ALTER TABLE signins ADD COLUMN device TEXT NOT NULL DEFAULT ''",
    ),
    4: (
        # A run file's blob is the last column of its row, its size read from the blob itself
        # (``length(data)``, from the record's header). SQLite writes a row whose last column
        # is a ``zeroblob`` without making the zeros, and the file is then written into the
        # blob a piece at a time; with a column after the blob, a 12 MB file took two copies of
        # itself in memory (docs/benchmarks.md, "Memory"). Nothing read ``size``.
        "ALTER TABLE run_files DROP COLUMN size",
    ),
}
"""What each version changes, in SQL both stores speak (PostgreSQL's types by
:func:`postgres_ddl`). Only ``ALTER TABLE ... ADD COLUMN``, ``ALTER TABLE ... DROP COLUMN``,
``CREATE TABLE`` and ``CREATE INDEX`` statements."""


def created_tables(statements: tuple[str, ...]) -> frozenset[str]:
    """The tables ``statements`` create."""
    return frozenset(
        found.group(1) for s in statements if (found := re.match(r"CREATE TABLE (\w+)", s))
    )


def tables_added_after(version: int) -> frozenset[str]:
    """The tables the versions after ``version`` create (a store of ``version`` lacks them)."""
    return frozenset().union(*(created_tables(s) for v, s in UPGRADES.items() if v > version))


def _folded(statements: tuple[str, ...]) -> tuple[str, ...]:
    """Version 2's statements with every later version's added columns folded into their
    tables, its dropped columns left out, and its new tables and indexes appended: what a new
    store is made of."""
    out = list(statements)
    for version in sorted(UPGRADES):
        for statement in UPGRADES[version]:
            altered = re.fullmatch(r"ALTER TABLE (\w+) (ADD|DROP) COLUMN (.+)", statement)
            if altered is None:
                out.append(statement)
                continue
            table, change, column = altered.groups()
            index = next(i for i, s in enumerate(out) if s.startswith(f"CREATE TABLE {table} ("))
            if change == "ADD":
                out[index] = out[index][:-1] + f", {column})"
            else:
                out[index] = without_column(out[index], column)
    return tuple(out)


def without_column(create: str, column: str) -> str:
    """A ``CREATE TABLE`` statement without the definition of ``column``."""
    dropped = re.sub(rf",\s*{column} [^,()]+(?=[,)])", "", create, count=1)
    if dropped == create:  # pragma: no cover - the schema's own statements
        raise ValueError(f"no column {column} in {create}")
    return dropped


TABLES = _folded(V2_TABLES)
"""Every table and index of a store of the current version, as a new store is made."""

# --- PostgreSQL -------------------------------------------------------------------------------
# The same tables, in PostgreSQL's types: INTEGER is 64-bit as in SQLite (BIGINT), append-only
# sequences are identities (given explicitly when a journal is migrated), BLOB is BYTEA, and text
# compares byte by byte (COLLATE "C") so that keys sort and page exactly as in SQLite.

POSTGRES_META = (
    'CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT COLLATE "C" NOT NULL)'
)
# Who holds each job's run lock (the lock itself is an advisory lock held by that session).
POSTGRES_LOCKS = (
    'CREATE TABLE locks (job TEXT COLLATE "C" PRIMARY KEY, host TEXT NOT NULL, pid BIGINT NOT'
    " NULL, since TEXT NOT NULL, backend_pid BIGINT NOT NULL)"
)


def postgres_ddl(statement: str) -> str:
    """One statement of :data:`V2_TABLES` as PostgreSQL takes it."""
    statement = re.sub(
        r"\bseq INTEGER PRIMARY KEY\b",
        "seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        statement,
    )
    statement = re.sub(r"\bINTEGER\b", "BIGINT", statement)
    statement = re.sub(r"\bBLOB\b", "BYTEA", statement)
    return re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', statement)


POSTGRES_TABLES = (POSTGRES_META, *(postgres_ddl(s) for s in TABLES), POSTGRES_LOCKS)

_RANK = {"succeeded": 0, "pending": 1, "failed": 2}


def v1_adjustment_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Version-1 journal rows as version-2 adjustment rows, and the notes on collisions.

    Two version-1 rows whose ids are the same adjustment in canonical form (possible across
    jobs, or as ``ADJ-1`` and ``adj-1``) cannot both be kept under one key: the one that moved
    money wins (succeeded, then pending, then failed); the others are noted in the events."""
    chosen: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for row in sorted(rows, key=lambda r: (_RANK.get(r["state"], 3), r["attempted_at"])):
        key = canonical(str(row["adjustment_id"]))
        if key in chosen:
            kept = chosen[key]
            notes.append(
                f"version-1 adjustment {row['adjustment_id']!r} of job {row['job']} "
                f"({row['state']}) is the same adjustment as {kept['adjustment_id']!r} of job "
                f"{kept['job']} ({kept['state']}); the latter is kept"
            )
            continue
        attempted = str(row["attempted_at"])
        chosen[key] = {
            **{c: row.get(c) for c in ENTRY_COLUMNS if c in row},
            "batch": "",
            "key": key,
            "run_date": attempted[:10],
            "direction": "debit",
        }
    return list(chosen.values()), notes


def v1_run_row(row: dict[str, Any]) -> dict[str, Any]:
    started = str(row["started_at"])
    return {
        "run_id": row["run_id"],
        "job": row["job"],
        "kind": "dry_run" if row["dry_run"] else "run",
        "run_date": started[:10],
        "started_at": started,
        "mode": "",
        "username": "",
        "host": "",
        "pid": 0,
        "job_file": "",
        "ledger_path": row["ledger_path"],
        "ledger_sha256": row["ledger_sha256"],
        "results_path": "",
        "rows": row["rows"],
        "ended_at": row["ended_at"],
        "exit_code": row["exit_code"],
        "counts": row["counts"],
        "batch": "",
        "api_version": "",
    }


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))  # made once: dumps is hot


def dumps(value: object) -> str:
    """``value`` as compact JSON (what ``json.dumps(value, allow_nan=False, separators=(",",
    ":"))`` gives, without making an encoder each time)."""
    return _ENCODER.encode(value)
