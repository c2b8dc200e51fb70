"""The fakes keep faith with what they stand in for: the gateway's interface (the real client
runs on the fake gateway), Stripe's idempotency, and the store's rules (the same story on the
fake and on a real SQLite store)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledgerrun import errors
from ledgerrun.store.model import FAILED, PENDING, SUCCEEDED, AccountRecord, JournalStore, Seen
from ledgerrun.store.sqlite import SQLiteStore
from ledgerrun.stripe.client import Client, SentCount, StoppedError
from ledgerrun.stripe.gateway import Gateway
from ledgerrun.stripe.sdk import SdkGateway
from tests.helpers.constants import A, B
from tests.helpers.fakes import FakeClient, FakeGateway, FakeStore, movement
from tests.helpers.store import T0, fail, intent, succeed, unknown

# --- the client --------------------------------------------------------------------------------


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


@pytest.mark.parametrize("gateway", [FakeGateway, SdkGateway])
def test_every_gateway_has_every_method_of_the_protocol_with_the_same_parameters(
    gateway: type,
) -> None:
    protocol, actual = _public(Gateway), _public(gateway)
    for name, signature in protocol.items():
        assert name in actual, f"{gateway.__name__} lacks {name}"
        assert list(actual[name].parameters) == list(signature.parameters), name
        kinds = [p.kind for p in signature.parameters.values()]
        assert [p.kind for p in actual[name].parameters.values()] == kinds, name


def test_the_fake_client_is_the_real_client() -> None:
    assert issubclass(FakeClient, Client)
    assert not {"call", "debit", "transfers"} & set(vars(FakeClient))  # nothing overridden


def test_the_fake_client_has_the_attributes_callers_read() -> None:
    client = FakeClient()
    assert not client.stop.is_set() and not client.breaker.is_open
    assert client.gateway.server_offset is None and client.requests == 0


def test_a_replayed_key_gets_the_first_answer_and_other_parameters_are_refused() -> None:
    client = FakeClient()
    request = {"amount": 500, "currency": "usd", "metadata": {"ledgerrun_adjustment_id": "X"}}
    first = client.debit("transfer", A, request, "k-1")
    again = client.debit("transfer", A, request, "k-1")
    assert again.transfer_id == first.transfer_id and again.replayed and not first.replayed
    assert len(client.books) == 1
    with pytest.raises(errors.KeyConflictError):
        client.debit("transfer", A, {**request, "amount": 501}, "k-1")


def test_scripted_answers_are_per_request_and_per_subject_then_the_default() -> None:
    """Three requests for B get no answer; the real client's retries carry on to the fourth."""
    client = FakeClient()
    dropped = errors.NetworkError("no answer", code="network_error").after(3)
    client.script("debit", dropped, when=B)
    request = {"amount": 1, "currency": "usd"}
    counter = SentCount()
    assert client.debit("transfer", A, request, "a", counter).account == A  # not scripted for A
    assert client.debit("transfer", B, request, "b", counter).account == B
    assert counter.sent == 1 + 4 and client.requests == 5
    assert [c.subject for c in client.sent("debit")] == [A, B, B, B, B]
    assert client.clock.slept  # the retries waited (on the fake clock)


def test_listings_are_lazy_newest_first_and_filtered_like_stripe() -> None:
    client = FakeClient()
    old = client.holds(movement("OLD", account=A, created=100))
    new = client.holds(movement("NEW", account=A, created=200))
    client.holds(movement("OTHER", account=B, created=300))
    client.holds(movement("CREDIT", account=A, direction="credit", created=400))
    listing = client.transfers(A, group=None, created_gte=0)
    assert client.calls == []  # nothing asked until iterated
    assert list(listing) == [new, old]
    assert list(client.transfers(A, group=None, created_gte=150)) == [new]
    assert [m.metadata["ledgerrun_adjustment_id"] for m in client.transfers(
        None, group="ledgerrun", created_gte=0)] == ["CREDIT"]  # fmt: skip


def test_a_stopped_client_or_an_open_breaker_sends_nothing() -> None:
    client = FakeClient(breaker_after=2)
    client.script("account", errors.ConnectError("refused", code="connection_failed").after(2))
    with pytest.raises(errors.ConnectError) as info:
        client.account(A)  # tried twice: the second failure in a row opens the breaker
    assert client.breaker.is_open and info.value.attempts == 2
    with pytest.raises(StoppedError) as refused:
        client.debit("transfer", A, {"amount": 1, "currency": "usd"}, "k")
    assert refused.value.code == "stripe_unavailable" and client.books == []
    stopped = FakeClient()
    stopped.stop.set()
    with pytest.raises(StoppedError, match="stopping"):
        stopped.platform()


def test_a_refused_key_refuses_every_later_call() -> None:
    client = FakeClient()
    client.script("platform", errors.StripeAuthError("Invalid API Key provided"))
    with pytest.raises(errors.StripeAuthError):
        client.platform()
    with pytest.raises(errors.StripeAuthError):
        client.account(A)


