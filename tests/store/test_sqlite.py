"""What only the SQLite store does: a WAL file that survives SIGKILL, damaged, locked, foreign,
future and read-only files, a folder we may not write, the version-1 journal brought forward,
and consistent backups."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

import pytest

from ledgerrun.errors import JournalError, LockHeldError
from ledgerrun.store.model import PENDING, REFUND, SCHEMA_VERSION, SUCCEEDED
from ledgerrun.store.sqlite import SQLiteStore
from tests.helpers.store import (
    NONE,
    T0,
    intent,
    ready,
    sigkill,
    spawn,
    succeed,
    unknown,
    write_v1,
)
from tests.store.test_contract_more import reversal


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "journal.sqlite"


def test_a_new_journal_is_wal_with_the_current_schema(path: Path) -> None:
    SQLiteStore.open(path).close()  # also creates the missing parent directory
    with contextlib.closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        version = raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert version == (str(SCHEMA_VERSION),)
    assert {"meta", "runs", "adjustments", "events", "seen", "listings"} <= tables


def test_every_change_is_kept_in_the_append_only_events(path: Path) -> None:
    with contextlib.closing(SQLiteStore.open(path)) as opened:
        opened.record_intent(intent())
        unknown(opened, attempts=1)
        succeed(opened)
    with contextlib.closing(sqlite3.connect(path)) as raw:
        kinds = raw.execute("SELECT kind, idempotency_key FROM events ORDER BY seq").fetchall()
    key = intent().idempotency_key
    assert kinds == [("intent", key), ("unknown", key), ("success", key)]


def test_a_refund_settled_is_in_the_events_only_where_a_refund_changed(path: Path) -> None:
    refund = reversal("rev-refund", method=REFUND, payment_id="py_1")
    with contextlib.closing(SQLiteStore.open(path)) as opened:
        opened.record_reversal_intent(reversal("rev-transfer"))
        opened.record_reversal_intent(refund)
        for key in ("rev-transfer", "rev-refund"):  # only the second is a refund
            opened.settle_refund(key, status="succeeded", reversal_object_id="trr_9", at=T0)
        by_transfer = opened.reversal_entries(["rev-transfer"])["rev-transfer"]
    assert by_transfer.reversal_object_id is None  # a reversal by transfer is untouched
    with contextlib.closing(sqlite3.connect(path)) as raw:
        settled = raw.execute(
            "SELECT idempotency_key FROM events WHERE kind = 'reversal_refund_settled'"
        ).fetchall()
    assert settled == [(refund.idempotency_key,)]


def test_each_connection_keeps_one_durability_and_intents_commit_on_the_one_that_waits(
    path: Path,
) -> None:
    with contextlib.closing(SQLiteStore.open(path)) as store:
        assert store._durable is not None and store._fast is not None and store._read is not None
        assert store._durable.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert store._fast.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert store._read.execute("PRAGMA query_only").fetchone() == (1,)
        durable: list[str] = []
        fast: list[str] = []
        store._durable.set_trace_callback(durable.append)
        store._fast.set_trace_callback(fast.append)
        store.record_intent(intent())
        succeed(store)
    assert any(s.startswith("INSERT INTO adjustments") for s in durable)
    assert any(s.startswith("UPDATE adjustments") for s in fast)
    assert not any(s.startswith("UPDATE adjustments") for s in durable)
    assert not any("synchronous" in s for s in durable + fast)  # never switched


WRITE_INTENT_THEN_WAIT = """
import time
from pathlib import Path
from ledgerrun.store.sqlite import SQLiteStore
from tests.helpers.store import intent
store = SQLiteStore.open(Path({path!r}))
store.lock("nightly")
store.record_intent(intent("adj-7", idempotency_key="key-7"))
print("recorded", flush=True)
time.sleep(60)
"""


def test_an_intent_survives_sigkill_right_after_it_is_recorded(path: Path) -> None:
    child = spawn(WRITE_INTENT_THEN_WAIT.format(path=str(path)))
    try:
        assert ready(child) == "recorded"
    finally:
        sigkill(child)
    assert Path(f"{path}-wal").exists()  # never checkpointed: the reopen recovers from the WAL
    with contextlib.closing(SQLiteStore.open(path)) as reopened:
        reopened.lock("nightly")
        got = reopened.entries(["adj-7"])["adj-7"]
    assert (got.state, got.idempotency_key, got.request) == (
        PENDING,
        "key-7",
        intent("adj-7").request,
    )


HOLD_EXCLUSIVE = """
import sqlite3, time
connection = sqlite3.connect({path!r}, isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
time.sleep(60)
"""


def test_a_database_locked_by_another_process_is_a_journal_error(path: Path) -> None:
    opened = SQLiteStore.open(path, busy_timeout_s=0.5)
    child = spawn(HOLD_EXCLUSIVE.format(path=str(path)))
    try:
        assert ready(child) == "held"
        started = time.monotonic()
        with pytest.raises(JournalError, match="locked by another process") as caught:
            opened.record_intent(intent())
        assert time.monotonic() - started < 5
        assert not isinstance(caught.value, LockHeldError)
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    finally:
        sigkill(child)
    opened.record_intent(intent())  # the failed transaction was rolled back; all still works
    assert opened.counts("nightly")[PENDING] == 1
    opened.close()


def _real_journal_bytes(tmp_path: Path) -> bytes:
    real = tmp_path / "real.sqlite"
    opened = SQLiteStore.open(real)
    for n in range(50):
        opened.record_intent(intent(f"adj-{n}"))
    opened.close()  # the last close checkpoints the WAL into the file
    assert not Path(f"{real}-wal").exists()
    return real.read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "random", "text"])
@pytest.mark.parametrize("create", [True, False])
def test_a_damaged_file_is_a_journal_error(tmp_path: Path, damage: str, create: bool) -> None:
    content = {
        "truncated": lambda: _real_journal_bytes(tmp_path)[:1000],
        "random": lambda: os.urandom(8192),
        "text": lambda: b"adjustment_id,amount\nadj-1,12.34\n" * 40,
    }[damage]()
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(content)
    with pytest.raises(JournalError) as caught:  # a sqlite3 error would not match
        SQLiteStore.open(broken, create=create)
    message = str(caught.value)
    assert str(broken) in message and "damaged" in message and "backup" in message
    assert broken.read_bytes() == content  # left exactly as found


def test_an_existing_empty_file_is_never_overwritten(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(JournalError, match="holds no journal"):
        SQLiteStore.open(empty)
    assert empty.read_bytes() == b""


OPEN_WHEN_TOLD = """
import os, time
from pathlib import Path
from ledgerrun.store.sqlite import SQLiteStore
print("ready", flush=True)
while not os.path.exists({go!r}):
    time.sleep(0.001)
store = SQLiteStore.open(Path({path!r}))
print(store.counts("nightly"), flush=True)
store.close()
"""


def test_first_runs_started_together_all_open_one_journal(path: Path, tmp_path: Path) -> None:
    # Two first runs started at once: the one that lost the race to create the file used to find
    # it empty ("holds no journal") and stop. A journal is now made aside and linked into place.
    go = tmp_path / "go"
    for _ in range(3):
        if path.exists():
            path.unlink()
        go.unlink(missing_ok=True)
        children = [spawn(OPEN_WHEN_TOLD.format(go=str(go), path=str(path))) for _ in range(6)]
        assert {ready(child) for child in children} == {"ready"}
        go.touch()
        for child in children:
            assert child.wait(timeout=30) == 0, child.stderr.read() if child.stderr else ""
        with contextlib.closing(sqlite3.connect(path)) as conn:
            made = conn.execute("SELECT count(*) FROM meta WHERE key = 'created_at'").fetchone()
        assert made == (1,)
        assert sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".new")) == []


def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "app.sqlite"
    with contextlib.closing(sqlite3.connect(foreign)) as raw:
        raw.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(JournalError, match="not a ledgerrun journal"):
        SQLiteStore.open(foreign)


def test_a_missing_file_with_create_false_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "j.sqlite"
    with pytest.raises(JournalError, match="no journal at"):
        SQLiteStore.open(missing, create=False)
    with pytest.raises(JournalError, match="no journal at"):
        SQLiteStore.open(missing, readonly=True)
    assert not missing.parent.exists()


def test_a_journal_from_a_newer_version_is_refused(path: Path) -> None:
    SQLiteStore.open(path).close()
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(JournalError, match=r"newer ledgerrun \(schema version 99"):
        SQLiteStore.open(path)
    with pytest.raises(JournalError, match="newer"):
        SQLiteStore.open(path, readonly=True)


def test_a_read_only_journal_reads_but_never_writes_or_locks(path: Path) -> None:
    writer = SQLiteStore.open(path)
    writer.record_intent(intent())
    writer.lock("nightly")  # a run is going on
    reader = SQLiteStore.open(path, readonly=True)
    try:
        assert reader.counts("nightly") == NONE | {PENDING: 1}
        with pytest.raises(JournalError, match="read-only"):
            unknown(reader, attempts=1)
        with pytest.raises(JournalError, match="read-only"):
            reader.lock("nightly")
        assert reader.lock_holder("nightly") is not None  # it can tell a run is going on
    finally:
        reader.close()
        writer.close()


def test_a_journal_in_a_read_only_folder_can_be_read_even_as_root(path: Path) -> None:
    """Root ignores permissions, so the read-only folder is simulated by a missing -shm that
    cannot be made: an immutable read of the file still answers."""
    with contextlib.closing(SQLiteStore.open(path)) as opened:
        opened.record_intent(intent())
    (path.parent / "journal.sqlite-shm").unlink(missing_ok=True)
    with contextlib.closing(SQLiteStore.open(path, readonly=True)) as reader:
        assert reader.counts("nightly")[PENDING] == 1


# --- version 1 journals -------------------------------------------------------------------------


def test_a_version_1_journal_is_brought_forward_keeping_every_key(path: Path) -> None:
    write_v1(
        path,
        [
            ("nightly", "0000101", "succeeded"),
            ("nightly", "ADJ-2", "pending"),
            ("weekly", "adj-2", "failed"),  # the same adjustment, canonically: pending wins
            ("weekly", "W-9", "failed"),
        ],
    )
    with contextlib.closing(SQLiteStore.open(path)) as store:
        got = store.entries(["101", "adj-2", "w-9"])
        assert got["101"].state == SUCCEEDED and got["101"].transfer_id == "tr_0000101"
        assert got["101"].adjustment_id == "0000101" and got["101"].run_date == "2026-11-25"
        pending = got["adj-2"]
        assert (pending.state, pending.job, pending.idempotency_key) == (
            PENDING,
            "nightly",
            "ledgerrun:nightly:0:ADJ-2",  # resent only under its recorded version-1 key
        )
        assert got["w-9"].direction == "debit" and got["w-9"].method == "transfer"
        assert store.legacy_groups() == ["nightly", "weekly"]
        runs = store.runs("nightly")
        assert [(r.run_id, r.kind, r.run_date, r.exit_code) for r in runs] == [
            ("r1", "run", "2026-11-25", 1)
        ]
    assert (path.parent / "journal.sqlite.v1-backup").exists()
    with contextlib.closing(sqlite3.connect(path)) as raw:
        version = raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        notes = raw.execute("SELECT detail FROM events WHERE kind = 'migration'").fetchall()
    assert version == (str(SCHEMA_VERSION),)
    assert len(notes) == 1 and "adj-2" in notes[0][0]
    SQLiteStore.open(path).close()  # opening again changes nothing


def test_a_version_1_journal_is_not_brought_forward_by_a_read_only_open(path: Path) -> None:
    write_v1(path, [("nightly", "A", "succeeded")])
    with pytest.raises(JournalError, match=r"ledgerrun 0\.1"):
        SQLiteStore.open(path, readonly=True)


# --- backups ------------------------------------------------------------------------------------


def test_a_backup_holds_the_commits_still_in_the_wal(path: Path, tmp_path: Path) -> None:
    store = SQLiteStore.open(path)
    try:
        store.lock("nightly")
        for n in range(20):
            store.record_intent(intent(f"adj-{n}"))
        assert Path(f"{path}-wal").stat().st_size > 0
        plain_copy = tmp_path / "cp.sqlite"
        plain_copy.write_bytes(path.read_bytes())  # what `cp` would do: the WAL is left behind
        backup = tmp_path / "backup.sqlite"
        store.backup(backup)
    finally:
        store.close()
    with contextlib.closing(SQLiteStore.open(backup, readonly=True)) as copy:
        assert copy.counts("nightly")[PENDING] == 20
    with contextlib.closing(sqlite3.connect(plain_copy)) as raw:
        rows = raw.execute("SELECT count(*) FROM adjustments").fetchone()
    assert rows == (0,)  # the bare copy lost every intent that was still in the -wal
