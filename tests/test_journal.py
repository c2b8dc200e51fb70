"""Tests for the SQLite store: round trips, refusals, the run lock across processes, durability
across SIGKILL, damaged and locked files, and many threads writing at once. Every test uses a
real SQLite file under tmp_path."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import os
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ledgerrun.errors import JournalError, LockHeldError
from ledgerrun.store.sqlite import FAILED, PENDING, SUCCEEDED, Entry, Run, SQLiteJournal
from tests.support import ROOT

T0 = dt.datetime(2026, 11, 26, 9, 30, 0, 123456, tzinfo=dt.UTC)
PARIS = dt.timezone(dt.timedelta(hours=1))
NONE = {PENDING: 0, SUCCEEDED: 0, FAILED: 0}


def intent(adjustment_id: str = "adj-1", *, job: str = "nightly", **changes: Any) -> Entry:
    entry = Entry(
        job=job,
        adjustment_id=adjustment_id,
        account="acct_1Abc",
        currency="eur",
        amount_minor=12345,
        method="transfer",
        state=PENDING,
        generation=0,
        idempotency_key=f"ledgerrun:{job}:{adjustment_id}:0",
        request={"amount": 12345, "currency": "eur", "metadata": {"adjustment_id": adjustment_id}},
        attempts=0,
        attempted_at=T0,
        attempted_at_server=T0 + dt.timedelta(seconds=2),
        run_id="run-1",
    )
    return dataclasses.replace(entry, **changes)


def succeed(journal: SQLiteJournal, adjustment_id: str = "adj-1", **changes: Any) -> None:
    args = dict(run_id="run-1", transfer_id="tr_1", payment_id="py_1", request_id=None)
    journal.record_success("nightly", adjustment_id, **(args | {"completed_at": T0} | changes))


def fail(journal: SQLiteJournal, adjustment_id: str = "adj-1", **changes: Any) -> None:
    args = dict(run_id="run-1", error_code="card_declined", error_message="m", request_id=None)
    journal.record_failure("nightly", adjustment_id, **(args | {"completed_at": T0} | changes))


def unknown(journal: SQLiteJournal, adjustment_id: str = "adj-1", **changes: Any) -> None:
    args = dict(run_id="run-1", error_code="api_error", error_message="m", request_id=None)
    journal.record_unknown("nightly", adjustment_id, **(args | changes))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "nightly.journal.sqlite"


@pytest.fixture
def journal(path: Path) -> Iterator[SQLiteJournal]:
    opened = SQLiteJournal.open(path)
    yield opened
    opened.close()


def spawn(code: str) -> subprocess.Popen[str]:
    """Start a Python child running ``code``; it prints one line when it is ready."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    command = [sys.executable, "-c", code]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )


