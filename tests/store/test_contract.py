"""The store contract: what every store (SQLite, PostgreSQL) must do, tested the same way.

Round trips, the rules that protect an idempotency key, runs and counts, what the guard keeps,
account checks, the run lock across processes, and many threads writing at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable

import pytest

from ledgerrun.errors import JournalError, LockHeldError
from ledgerrun.store.model import FAILED, PENDING, SUCCEEDED, AccountRecord, Seen, Store
from tests.helpers.store import (
    NONE,
    PARIS,
    T0,
    fail,
    intent,
    ready,
    run,
    sigkill,
    spawn,
    succeed,
    unknown,
)

# --- round trips --------------------------------------------------------------------------------


def test_intent_then_success_round_trips_every_field(store: Store) -> None:
    sent = intent(attempted_at=T0.astimezone(PARIS))  # any zone in, UTC out
    store.record_intent(sent)
    assert store.entries(["adj-1"]) == {"adj-1": dataclasses.replace(sent, attempted_at=T0)}
    done = (T0 + dt.timedelta(seconds=5)).astimezone(PARIS)
    succeed(store, run_id="run-2", request_id="req_9", completed_at=done, attempts=2)
    got = store.entries(["adj-1"])["adj-1"]
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
        assert moment is not None and moment.utcoffset() == dt.timedelta(0)


def test_intent_then_failure_round_trip(store: Store) -> None:
    store.record_intent(intent())
    unknown(store, error_code="network_error", error_message="timed out")
    fail(store, error_code="balance_insufficient", error_message="No funds", request_id="req_2")
    got = store.entries(["adj-1"])["adj-1"]
    assert (got.state, got.error_code, got.error_message, got.request_id) == (
        FAILED,
        "balance_insufficient",
        "No funds",
        "req_2",
    )
    assert (got.completed_at, got.transfer_id, got.payment_id) == (T0, None, None)


def test_an_unknown_outcome_stays_pending_and_notes_the_error(store: Store) -> None:
    store.record_intent(intent())
    unknown(store, run_id="run-3", error_code="lock_timeout", error_message="429", request_id="r")
    got = store.entries(["adj-1"])["adj-1"]
    assert (got.state, got.error_code, got.error_message, got.request_id, got.run_id) == (
        PENDING,
        "lock_timeout",
        "429",
        "r",
        "run-3",
    )
    assert got.completed_at is None and got.idempotency_key == intent().idempotency_key


def test_a_credit_round_trips_with_no_method(store: Store) -> None:
    credit = intent("cr-1", direction="credit", method="", idempotency_key="k-cr")
    store.record_intent(credit)
    assert store.entries(["cr-1"])["cr-1"] == credit


# --- refusals -----------------------------------------------------------------------------------

RECORDS: dict[str, Callable[[Store], None]] = {
    "success": lambda s: succeed(s, "ghost"),
    "failure": lambda s: fail(s, "ghost"),
    "unknown": lambda s: unknown(s, "ghost"),
}


@pytest.mark.parametrize("record", RECORDS.values(), ids=RECORDS.keys())
def test_recording_without_an_intent_raises(store: Store, record: Callable[[Store], None]) -> None:
    store.record_intent(intent("adj-1"))
    with pytest.raises(JournalError, match="no intent"):
        record(store)
    assert set(store.entries(["adj-1", "ghost"])) == {"adj-1"}


def test_a_succeeded_adjustment_cannot_be_sent_or_changed_again(store: Store) -> None:
    store.record_intent(intent())
    succeed(store)
    succeed(store)  # the same ids again: nothing to do
    with pytest.raises(JournalError, match="tr_1"):
        succeed(store, transfer_id="tr_2")
    with pytest.raises(JournalError, match="succeeded already"):
        fail(store)
    with pytest.raises(JournalError, match="succeeded already"):
        unknown(store)
    with pytest.raises(JournalError, match="must not be sent again"):
        store.record_intent(intent(generation=1, idempotency_key="k1"))
    assert store.entries(["adj-1"])["adj-1"].transfer_id == "tr_1"


def test_intent_rules_protect_the_idempotency_key(store: Store) -> None:
    with pytest.raises(JournalError, match="must be pending"):
        store.record_intent(intent(state=FAILED))
    with pytest.raises(JournalError, match="timezone-aware"):
        store.record_intent(intent(attempted_at=dt.datetime(2026, 1, 1)))
    with pytest.raises(JournalError, match="JSON"):
        store.record_intent(intent(request={"amount": object()}))
    store.record_intent(intent(generation=1, idempotency_key="k1"))
    unknown(store, attempts=3)
    with pytest.raises(JournalError, match="higher generation"):
        store.record_intent(intent(generation=1, idempotency_key="other"))
    with pytest.raises(JournalError, match="higher generation"):
        store.record_intent(intent(generation=1, idempotency_key="k1", request={"amount": 1}))
    with pytest.raises(JournalError, match="higher generation"):
        store.record_intent(intent(generation=0))
    # A resumed run records the same intent again: allowed, and attempts never go down.
    store.record_intent(intent(generation=1, idempotency_key="k1", run_id="run-2"))
    got = store.entries(["adj-1"])["adj-1"]
    assert (got.attempts, got.run_id, got.state, got.idempotency_key) == (3, "run-2", PENDING, "k1")


def test_a_failed_adjustment_takes_a_new_generation_with_corrected_values(store: Store) -> None:
    store.record_intent(intent())
    fail(store, request_id="req_1", attempts=1)
    with pytest.raises(JournalError, match="failed already"):
        fail(store)
    corrected = intent(generation=1, idempotency_key="k1", amount_minor=999, account="acct_2")
    store.record_intent(corrected)
    got = store.entries(["adj-1"])["adj-1"]
    assert (got.state, got.generation, got.idempotency_key, got.attempts) == (PENDING, 1, "k1", 1)
    assert (got.amount_minor, got.account) == (999, "acct_2")
    assert (got.error_code, got.request_id, got.completed_at) == (None, None, None)


def test_attempts_add_up_and_cannot_go_down(store: Store) -> None:
    store.record_intent(intent())
    unknown(store, attempts=1)
    unknown(store, attempts=2)
    with pytest.raises(JournalError, match="cannot go down"):
        unknown(store, attempts=-1)
    assert store.entries(["adj-1"])["adj-1"].attempts == 3


def test_a_found_adjustment_is_recorded_once(store: Store) -> None:
    found = intent("found-1", state=SUCCEEDED, transfer_id="tr_f", payment_id="py_f")
    with pytest.raises(JournalError, match="must be succeeded"):
        store.record_found(intent("x"))
    store.record_found(found)
    store.record_found(dataclasses.replace(found, transfer_id="tr_other"))  # known: unchanged
    assert store.entries(["found-1"])["found-1"].transfer_id == "tr_f"
    store.record_intent(intent("failed-1"))
    fail(store, "failed-1")
    store.record_found(dataclasses.replace(found, key="failed-1"))  # done elsewhere meanwhile
    assert store.entries(["failed-1"])["failed-1"].state == SUCCEEDED


def test_a_closed_store_refuses_work_and_closes_twice(open_: Callable[..., Store]) -> None:
    opened = open_()
    opened.close()
    opened.close()
    with pytest.raises(JournalError, match="closed"):
        opened.counts("nightly")


# --- entries, runs, counts ----------------------------------------------------------------------


def test_entries_are_platform_wide_by_canonical_key(store: Store) -> None:
    for n in range(5):
        store.record_intent(intent(f"adj-{n}"))
    store.record_intent(intent("adj-9", job="other"))
    assert set(store.entries(["adj-1", "adj-3", "missing"])) == {"adj-1", "adj-3"}
    assert store.entries([]) == {}
    assert store.entries(["adj-9"])["adj-9"].job == "other"
    with pytest.raises(JournalError, match="not one string"):
        store.entries("adj-1")
    assert {e.key for e in store.iter_entries("nightly")} == {f"adj-{n}" for n in range(5)}
    assert [e.key for e in store.iter_entries("other")] == ["adj-9"]
    assert {e.key for e in store.iter_entries()} == {f"adj-{n}" for n in range(5)} | {"adj-9"}


def test_entries_stream_in_pages_and_filter_by_run_date(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledgerrun.store import journal_sql

    monkeypatch.setattr(journal_sql, "_PAGE", 40)  # pages of 40: the same paths, fewer fsyncs
    for n in range(450):
        date = "2026-11-26" if n % 2 else "2026-11-27"
        store.record_intent(intent(f"k-{n:05d}", run_date=date))
    streamed = list(store.iter_entries("nightly", "2026-11-27"))
    assert len(streamed) == 225 and all(e.run_date == "2026-11-27" for e in streamed)
    assert [e.key for e in streamed] == sorted(e.key for e in streamed)  # across page ends
    assert len({e.key for e in streamed}) == 225  # no row twice at a page boundary
    assert len(store.entries(f"k-{n:05d}" for n in range(0, 450, 3))) == 150  # a generator


def test_entry_facts_are_the_entries_without_their_requests(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledgerrun.store import journal_sql

    monkeypatch.setattr(journal_sql, "_PAGE", 40)
    for n in range(90):
        store.record_intent(intent(f"k-{n:05d}", run_date="2026-11-26" if n % 3 else "2026-11-27"))
    succeed(store, "k-00001", run_id="run-2", request_id="req_9", attempts=2)
    store.record_intent(intent("k-other", job="other"))
    full = store.entries(f"k-{n:05d}" for n in range(90))
    lean = {k: dataclasses.replace(e, request={}) for k, e in full.items()}
    assert store.entry_facts(f"k-{n:05d}" for n in range(90)) == lean
    assert store.entry_facts(["k-other", "missing"])["k-other"].job == "other"
    with pytest.raises(JournalError, match="not one string"):
        store.entry_facts("k-00001")
    streamed = list(store.iter_entry_facts("nightly", "2026-11-26"))
    assert [e.key for e in streamed] == sorted(k for k, e in full.items() if e.run_date
                                               == "2026-11-26")  # fmt: skip
    assert streamed == [lean[e.key] for e in streamed]  # across page ends, no request read
    assert {e.key for e in store.iter_entry_facts()} == {*full, "k-other"}


def test_runs_counts_and_finishing(store: Store) -> None:
    later = run("run-b", started_at=T0 + dt.timedelta(hours=1))
    earlier = run("run-a", kind="dry_run", started_at=T0.astimezone(PARIS))
    store.start_run(later)
    store.start_run(earlier)
    store.start_run(run("run-x", job="other"))
    with pytest.raises(JournalError, match="already holds a run"):
        store.start_run(earlier)
    store.finish_run("run-b", T0 + dt.timedelta(hours=2), 0, {"succeeded": 2, "failed": 1})
    with pytest.raises(JournalError, match="no run ghost"):
        store.finish_run("ghost", T0, 0, {})
    runs = store.runs("nightly")
    assert [r.run_id for r in runs] == ["run-a", "run-b"]  # oldest first
    assert runs[0] == dataclasses.replace(earlier, started_at=T0)
    assert runs[0].dry_run is True and runs[0].ended_at is None and runs[0].counts is None
    ended = (runs[1].ended_at, runs[1].exit_code, runs[1].counts)
    assert ended == (T0 + dt.timedelta(hours=2), 0, {"succeeded": 2, "failed": 1})
    assert (runs[1].username, runs[1].host, runs[1].mode) == ("finance", "cron-1", "sandbox")
    assert store.counts("nightly") == NONE
    for n in range(4):
        store.record_intent(intent(f"adj-{n}", run_date="2026-11-26" if n else "2026-11-25"))
    succeed(store, "adj-0")
    fail(store, "adj-1")
    unknown(store, "adj-2")
    assert store.counts("nightly") == {PENDING: 2, SUCCEEDED: 1, FAILED: 1}
    assert store.counts("nightly", "2026-11-26") == {PENDING: 2, SUCCEEDED: 0, FAILED: 1}
    assert store.counts("other") == NONE


# --- what the guard keeps -----------------------------------------------------------------------


def seen(object_id: str, key: str, created: int = 1_700_000_000) -> Seen:
    return Seen(object_id, key, key.upper(), "nightly", "2026-11-26", "debit", "transfer",
                "acct_1", 500, "usd", created, object_id, "py_" + object_id, 0)  # fmt: skip


def test_listings_keep_what_they_saw_and_their_mark_only_moves_on(store: Store) -> None:
    assert store.high_water("transfers:acct_1") is None
    store.record_listing("transfers:acct_1", [seen("tr_1", "a"), seen("tr_2", "b")], 100, T0)
    store.record_listing("transfers:acct_1", [seen("tr_3", "a"), seen("tr_1", "a")], 50, T0)
    assert store.high_water("transfers:acct_1") == 100
    found = store.seen(["a", "b", "c"])
    assert sorted(s.object_id for s in found["a"]) == ["tr_1", "tr_3"]
    assert [s.object_id for s in found["b"]] == ["tr_2"] and "c" not in found
    assert found["b"][0] == seen("tr_2", "b")
    store.record_listing("charges:ledgerrun", [], 200, T0)
    assert store.high_water("charges:ledgerrun") == 200


def test_account_checks_are_kept_for_reuse(store: Store) -> None:
    old = AccountRecord("acct_old", T0 - dt.timedelta(hours=30), None, "", "usd", "US")
    new = AccountRecord("acct_new", T0, "account_not_eligible", "Standard", "usd", "US")
    store.record_accounts([old, new])
    got = store.account_records(["acct_old", "acct_new", "acct_x"], T0 - dt.timedelta(hours=24))
    assert got == {"acct_new": new}
    store.record_accounts([dataclasses.replace(old, checked_at=T0)])
    assert set(store.account_records(["acct_old"], T0 - dt.timedelta(hours=1))) == {"acct_old"}


# --- the run lock -------------------------------------------------------------------------------

HOLD_LOCK = """
import time
from ledgerrun.store import open_store
store = open_store({location!r})
store.lock("nightly")
print("locked", flush=True)
time.sleep(60)
"""


def test_a_lock_held_by_another_process_is_released_by_sigkill(store: Store, location: str) -> None:
    child = spawn(HOLD_LOCK.format(location=location))
    try:
        assert ready(child) == "locked"
        with pytest.raises(LockHeldError, match=rf"another run of job nightly .*pid {child.pid}\b"):
            store.lock("nightly")
        holder = store.lock_holder("nightly")
        assert holder is not None and holder["pid"] == child.pid
        store.lock("weekly")  # another job's lock is another lock
    finally:
        sigkill(child)
    store.lock("nightly")  # the dead process's lock went with it
    assert store.lock_holder("nightly") is None  # held by ourselves: no other holder


def test_two_stores_in_one_process_exclude_each_other(open_: Callable[..., Store]) -> None:
    first, second = open_(), open_()
    first.lock("nightly")
    first.lock("nightly")  # again, same job: nothing to do
    with pytest.raises(LockHeldError, match="on host"):
        second.lock("nightly")
    first.close()
    second.lock("nightly")


# --- many threads -------------------------------------------------------------------------------


def test_sixteen_threads_writing_at_once_stay_consistent(store: Store) -> None:
    threads, per_thread = 16, 120
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for n in range(per_thread):
                key = f"adj-{t}-{n}"
                store.record_intent(intent(key, idempotency_key=f"key-{key}"))
                if n % 3 == 0:
                    succeed(store, key, transfer_id=f"tr-{key}", attempts=1)
                elif n % 3 == 1:
                    fail(store, key, attempts=1)
                else:
                    unknown(store, key, attempts=1)
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
    assert store.counts("nightly") == {
        SUCCEEDED: succeeded,
        FAILED: failed,
        PENDING: total - succeeded - failed,
    }
    every = {e.key: e for e in store.iter_entries("nightly")}
    assert len(every) == total and all(e.attempts == 1 for e in every.values())
    assert every["adj-15-116"].state == PENDING and every["adj-15-0"].transfer_id == "tr-adj-15-0"
