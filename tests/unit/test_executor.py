"""The executor (ledgerrun.send.execute) and the engine under it, on the real Stripe client
(pacing, retries, breaker) over the in-memory gateway, and the fake store: how rows are
scheduled, what each kind of answer leaves in the results and the journal, and how a run
stops."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from ledgerrun import errors
from ledgerrun.events import Events, RunStopping
from ledgerrun.send.execute import Executor, Item
from ledgerrun.send.keys import idempotency_key, metadata
from ledgerrun.store.model import FAILED, PENDING, SUCCEEDED, Entry, Seen
from ledgerrun.stripe.shapes import Movement
from ledgerrun.vocab import Status
from tests.helpers.constants import PLATFORM, RUN_DATE, A, B, C
from tests.helpers.fakes import DEFAULT, Call, FakeClient, FakeStore, as_journal, movement

DAY = RUN_DATE.isoformat()
WAIT = 2.0  # seconds a thread may wait for another before the test fails


def item(index: int, account: str = A, amount: int = 100, **changes: Any) -> Item:
    """Row ``index`` of a ledger: adjustment ``ADJ-<index>``, a debit by transfer."""
    adjustment_id = f"ADJ-{index}"
    request = {
        "amount": amount,
        "currency": "usd",
        "destination": PLATFORM,
        "transfer_group": "ledgerrun",
        "metadata": metadata(job="nightly", adjustment_id=adjustment_id, account=A, run_date=DAY),
    }
    made = Item(index, index + 2, adjustment_id.lower(), adjustment_id, account, "usd", amount,
                "debit", "transfer", request)  # fmt: skip
    return dataclasses.replace(made, **changes)


def run(
    client: FakeClient,
    store: FakeStore,
    items: Sequence[Item],
    *,
    concurrency: int = 4,
    found: dict[str, Seen] | None = None,
    executor: Executor | None = None,
) -> Mapping[int, Any]:
    executor = executor or make(client, store, concurrency=concurrency, found=found)
    return executor.run(items, store.entries(i.key for i in items))


def make(
    client: FakeClient, store: FakeStore, *, concurrency: int = 4, found: Any = None
) -> Executor:
    return Executor(job="nightly", run_id="run-2", run_date=DAY, client=client,
                    store=as_journal(store), clock=client.clock, events=Events(),
                    concurrency=concurrency,
                    found=found)  # fmt: skip


def raised(error: errors.StripeError, attempts: int = 1) -> errors.StripeError:
    """``error`` as the answer to ``attempts`` requests in a row (the gateway repeats it)."""
    return error.after(attempts)


# --- scheduling --------------------------------------------------------------------------------


def test_rows_of_one_account_go_one_at_a_time_in_ledger_order() -> None:
    client, store = FakeClient(), FakeStore()
    lock = threading.Lock()
    active: Counter[str] = Counter()
    most: Counter[str] = Counter()

    def watched(call: Call) -> Any:
        with lock:
            active[call.subject] += 1
            most[call.subject] = max(most[call.subject], active[call.subject])
        threading.Event().wait(0.001)  # give another thread of the same account its chance
        with lock:
            active[call.subject] -= 1
        return DEFAULT

    for _ in range(6):
        client.script("debit", watched)
    items = [item(0, A), item(1, B), item(2, A), item(3, A), item(4, B), item(5, A)]
    outcomes = run(client, store, items, concurrency=4)
    assert {o.status for o in outcomes.values()} == {Status.SUCCEEDED}
    assert most == {A: 1, B: 1}
    sent = [(c.subject, c.args[2]["metadata"]["ledgerrun_adjustment_id"]) for c in client.calls]
    assert [i for a, i in sent if a == A] == ["ADJ-0", "ADJ-2", "ADJ-3", "ADJ-5"]
    assert [i for a, i in sent if a == B] == ["ADJ-1", "ADJ-4"]


def test_accounts_are_sent_in_parallel() -> None:
    client, store = FakeClient(), FakeStore()
    started = {A: threading.Event(), B: threading.Event()}
    met: dict[str, bool] = {}

    def meet(call: Call) -> Any:
        started[call.subject].set()
        other = B if call.subject == A else A
        met[call.subject] = started[other].wait(WAIT)  # only another thread can set it
        return DEFAULT

    client.script("debit", meet, meet)
    outcomes = run(client, store, [item(0, A), item(1, B)], concurrency=2)
    assert met == {A: True, B: True}
    assert [o.status for o in outcomes.values()] == [Status.SUCCEEDED] * 2


def test_with_one_worker_the_account_with_most_rows_goes_first() -> None:
    client, store = FakeClient(), FakeStore()
    items = [item(0, C), item(1, A), item(2, A), item(3, B), item(4, A), item(5, B)]
    run(client, store, items, concurrency=1)
    assert [c.subject for c in client.sent()] == [A, A, A, B, B, C]


# --- one row: intent, request, outcome ---------------------------------------------------------


def test_the_intent_is_in_the_journal_before_the_request_and_the_outcome_after() -> None:
    client, store = FakeClient(), FakeStore()
    seen_at_send: list[Entry] = []

    def look(call: Call) -> Any:
        seen_at_send.append(store.entries(["adj-0"])["adj-0"])
        return DEFAULT

    client.script("debit", look)
    outcome = run(client, store, [item(0)])[0]
    (pending,) = seen_at_send
    assert pending.state == PENDING and pending.generation == 0
    key = idempotency_key("debit", "adj-0", 0)
    assert pending.idempotency_key == key == client.calls[0].args[3]
    assert pending.request == client.calls[0].args[2] == item(0).request
    done = store.entries(["adj-0"])["adj-0"]
    assert done.state == SUCCEEDED and done.transfer_id == outcome.transfer_id == "tr_fake000001"
    assert (outcome.status, outcome.idempotency_key, outcome.attempts) == (Status.SUCCEEDED, key, 1)
    assert store.writes == [("record_intent", "adj-0"), ("record_success", "adj-0")]


@pytest.mark.parametrize(
    "error",
    [
        errors.NetworkError("read timed out", code="network_error"),
        errors.StripeServerError("500", code="api_error", http_status=500),
        errors.KeyInUseError("409", code="idempotency_key_in_use", http_status=409),
        errors.KeyConflictError("other params", code="idempotency_error", http_status=400),
        errors.ServerUnknownError("500, do not retry", code="api_error", http_status=500),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_answer_that_may_have_executed_leaves_the_row_unknown(
    error: errors.StripeError,
) -> None:
    """A retriable answer is retried until the client's six tries run out; one Stripe says not
    to retry ends the row at once."""
    client, store = FakeClient(), FakeStore()
    tries = 6 if isinstance(error, errors.RetriableError) else 1
    client.script("debit", raised(error, attempts=tries))
    outcome = run(client, store, [item(0)])[0]
    assert outcome.status == Status.UNKNOWN and outcome.error_code == error.code
    assert outcome.attempts == tries and "run the job again" in (outcome.error_message or "")
    assert len(client.sent()) == tries
    entry = store.entries(["adj-0"])["adj-0"]
    assert entry.state == PENDING and entry.attempts == tries and entry.error_code == error.code


@pytest.mark.parametrize(
    "error",
    [
        errors.RateLimitedError("429", code="rate_limit", http_status=429),
        errors.LockTimeoutError("429", code="lock_timeout", http_status=429),
        errors.ConnectError("connection refused", code="connection_failed"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_request_never_executed_is_skipped_once_retries_run_out(
    error: errors.StripeError,
) -> None:
    client, store = FakeClient(), FakeStore()
    client.script("debit", raised(error, attempts=6))
    outcome = run(client, store, [item(0)])[0]
    assert outcome.status == Status.SKIPPED and outcome.error_code == error.code
    assert outcome.attempts == 6 and "nothing was executed" in (outcome.error_message or "")
    entry = store.entries(["adj-0"])["adj-0"]  # the intent stays: the next run sends that key
    assert entry.state == PENDING and entry.idempotency_key == idempotency_key("debit", "adj-0", 0)
    assert client.books == []


def test_a_request_not_executed_after_an_attempt_that_may_have_is_unknown() -> None:
    """The first try timed out (it may have executed); the other five were rate limited."""
    client, store = FakeClient(), FakeStore()
    client.script(
        "debit",
        errors.NetworkError("timeout", code="network_error"),
        raised(errors.RateLimitedError("429", code="rate_limit"), 5),
    )
    outcome = run(client, store, [item(0)])[0]
    assert outcome.status == Status.UNKNOWN and outcome.error_code == "rate_limit"


def test_a_resent_pending_row_that_is_not_executed_stays_unknown() -> None:
    client, store = FakeClient(), FakeStore()
    client.script("debit", raised(errors.NetworkError("timeout", code="network_error"), 6))
    assert run(client, store, [item(0)])[0].status == Status.UNKNOWN
    client.script("debit", raised(errors.RateLimitedError("429", code="rate_limit"), 6))
    second = run(client, store, [item(0)])[0]  # pending: an earlier attempt may have executed
    assert second.status == Status.UNKNOWN and second.attempts == 6 + 6


def test_a_refusal_fails_the_row_and_a_corrected_row_goes_under_a_new_key() -> None:
    client, store = FakeClient(), FakeStore()
    refused = errors.RefusedError("Insufficient funds", code="balance_insufficient")
    client.script("debit", refused)
    first = run(client, store, [item(0, amount=10**9)])[0]
    assert first.status == Status.FAILED and first.error_code == "balance_insufficient"
    assert "no money moved" in (first.error_message or "")
    assert store.entries(["adj-0"])["adj-0"].state == FAILED
    second = run(client, store, [item(0, amount=100)])[0]
    assert second.status == Status.SUCCEEDED
    assert second.idempotency_key == idempotency_key("debit", "adj-0", 1) != first.idempotency_key
    assert store.entries(["adj-0"])["adj-0"].generation == 1


def test_an_answer_for_another_row_is_not_taken_as_success() -> None:
    client, store = FakeClient(), FakeStore()
    client.script("debit", movement("ADJ-0", account=A, amount=999))
    outcome = run(client, store, [item(0, amount=100)])[0]
    assert outcome.status == Status.UNKNOWN and outcome.error_code == "verification_failed"
    assert store.entries(["adj-0"])["adj-0"].state == PENDING


def test_a_credit_goes_to_the_account_as_a_credit() -> None:
    client, store = FakeClient(), FakeStore()
    request = {**item(0).request, "destination": B}
    credit = item(0, B, direction="credit", method="", request=request)
    outcome = run(client, store, [credit])[0]
    assert outcome.status == Status.SUCCEEDED and client.sent("debit") == []
    (call,) = client.sent("credit")
    assert call.subject == B and call.args[1] == idempotency_key("credit", "adj-0", 0)


# --- rows left pending by an earlier run -------------------------------------------------------


def _pending_from_an_earlier_run(client: FakeClient, store: FakeStore, age: dt.timedelta) -> None:
    """ADJ-0 was sent and executed in Stripe, but its answer was lost ``age`` ago."""
    client.script("debit", raised(errors.NetworkError("read timed out", code="network_error"), 6))
    run(client, store, [item(0)])
    client.debit("transfer", A, item(0).request, idempotency_key("debit", "adj-0", 0))
    client.calls.clear()
    client.clock.advance(age.total_seconds())


def _seen(made: Movement) -> Seen:
    """What the guard keeps of a movement it found."""
    return Seen(made.transfer_id, "adj-0", "ADJ-0", "nightly", DAY, "debit", "transfer", A,
                made.amount, made.currency, made.created, made.transfer_id,
                made.payment_id or "")  # fmt: skip


def test_a_row_pending_for_less_than_23_hours_is_resent_with_its_own_key_and_replayed() -> None:
    client, store = FakeClient(), FakeStore()
    _pending_from_an_earlier_run(client, store, dt.timedelta(hours=22))
    changed = item(0, request={**item(0).request, "description": "edited since"})
    store.writes.clear()
    outcome = run(client, store, [changed], found={"adj-0": _seen(client.books[0])})[0]
    (call,) = client.sent()  # sent, even though the guard found it: the key settles it
    assert store.writes == [("record_success", "adj-0")]  # the intent stands as recorded
    assert call.args[2] == item(0).request  # the recorded request, not the row as it is now
    assert call.args[3] == idempotency_key("debit", "adj-0", 0)
    assert outcome.status == Status.SUCCEEDED and len(client.books) == 1  # replayed, not re-made


def test_a_row_pending_for_over_23_hours_is_settled_from_what_the_guard_found() -> None:
    client, store = FakeClient(), FakeStore()
    _pending_from_an_earlier_run(client, store, dt.timedelta(hours=25))
    made = client.books[0]
    outcome = run(client, store, [item(0)], found={"adj-0": _seen(made)})[0]
    assert client.calls == [] and outcome.status == Status.SUCCEEDED
    assert outcome.transfer_id == made.transfer_id
    assert store.entries(["adj-0"])["adj-0"].state == SUCCEEDED


def test_a_row_pending_for_over_23_hours_that_stripe_does_not_hold_is_sent_again() -> None:
    client, store = FakeClient(), FakeStore()
    client.script("debit", raised(errors.NetworkError("timeout", code="network_error"), 6))
    run(client, store, [item(0)])
    before = store.entries(["adj-0"])["adj-0"]
    client.clock.advance(25 * 3600)
    outcome = run(client, store, [item(0)], found={})[0]
    assert outcome.status == Status.SUCCEEDED and len(client.books) == 1
    assert client.sent()[-1].args[3] == before.idempotency_key  # the same key, a new attempt
    after = store.entries(["adj-0"])["adj-0"]
    assert after.attempted_at == client.clock.now() > before.attempted_at


# --- stopping ----------------------------------------------------------------------------------


def test_a_journal_that_cannot_take_an_intent_stops_all_sending() -> None:
    client, store = FakeClient(), FakeStore()
    store.fail("record_intent", after=1)
    executor = make(client, store, concurrency=1)
    outcomes = run(client, store, [item(0), item(1), item(2)], executor=executor)
    assert [o.status for o in outcomes.values()] == [Status.SUCCEEDED, Status.SKIPPED,
                                                     Status.SKIPPED]  # fmt: skip
    assert "journal could not record it" in (outcomes[1].error_message or "")
    assert len(client.sent()) == 1 and isinstance(executor.fatal, errors.JournalError)
    assert client.stop.is_set()


def test_a_journal_that_cannot_take_an_outcome_stops_sending_but_reports_the_money() -> None:
    client, store = FakeClient(), FakeStore()
    store.fail("record_success")
    executor = make(client, store, concurrency=1)
    outcomes = run(client, store, [item(0), item(1)], executor=executor)
    assert outcomes[0].status == Status.SUCCEEDED  # the money moved: the results say so
    assert outcomes[1].status == Status.SKIPPED and len(client.sent()) == 1
    assert store.entries(["adj-0"])["adj-0"].state == PENDING  # the next run settles it
    assert isinstance(executor.fatal, errors.JournalError)


def test_a_refused_key_stops_the_run() -> None:
    client, store = FakeClient(), FakeStore()
    client.script("debit", errors.StripeAuthError("Invalid API Key provided"))
    executor = make(client, store, concurrency=1)
    outcomes = run(client, store, [item(0), item(1)], executor=executor)
    assert [o.status for o in outcomes.values()] == [Status.SKIPPED, Status.SKIPPED]
    assert isinstance(executor.fatal, errors.StripeAuthError) and len(client.sent()) == 1


def test_once_the_breaker_opens_nothing_more_is_sent() -> None:
    client, store = FakeClient(breaker_after=1), FakeStore()
    client.script("debit", raised(errors.ConnectError("refused", code="connection_failed")))
    outcomes = run(client, store, [item(0), item(1), item(2)], concurrency=1)
    assert len(client.sent()) == 1
    assert [o.error_code for o in outcomes.values()] == ["connection_failed",
                                                         "stripe_unavailable",
                                                         "stripe_unavailable"]  # fmt: skip
    assert {o.status for o in outcomes.values()} == {Status.SKIPPED}


def test_a_hard_stop_returns_at_once_with_the_row_in_flight_unknown() -> None:
    """Usually milliseconds; up to 0.1 s when the executor is already in one of the 0.1 s
    joins between which it looks at its hard stop."""
    client, store = FakeClient(), FakeStore()
    executor = make(client, store, concurrency=1)
    release = threading.Event()

    def second_ctrl_c(call: Call) -> Any:
        client.stop.set()
        executor.hard_stop.set()
        release.wait(WAIT)  # still waiting for Stripe when the command ends
        return DEFAULT

    client.script("debit", second_ctrl_c)
    try:
        outcomes = run(client, store, [item(0), item(1)], executor=executor)
        assert store.entries(["adj-0"])["adj-0"].state == PENDING  # its intent settles it later
    finally:
        release.set()
        executor.close(WAIT)
    assert outcomes[0].status == Status.UNKNOWN and outcomes[0].error_code == "stopped"
    assert "in flight" in (outcomes[0].error_message or "")
    assert outcomes[1].status == Status.SKIPPED  # never started


# --- the loose edges of version 2 ----------------------------------------------------------------


def test_a_bug_while_sending_a_row_leaves_it_unknown_and_stops_the_run() -> None:
    """An unexpected exception (a bug) may come after the request left: the row is unknown,
    never skipped, the run stops, and the trace reaches the logs."""
    client, store = FakeClient(), FakeStore()
    heard: list[Any] = []
    events = Events(heard.append)
    executor = Executor(job="nightly", run_id="run-2", run_date=DAY, client=client,
                        store=as_journal(store), clock=client.clock, events=events,
                        concurrency=1)  # fmt: skip

    def bug(call: Call) -> Any:
        raise RuntimeError("a bug in the answer's handling")

    client.script("debit", bug)
    outcomes = run(client, store, [item(0), item(1)], executor=executor)
    assert outcomes[0].status == Status.UNKNOWN and outcomes[0].error_code == "crashed"
    assert "never sent twice" in (outcomes[0].error_message or "")
    assert outcomes[1].status == Status.SKIPPED and len(client.sent()) == 1
    assert store.entries(["adj-0"])["adj-0"].state == PENDING  # the next run settles it
    stopping = [e for e in heard if isinstance(e, RunStopping)]
    assert stopping and "RuntimeError" in stopping[0].traceback
    assert any("internal error" in note for note in executor.notes)


class _StopsAfterIntent(FakeStore):
    """The second Ctrl-C arrives just after the intent is durable, before the request leaves."""

    def __init__(self, hard_stop: threading.Event, release: threading.Event) -> None:
        super().__init__()
        self.hard_stop, self.release = hard_stop, release

    def record_intent(self, entry: Entry) -> None:
        super().record_intent(entry)
        self.hard_stop.set()
        self.release.wait(WAIT)


def test_a_hard_stop_between_the_intent_and_the_request_leaves_the_row_unknown() -> None:
    client = FakeClient()
    hard_stop, release = threading.Event(), threading.Event()
    store = _StopsAfterIntent(hard_stop, release)
    executor = Executor(job="nightly", run_id="run-2", run_date=DAY, client=client,
                        store=as_journal(store), clock=client.clock, events=Events(),
                        concurrency=1, hard_stop=hard_stop)  # fmt: skip
    try:
        outcomes = run(client, store, [item(0)], executor=executor)
    finally:
        release.set()
        executor.close(WAIT)
    assert store.entries(["adj-0"])["adj-0"].state == PENDING
    assert outcomes[0].status == Status.UNKNOWN  # the store holds it pending: so do the results


def test_after_a_hard_stop_no_thread_writes_to_the_journal_once_closed() -> None:
    client, store = FakeClient(), FakeStore()
    executor = make(client, store, concurrency=1)
    release, asked = threading.Event(), threading.Event()

    def slow_stripe(call: Call) -> Any:
        asked.set()
        release.wait(WAIT)  # the answer arrives after the command has ended
        return DEFAULT

    client.script("debit", slow_stripe)

    def second_ctrl_c() -> None:
        asked.wait(WAIT)
        client.stop.set()
        executor.hard_stop.set()

    threading.Thread(target=second_ctrl_c).start()
    outcomes = run(client, store, [item(0)], executor=executor)
    executor.close(0.5)  # the command closes: the thread is still waiting for Stripe
    writes = list(store.writes)
    release.set()
    executor.close(WAIT)  # joined now
    assert outcomes[0].status == Status.UNKNOWN and len(client.books) == 1
    assert store.writes == writes  # the late answer was not written after the close
    assert store.entries(["adj-0"])["adj-0"].state == PENDING