def ready(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None and child.stderr is not None
    if not select.select([child.stdout], [], [], 20)[0]:
        child.kill()
        pytest.fail("the child process never became ready")
    line = child.stdout.readline().strip()
    assert line, f"the child process failed: {child.stderr.read()}"
    return line


def sigkill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL


# --- round trips --------------------------------------------------------------------------------


def test_a_new_journal_is_wal_with_a_schema_version(path: Path) -> None:
    SQLiteJournal.open(path).close()  # also creates the missing parent directory
    with contextlib.closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        version = raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert version == ("1",)
    assert {"meta", "runs", "adjustments", "events"} <= tables


def test_intent_then_success_round_trips_every_field(journal: SQLiteJournal) -> None:
    sent = intent(attempted_at=T0.astimezone(PARIS))  # any zone in, UTC out
    journal.record_intent(sent)
    assert journal.entries("nightly") == {"adj-1": dataclasses.replace(sent, attempted_at=T0)}
    done = (T0 + dt.timedelta(seconds=5)).astimezone(PARIS)
    succeed(journal, run_id="run-2", request_id="req_9", completed_at=done, attempts=2)
    got = journal.entries("nightly")["adj-1"]
    assert got == dataclasses.replace(
        sent,
        state=SUCCEEDED,
        attempts=2,
        transfer_id="tr_1",
        payment_id="py_1",
        request_id="req_9",
        completed_at=T0 + dt.timedelta(seconds=5),
        run_id="run-2",
        attempted_at=T0,
    )
    for moment in (got.attempted_at, got.attempted_at_server, got.completed_at):
        assert moment is not None and moment.tzinfo is dt.UTC


def test_intent_then_failure_round_trip(journal: SQLiteJournal) -> None:
    journal.record_intent(intent())
    unknown(journal, error_code="api_connection_error", error_message="timed out")
    fail(journal, error_code="insufficient_funds", error_message="No funds", request_id="req_2")
    got = journal.entries("nightly")["adj-1"]
    assert (got.state, got.error_code, got.error_message, got.request_id) == (
        FAILED,
        "insufficient_funds",
        "No funds",
        "req_2",
    )
    assert (got.completed_at, got.transfer_id, got.payment_id) == (T0, None, None)


def test_an_unknown_outcome_stays_pending_and_notes_the_error(journal: SQLiteJournal) -> None:
    journal.record_intent(intent())
    unknown(journal, run_id="run-3", error_code="lock_timeout", error_message="429", request_id="r")
    got = journal.entries("nightly")["adj-1"]
    assert (got.state, got.error_code, got.error_message, got.request_id, got.run_id) == (
        PENDING,
        "lock_timeout",
        "429",
        "r",
        "run-3",
    )
    assert got.completed_at is None and got.idempotency_key == intent().idempotency_key


def test_every_change_is_kept_in_the_append_only_events(path: Path) -> None:
    with contextlib.closing(SQLiteJournal.open(path)) as opened:
        opened.record_intent(intent())
        unknown(opened, attempts=1)
        succeed(opened)
    with contextlib.closing(sqlite3.connect(path)) as raw:
        kinds = raw.execute("SELECT kind, idempotency_key FROM events ORDER BY seq").fetchall()
    key = intent().idempotency_key
    assert kinds == [("intent", key), ("unknown", key), ("success", key)]


# --- refusals -----------------------------------------------------------------------------------

RECORDS: dict[str, Callable[[SQLiteJournal], None]] = {
    "success": lambda j: succeed(j, "ghost"),
    "failure": lambda j: fail(j, "ghost"),
    "unknown": lambda j: unknown(j, "ghost"),
}


@pytest.mark.parametrize("record", RECORDS.values(), ids=RECORDS.keys())
def test_recording_without_an_intent_raises(
    journal: SQLiteJournal, record: Callable[[SQLiteJournal], None]
) -> None:
    journal.record_intent(intent("adj-1"))
    with pytest.raises(JournalError, match="no intent"):
        record(journal)
    assert set(journal.entries("nightly")) == {"adj-1"}


def test_a_succeeded_adjustment_cannot_be_sent_or_changed_again(journal: SQLiteJournal) -> None:
    journal.record_intent(intent())
    succeed(journal)
    succeed(journal)  # the same ids again: nothing to do
    with pytest.raises(JournalError, match="tr_1"):
        succeed(journal, transfer_id="tr_2")
    with pytest.raises(JournalError, match="succeeded already"):
        fail(journal)
    with pytest.raises(JournalError, match="succeeded already"):
        unknown(journal)
    with pytest.raises(JournalError, match="must not be sent again"):
        journal.record_intent(intent(generation=1, idempotency_key="k1"))
    assert journal.entries("nightly")["adj-1"].transfer_id == "tr_1"


def test_intent_rules_protect_the_idempotency_key(journal: SQLiteJournal) -> None:
    with pytest.raises(JournalError, match="must be pending"):
        journal.record_intent(intent(state=FAILED))
    with pytest.raises(JournalError, match="timezone-aware"):
        journal.record_intent(intent(attempted_at=dt.datetime(2026, 1, 1)))
    with pytest.raises(JournalError, match="JSON"):
        journal.record_intent(intent(request={"amount": object()}))
    journal.record_intent(intent(generation=1, idempotency_key="k1"))
    unknown(journal, attempts=3)
    with pytest.raises(JournalError, match="higher generation"):
        journal.record_intent(intent(generation=1, idempotency_key="other"))
    with pytest.raises(JournalError, match="higher generation"):
        journal.record_intent(intent(generation=1, idempotency_key="k1", request={"amount": 1}))
    with pytest.raises(JournalError, match="higher generation"):
        journal.record_intent(intent(generation=0))
    # A resumed run records the same intent again: allowed, and attempts never go down.
    journal.record_intent(intent(generation=1, idempotency_key="k1", run_id="run-2"))
    got = journal.entries("nightly")["adj-1"]
    assert (got.attempts, got.run_id, got.state, got.idempotency_key) == (3, "run-2", PENDING, "k1")


def test_a_failed_adjustment_takes_a_new_generation(journal: SQLiteJournal) -> None:
    journal.record_intent(intent())
    fail(journal, request_id="req_1", attempts=1)
    with pytest.raises(JournalError, match="failed already"):
        fail(journal)
    journal.record_intent(intent(generation=1, idempotency_key="k1"))
    got = journal.entries("nightly")["adj-1"]
    assert (got.state, got.generation, got.idempotency_key, got.attempts) == (PENDING, 1, "k1", 1)
    assert (got.error_code, got.request_id, got.completed_at) == (None, None, None)


def test_attempts_add_up_and_cannot_go_down(journal: SQLiteJournal) -> None:
    journal.record_intent(intent())
    unknown(journal, attempts=1)
    unknown(journal, attempts=2)
    with pytest.raises(JournalError, match="cannot go down"):
        unknown(journal, attempts=-1)
    assert journal.entries("nightly")["adj-1"].attempts == 3


def test_a_closed_journal_refuses_work_and_closes_twice(path: Path) -> None:
    opened = SQLiteJournal.open(path)
    opened.close()
    opened.close()
    with pytest.raises(JournalError, match="closed"):
        opened.counts("nightly")


# --- entries, runs, counts ----------------------------------------------------------------------


def test_entries_filter_by_ids_and_job(journal: SQLiteJournal) -> None:
    for n in range(5):
        journal.record_intent(intent(f"adj-{n}"))
    journal.record_intent(intent("adj-0", job="other"))
    assert set(journal.entries("nightly", ["adj-1", "adj-3", "missing"])) == {"adj-1", "adj-3"}
    assert journal.entries("nightly", []) == {}
    assert journal.entries("other")["adj-0"].job == "other"
    assert journal.entries("nobody") == {}
    with pytest.raises(JournalError, match="not one string"):
        journal.entries("nightly", "adj-1")


def test_entries_cope_with_100_000_ids(path: Path) -> None:
    with contextlib.closing(SQLiteJournal.open(path)) as opened:
        opened.record_intent(intent("seed"))
    n = 100_000
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:  # clone the seed row, fast
        columns = [r[1] for r in raw.execute("PRAGMA table_info(adjustments)")]
        select_ = ", ".join("'adj-' || x" if c == "adjustment_id" else c for c in columns)
        raw.execute(
            f"INSERT INTO adjustments WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1"
            f" FROM s WHERE x < {n - 1}) SELECT {select_} FROM s, adjustments"
            " WHERE adjustment_id = 'seed'"
        )
    with contextlib.closing(SQLiteJournal.open(path)) as opened:
        every = opened.entries("nightly", (f"adj-{i}" for i in range(n)))  # a generator
        assert len(every) == n and every["adj-99999"].amount_minor == 12345
        odd = opened.entries("nightly", [f"adj-{i}" for i in range(1, n, 2)] + ["nope"])
        assert len(odd) == n // 2 and "adj-0" not in odd and "adj-99999" in odd
        # More ids than SQLite binds in one statement: only chunked queries get through.
        with contextlib.closing(sqlite3.connect(":memory:")) as memory:
            limit = memory.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        absent = (f"absent-{i}" for i in range(limit + 1000))
        assert set(opened.entries("nightly", itertools.chain(absent, ["adj-7"]))) == {"adj-7"}


def test_runs_counts_and_finishing(journal: SQLiteJournal) -> None:
    later = Run("run-b", "nightly", T0 + dt.timedelta(hours=1), "in.csv", "ab" * 32, 3, False)
    earlier = Run("run-a", "nightly", T0.astimezone(PARIS), "in.csv", "cd" * 32, 3, True)
    journal.start_run(later)
    journal.start_run(earlier)
    journal.start_run(Run("run-x", "other", T0, "x.csv", "ef" * 32, 1, False))
    with pytest.raises(JournalError, match="already holds a run"):
        journal.start_run(earlier)
    journal.finish_run("run-b", T0 + dt.timedelta(hours=2), 0, {"succeeded": 2, "failed": 1})
    with pytest.raises(JournalError, match="no run ghost"):
        journal.finish_run("ghost", T0, 0, {})
    runs = journal.runs("nightly")
    assert [r.run_id for r in runs] == ["run-a", "run-b"]  # oldest first
    assert runs[0] == dataclasses.replace(earlier, started_at=T0)
    assert runs[0].dry_run is True and runs[0].ended_at is None and runs[0].counts is None
    ended = (runs[1].ended_at, runs[1].exit_code, runs[1].counts)
    assert ended == (T0 + dt.timedelta(hours=2), 0, {"succeeded": 2, "failed": 1})
    assert journal.counts("nightly") == NONE
    for n in range(4):
        journal.record_intent(intent(f"adj-{n}"))
    succeed(journal, "adj-0")
    fail(journal, "adj-1")
    unknown(journal, "adj-2")
    assert journal.counts("nightly") == {PENDING: 2, SUCCEEDED: 1, FAILED: 1}
    assert journal.counts("other") == NONE


# --- the run lock -------------------------------------------------------------------------------

HOLD_LOCK = """
import time
from pathlib import Path
from ledgerrun.store.sqlite import SQLiteJournal
journal = SQLiteJournal.open(Path({path!r}))
journal.lock("nightly")
print("locked", flush=True)
time.sleep(60)
"""


def test_a_lock_held_by_another_process_is_released_by_sigkill(path: Path) -> None:
    contender = SQLiteJournal.open(path)
    child = spawn(HOLD_LOCK.format(path=str(path)))
    try:
        assert ready(child) == "locked"
        with pytest.raises(LockHeldError, match=rf"another run of job nightly .*pid {child.pid}\b"):
            contender.lock("nightly")
    finally:
        sigkill(child)
    contender.lock("nightly")  # the kernel released the dead process's flock
    contender.close()


def test_two_journals_in_one_process_exclude_each_other(path: Path) -> None:
    first, second = SQLiteJournal.open(path), SQLiteJournal.open(path)
    first.lock("nightly")
    first.lock("nightly")  # again, same job: nothing to do
    with pytest.raises(JournalError, match="already locked for job nightly"):
        first.lock("weekly")
    with pytest.raises(LockHeldError, match=rf"pid {os.getpid()} on host"):
        second.lock("nightly")
    first.close()
    second.lock("nightly")
    second.close()


# --- durability and other processes -------------------------------------------------------------

WRITE_INTENT_THEN_WAIT = """
import time
from pathlib import Path
from ledgerrun.store.sqlite import SQLiteJournal
from tests.test_journal import intent
journal = SQLiteJournal.open(Path({path!r}))
journal.lock("nightly")
journal.record_intent(intent("adj-7", idempotency_key="key-7"))
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
    with contextlib.closing(SQLiteJournal.open(path)) as reopened:
        reopened.lock("nightly")
        got = reopened.entries("nightly")["adj-7"]
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
    opened = SQLiteJournal.open(path, busy_timeout_s=0.5)
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


# --- damaged, missing, foreign and future files -------------------------------------------------


def _real_journal_bytes(tmp_path: Path) -> bytes:
    real = tmp_path / "real.sqlite"
    opened = SQLiteJournal.open(real)
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
        SQLiteJournal.open(broken, create=create)
    message = str(caught.value)
    assert str(broken) in message and "damaged" in message and "backup" in message
    assert broken.read_bytes() == content  # left exactly as found


def test_an_existing_empty_file_is_never_overwritten(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(JournalError, match="holds no journal"):
        SQLiteJournal.open(empty)
    assert empty.read_bytes() == b""


def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "app.sqlite"
    with contextlib.closing(sqlite3.connect(foreign)) as raw:
        raw.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(JournalError, match="not a ledgerrun journal"):
        SQLiteJournal.open(foreign)


def test_a_missing_file_with_create_false_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "j.sqlite"
    with pytest.raises(JournalError, match="no journal at"):
        SQLiteJournal.open(missing, create=False)
    with pytest.raises(JournalError, match="no journal at"):
        SQLiteJournal.open_readonly(missing)
    assert not missing.parent.exists()


def test_a_journal_from_a_newer_version_is_refused(path: Path) -> None:
    SQLiteJournal.open(path).close()
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(JournalError, match=r"newer ledgerrun \(schema version 99"):
        SQLiteJournal.open(path)
    with pytest.raises(JournalError, match="newer"):
        SQLiteJournal.open_readonly(path)


def test_a_read_only_journal_reads_but_never_writes_or_locks(path: Path) -> None:
    writer = SQLiteJournal.open(path)
    writer.record_intent(intent())
    writer.lock("nightly")  # a run is going on
    reader = SQLiteJournal.open_readonly(path)
    try:
        assert reader.counts("nightly") == NONE | {PENDING: 1}
        with pytest.raises(JournalError, match="read-only"):
            unknown(reader, attempts=1)
        with pytest.raises(JournalError, match="read-only"):
            reader.lock("nightly")
    finally:
        reader.close()
        writer.close()


# --- many threads -------------------------------------------------------------------------------


def test_sixteen_threads_writing_at_once_stay_consistent(journal: SQLiteJournal) -> None:
    threads, per_thread = 16, 200
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for n in range(per_thread):
                aid = f"adj-{t}-{n}"
                journal.record_intent(intent(aid, idempotency_key=f"key-{aid}"))
                if n % 3 == 0:
                    succeed(journal, aid, transfer_id=f"tr-{aid}", attempts=1)
                elif n % 3 == 1:
                    fail(journal, aid, attempts=1)
                else:
                    unknown(journal, aid, attempts=1)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    total = threads * per_thread
    succeeded = threads * len(range(0, per_thread, 3))
    failed = threads * len(range(1, per_thread, 3))
    pending = total - succeeded - failed
    assert journal.counts("nightly") == {SUCCEEDED: succeeded, FAILED: failed, PENDING: pending}
    every = journal.entries("nightly")
    assert len(every) == total and all(e.attempts == 1 for e in every.values())
    assert every["adj-15-198"].transfer_id == "tr-adj-15-198"