# --- the store ---------------------------------------------------------------------------------


def test_the_fake_store_methods_have_the_journal_stores_parameters() -> None:
    protocol = {
        name: inspect.signature(member)
        for name, member in vars(JournalStore).items()
        if callable(member) and not name.startswith("_")
    }
    fake = _public(FakeStore)
    for name, signature in protocol.items():
        assert name in fake, f"FakeStore lacks {name}"
        assert list(fake[name].parameters) == list(signature.parameters), name


def _story(store: Any) -> list[Any]:
    """Every rule the units rely on, on one store; returns what each step gave."""
    out: list[Any] = []

    def attempt(step: Callable[[], Any]) -> None:
        try:
            out.append(step())
        except errors.JournalError:
            out.append("refused")

    first = intent("k-1", attempts=0)
    second = dataclasses.replace(first, generation=1, idempotency_key="ledgerrun.v2:debit:1:k-1")
    attempt(lambda: store.record_intent(first))  # 0
    attempt(lambda: store.record_intent(dataclasses.replace(first, idempotency_key="other")))
    attempt(lambda: store.record_intent(dataclasses.replace(first, request={"amount": 1})))
    attempt(lambda: store.record_intent(dataclasses.replace(first, state=SUCCEEDED)))
    attempt(lambda: unknown(store, "k-1", attempts=3))  # 4
    attempt(lambda: store.record_intent(first))  # the same intent again: attempts stay 3
    attempt(lambda: fail(store, "k-1", attempts=1))  # 6
    attempt(lambda: succeed(store, "k-1"))  # 7: failed already
    attempt(lambda: store.record_intent(second))  # 8: the next generation
    attempt(lambda: succeed(store, "k-1", run_id="r2", attempts=1))  # 9
    attempt(lambda: succeed(store, "k-1", run_id="r3"))  # 10: the same ids again: nothing
    attempt(lambda: succeed(store, "k-1", transfer_id="tr_2"))  # 11: other ids
    attempt(lambda: store.record_intent(dataclasses.replace(second, generation=2)))  # 12
    attempt(lambda: unknown(store, "nobody"))  # 13: no intent
    e = store.entries(["k-1", "nobody"])["k-1"]
    out.append((e.state, e.generation, e.attempts, e.transfer_id, e.error_code, e.run_id))  # 14
    out.append(store.counts("nightly"))  # 15
    seen = Seen("tr_9", "k-9", "K-9", "nightly", "2026-11-26", "debit", "transfer", A, 5,
                "usd", 100, "tr_9", "py_9")  # fmt: skip
    attempt(lambda: store.high_water("transfers:x"))  # 16
    attempt(lambda: store.record_listing("transfers:x", [seen], 500, T0))
    attempt(lambda: store.record_listing("transfers:x", [], 400, T0))  # 18: never back
    attempt(lambda: store.high_water("transfers:x"))  # 19
    out.append(store.seen(["k-9", "k-1"]))  # 20
    checks = [AccountRecord(A, T0, None, "", "usd", "US"),
              AccountRecord(B, T0, "region_mismatch", "m", "cad", "CA")]  # fmt: skip
    attempt(lambda: store.record_accounts(checks))  # 21
    out.append(sorted(store.account_records([A, B, "acct_x"], T0.replace(hour=0))))  # 22
    out.append(store.account_records([A], T0))  # 23: not newer than T0: none
    out.append([e.key for e in store.iter_entries("nightly", "2026-11-26")])  # 24
    return out


def test_the_fake_store_tells_the_same_story_as_a_sqlite_store(tmp_path: Path) -> None:
    real = SQLiteStore.open(tmp_path / "journal.sqlite")
    try:
        expected = _story(real)
    finally:
        real.close()
    got = _story(FakeStore())
    assert got == expected
    # The story did what it says (both stores agreeing on nothing would pass too).
    assert expected[1:4] == ["refused"] * 3 and expected[7] == expected[11] == "refused"
    assert expected[12] == expected[13] == "refused"
    assert expected[14] == (SUCCEEDED, 1, 5, "tr_1", None, "r2")
    assert expected[15] == {PENDING: 0, SUCCEEDED: 1, FAILED: 0} and expected[19] == 500
    assert expected[22] == [A, B] and expected[23] == {}


def test_a_failing_store_raises_from_the_call_asked_for() -> None:
    store = FakeStore()
    store.fail("record_intent", after=1)
    store.record_intent(intent("k-1"))
    with pytest.raises(errors.JournalError, match="disk is full"):
        store.record_intent(intent("k-2"))
    assert store.entries(["k-1", "k-2"]).keys() == {"k-1"}
    assert store.writes == [("record_intent", "k-1"), ("record_intent", "k-2")]
    assert store.entries(["k-1"])["k-1"].state == PENDING
