"""The exactly-once engine's contract, for every operation on every store.

Each operation (debit by transfer, debit by charge, credit, transfer reversal) runs through the
engine (ledgerrun.send.attempts.engine) with the real Stripe client over the in-memory gateway,
on a real SQLite store and a real PostgreSQL store. A "kill" is what a killed process leaves
behind: its journal as it was at that instant (the intent is durable before the request), and a
new engine (the next run) starting from it. Whatever happens, Stripe's books hold the operation's
object exactly once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledgerrun import errors
from ledgerrun.events import Events, RunStopping
from ledgerrun.job import Job
from ledgerrun.send.attempts.engine import Engine
from ledgerrun.send.attempts.moves import Credit, DebitByCharge, DebitByTransfer, Item, Move
from ledgerrun.send.attempts.operation import Stamp
from ledgerrun.send.attempts.undo import Refund, TransferReversal
from ledgerrun.send.keys import idempotency_key, metadata
from ledgerrun.send.reversal.requests import Request
from ledgerrun.store.model import FAILED, PENDING, SUCCEEDED, Entry, Seen, Store
from ledgerrun.vocab import Status
from tests.helpers.constants import PLATFORM, RUN_DATE, A
from tests.helpers.fakes import DEFAULT, LOST, Call, FakeClient
from tests.helpers.fakes import movement as made_movement

DAY = RUN_DATE.isoformat()
KEY = "adj-7"
NOWHERE = Path("/nonexistent/ledgerrun-engine-contract")  # the job's files: never written here


@dataclass
class Case:
    """One operation, as the contract drives it."""

    name: str
    method: str  # the gateway method that sends it
    build: Callable[[Store, FakeClient, bool], Any]  # (store, client, stale?) -> operation
    earlier: Callable[[Store], Any]  # the journal's record of it
    books: Callable[[FakeClient], int]  # how many objects of it Stripe holds


def _item(direction: str, method: str) -> Item:
    request: dict[str, Any] = {
        "amount": 1500,
        "currency": "usd",
        "transfer_group": "ledgerrun",
        "metadata": metadata(job="nightly", adjustment_id="ADJ-7", account=A, run_date=DAY),
    }
    if direction == "credit":
        request["destination"] = A
    elif method == "transfer":
        request["destination"] = PLATFORM
    else:
        request["source"] = A
    return Item(0, 2, KEY, "ADJ-7", A, "usd", 1500, direction, method, request)


def _move(kind: type[Move], direction: str, method: str) -> Case:
    def build(store: Store, client: FakeClient, stale: bool) -> Move:
        found = None
        if stale:  # what the guard found before the run: the object, if Stripe holds it
            held = [m for m in client.books if m.metadata.get("ledgerrun_adjustment_id")]
            if held:
                m = held[0]
                found = Seen(m.object_id, KEY, "ADJ-7", "nightly", DAY, direction, method, A,
                             m.amount, m.currency, m.created, m.transfer_id,
                             m.payment_id or "")  # fmt: skip
        return kind(_item(direction, method), journal=store, job="nightly", run_date=DAY,
                    found=found)  # fmt: skip

    def earlier(store: Store) -> Entry | None:
        return store.entries([KEY]).get(KEY)

    def books(client: FakeClient) -> int:
        return sum(1 for m in client.books if m.metadata.get("ledgerrun_adjustment_id") == "ADJ-7")

    sends = "credit" if direction == "credit" else "debit"
    return Case(f"{direction}-{method or 'transfer'}", sends, build, earlier, books)


def _undo(kind: type[TransferReversal] | type[Refund]) -> Case:
    debit = made_movement(
        "ADJ-1", account=A, amount=5000, transfer_id="tr_debit1", payment_id="py_debit1"
    )
    entry = Entry(key="adj-1", adjustment_id="ADJ-1", job="nightly", run_date=DAY,
                  direction="debit", account=A, currency="usd", amount_minor=5000,
                  method="transfer", state=PENDING, generation=0,
                  idempotency_key=idempotency_key("debit", "adj-1", 0), request={},
                  attempts=1, attempted_at=dt.datetime(2026, 11, 26, tzinfo=dt.UTC),
                  attempted_at_server=dt.datetime(2026, 11, 26, tzinfo=dt.UTC),
                  run_id="run-1")  # fmt: skip
    job = Job(name="nightly", ledger=NOWHERE, results=NOWHERE, journal=NOWHERE,
              run_date=RUN_DATE, timezone="UTC")  # fmt: skip

    def build(store: Store, client: FakeClient, stale: bool) -> TransferReversal | Refund:
        if not client.books:
            client.holds(debit)
        if store.entries(["adj-1"]).get("adj-1") is None:
            store.record_intent(entry)
            store.record_success("adj-1", run_id="run-1", transfer_id="tr_debit1",
                                 payment_id="py_debit1", request_id=None,
                                 completed_at=entry.attempted_at)  # fmt: skip
        done = store.entries(["adj-1"])["adj-1"]
        earlier = store.reversal_entries([KEY]).get(KEY)
        request = Request(row=2, adjustment_id="ADJ-1", reversal_id="ADJ-7", reason="refund",
                          amount_text="15.00", adjustment_key="adj-1", key=KEY, entry=done,
                          amount_minor=1500, earlier=earlier)  # fmt: skip
        return kind(request, journal=store, job=job)

    def earlier(store: Store) -> Any:
        return store.reversal_entries([KEY]).get(KEY)

    def books(client: FakeClient) -> int:
        if kind is Refund:
            return len(client.refund_books.get("py_debit1", []))
        return len(client.reversal_books.get("tr_debit1", []))

    if kind is Refund:
        return Case("refund", "refund", build, earlier, books)
    return Case("reversal", "reverse", build, earlier, books)


CASES = [
    _move(DebitByTransfer, "debit", "transfer"),
    _move(DebitByCharge, "debit", "charge"),
    _move(Credit, "credit", ""),
    _undo(TransferReversal),
    _undo(Refund),
]


@pytest.fixture(params=CASES, ids=lambda c: c.name)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


def attempt(case: Case, store: Store, client: FakeClient, run_id: str = "run-2") -> Any:
    """One command's attempt (a new engine: a new process after a kill)."""
    earlier = case.earlier(store)
    age = client.clock.now() - earlier.attempted_at if earlier is not None else dt.timedelta()
    op = case.build(store, client, age > dt.timedelta(hours=23))
    engine = Engine(client=client, clock=client.clock, run_id=run_id, events=Events())
    outcome = engine.attempt(op, earlier, 0)
    engine.close()
    return outcome, engine


def test_it_moves_the_money_once_and_records_it(case: Case, store: Store) -> None:
    client = FakeClient()
    outcome, _ = attempt(case, store, client)
    assert outcome.status == Status.SUCCEEDED and case.books(client) == 1
    assert case.earlier(store).state == SUCCEEDED
    assert outcome.idempotency_key == case.earlier(store).idempotency_key


def test_killed_after_the_intent_the_next_run_sends_the_same_key_once(
    case: Case, store: Store
) -> None:
    client = FakeClient()
    op = case.build(store, client, False)
    now = client.clock.now()
    op.save_intent(op.intent(None, 0, Stamp(now, now, "run-1")))  # then the process died
    intended = case.earlier(store)
    assert intended.state == PENDING and case.books(client) == 0
    outcome, _ = attempt(case, store, client)
    assert outcome.status == Status.SUCCEEDED and case.books(client) == 1
    assert client.sent(case.method)[-1].args[-1] == intended.idempotency_key


def test_an_answer_lost_after_stripe_executed_is_settled_by_the_same_key(
    case: Case, store: Store
) -> None:
    client = FakeClient()
    client.script(case.method, *[LOST] * 6)  # executed; every answer lost
    first, _ = attempt(case, store, client, "run-1")
    assert first.status == Status.UNKNOWN and case.books(client) == 1
    assert case.earlier(store).state == PENDING
    client.clock.advance(3600)
    client.gateway._scripts.clear()
    second, _ = attempt(case, store, client)
    assert second.status == Status.SUCCEEDED and case.books(client) == 1  # replayed
    assert second.idempotency_key == first.idempotency_key


def test_an_attempt_older_than_stripes_keys_is_found_in_stripe_not_sent(
    case: Case, store: Store
) -> None:
    client = FakeClient()
    client.script(case.method, *[LOST] * 6)  # executed; every answer lost
    attempt(case, store, client, "run-1")
    client.gateway._scripts.clear()
    client.clock.advance(25 * 3600)
    sent_before = len(client.sent(case.method))
    outcome, _ = attempt(case, store, client)
    assert outcome.status == Status.SUCCEEDED and outcome.earlier
    assert len(client.sent(case.method)) == sent_before and case.books(client) == 1
    assert case.earlier(store).state == SUCCEEDED


def test_an_old_attempt_stripe_does_not_hold_is_restamped_on_stripes_clock_and_resent(
    case: Case, store: Store
) -> None:
    client = FakeClient(server_offset=dt.timedelta(minutes=7))
    client.script(case.method, errors.NetworkError("refused", code="network_error").after(6))
    attempt(case, store, client, "run-1")  # nothing executed, but it may have: pending
    before = case.earlier(store)
    client.clock.advance(25 * 3600)
    outcome, _ = attempt(case, store, client)
    after = case.earlier(store)
    assert outcome.status == Status.SUCCEEDED and case.books(client) == 1
    assert after.idempotency_key == before.idempotency_key  # the same key, a new attempt
    assert after.attempted_at == client.clock.now()
    assert after.attempted_at_server == client.clock.now() + dt.timedelta(minutes=7)


def test_a_refusal_is_failed_and_the_next_attempt_gets_a_new_key(case: Case, store: Store) -> None:
    client = FakeClient()
    client.script(
        case.method, errors.RefusedError("Insufficient funds", code="balance_insufficient")
    )
    first, _ = attempt(case, store, client, "run-1")
    assert first.status == Status.FAILED and case.books(client) == 0
    assert case.earlier(store).state == FAILED
    second, _ = attempt(case, store, client)
    assert second.status == Status.SUCCEEDED and case.books(client) == 1
    assert second.idempotency_key != first.idempotency_key
    assert case.earlier(store).generation == 1


def test_a_journal_that_cannot_take_the_outcome_stops_the_command_and_reports_the_money(
    case: Case, store: Store
) -> None:
    client = FakeClient()
    events = Events()
    heard: list[RunStopping] = []
    events.listen(lambda e: heard.append(e) if isinstance(e, RunStopping) else None)
    op = case.build(store, client, False)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise errors.JournalError("the disk is full")

    op.save_success = refuse
    engine = Engine(client=client, clock=client.clock, run_id="run-1", events=events)
    outcome = engine.attempt(op, case.earlier(store), 0)
    assert outcome.status == Status.SUCCEEDED and case.books(client) == 1  # the money moved
    assert case.earlier(store).state == PENDING  # the next run settles it, never twice
    assert isinstance(engine.fatal, errors.JournalError) and client.stop.is_set()
    assert any("disk is full" in note for note in engine.notes) and heard
    client.stop.clear()
    client.clock.advance(60)
    again, _ = attempt(case, store, client)
    assert again.status == Status.SUCCEEDED and case.books(client) == 1


def test_a_server_error_stripe_saved_under_the_key_leaves_it_unknown_until_it_settles(
    case: Case, store: Store
) -> None:
    client = FakeClient()
    saved = errors.ServerUnknownError("500", code="api_error", http_status=500)
    client.script(case.method, saved, saved)
    first, _ = attempt(case, store, client, "run-1")
    assert first.status == Status.UNKNOWN and len(client.sent(case.method)) == 1  # not retried
    second, _ = attempt(case, store, client, "run-2")  # Stripe still answers the saved 500
    assert second.status == Status.UNKNOWN and case.earlier(store).state == PENDING
    client.clock.advance(25 * 3600)  # the key has expired: the guard finds nothing, it is sent
    third, _ = attempt(case, store, client, "run-3")
    assert third.status == Status.SUCCEEDED and case.books(client) == 1


def test_after_close_a_late_outcome_is_not_written(case: Case, store: Store) -> None:
    client = FakeClient()
    engine = Engine(client=client, clock=client.clock, run_id="run-1", events=Events())
    op = case.build(store, client, False)

    def closes_meanwhile(call: Call) -> Any:
        engine.close()  # the command ended (a hard stop) while this request was on the wire
        return DEFAULT

    client.script(case.method, closes_meanwhile)
    outcome = engine.attempt(op, case.earlier(store), 0)
    assert outcome.status == Status.SUCCEEDED and case.books(client) == 1
    assert case.earlier(store).state == PENDING  # not written: the next run settles it


@pytest.mark.parametrize("hours", [1, 25], ids=["within-a-day", "after-the-key-expired"])
def test_an_outcome_lost_with_the_machine_is_settled_by_the_same_key_never_sent_twice(
    case: Case, store: Store, hours: int
) -> None:
    # An outcome need not be on disk when its call returns (the store commits it with the next
    # transaction). A machine that dies first loses it: the durable intent is all there is.
    client = FakeClient()
    op = case.build(store, client, False)
    op.save_success = lambda *args, **kwargs: None
    engine = Engine(client=client, clock=client.clock, run_id="run-1", events=Events())
    first = engine.attempt(op, case.earlier(store), 0)
    engine.close()
    lost = case.earlier(store)
    assert first.status == Status.SUCCEEDED and case.books(client) == 1
    assert lost.state == PENDING
    client.clock.advance(hours * 3600)
    again, _ = attempt(case, store, client)
    assert again.status == Status.SUCCEEDED and case.books(client) == 1  # never a second one
    settled = case.earlier(store)
    assert (settled.state, settled.idempotency_key) == (SUCCEEDED, lost.idempotency_key)
    sent = client.sent(case.method)
    if hours < 23:  # resent under its recorded key: Stripe answered with the original
        assert len(sent) == 2 and sent[-1].args[-1] == lost.idempotency_key
    else:  # the key has expired: found in Stripe's books, not sent again
        assert len(sent) == 1
