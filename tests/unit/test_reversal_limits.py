"""What is left to reverse: ledgerrun's own attempts (pending ones too) are never 'outside'."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from ledgerrun.send.reversal import requests as rq
from ledgerrun.store.model import PENDING, SUCCEEDED, Journal, ReversalEntry
from tests.helpers.store import T0, intent

ADJUSTMENT = dataclasses.replace(
    intent("adj-1"), state=SUCCEEDED, amount_minor=200, transfer_id="tr_1", currency="usd"
)


def reversal(key: str, amount: int, state: str) -> ReversalEntry:
    return ReversalEntry(
        key=key, reversal_id=key.upper(), adjustment_key="adj-1", adjustment_id="ADJ-1",
        job="nightly", run_date="2026-11-26", direction="debit", account="acct_1Abc",
        transfer_id="tr_1", context="acct_1Abc", currency="usd", amount_minor=amount,
        reason="", state=state, generation=0, idempotency_key=f"ledgerrun.v2:reversal:0:{key}",
        request={"amount": amount}, attempts=1, attempted_at=T0, attempted_at_server=T0,
    )  # fmt: skip


class Held:
    """The store as limit() reads it: the reversals recorded per adjustment."""

    def __init__(self, *entries: ReversalEntry) -> None:
        self.entries = list(entries)

    def reversals_of(self, keys: Any) -> dict[str, list[ReversalEntry]]:
        return {"adj-1": self.entries}


def held(*entries: ReversalEntry) -> Journal:
    """A Held store, where limit() is typed to take a whole journal."""
    return cast(Journal, Held(*entries))


def asked(key: str, earlier: ReversalEntry | None = None, amount: int | None = None) -> Any:
    request = rq.Request(
        row=2, adjustment_id="ADJ-1", reversal_id=key.upper(), reason="",
        amount_text="" if amount is None else str(amount), adjustment_key="adj-1", key=key,
        entry=ADJUSTMENT, amount_minor=amount, earlier=earlier,
    )  # fmt: skip
    return rq.Requests("--all", [request])


def test_an_own_attempt_that_executed_before_a_kill_is_not_outside() -> None:
    pending = reversal("rev-1", 200, PENDING)
    requests = asked("rev-1", earlier=pending)
    rq.limit(requests, held(pending), {"tr_1": 200})  # Stripe holds it: it executed
    only = requests.items[0]
    assert only.problem is None and only.amount_minor == 200  # settled under its own key


def test_a_reversal_nobody_recorded_still_counts_against_what_is_left() -> None:
    pending = reversal("rev-1", 60, PENDING)
    requests = asked("rev-1", earlier=pending)
    rq.limit(requests, held(pending), {"tr_1": 200})  # 0.60 ours (perhaps) + 1.40 by hand
    assert requests.items[0].problem is None and requests.items[0].amount_minor == 60
    fresh = asked("rev-2", amount=100)
    rq.limit(fresh, held(), {"tr_1": 140})  # 1.40 reversed by hand: 0.60 left
    problem = fresh.items[0].problem
    assert problem is not None and problem.code == "bad_amount"
    assert "Only 0.60 USD" in problem.message  # amounts in minor units: 2.00 USD moved
    assert "1.40 USD was reversed outside ledgerrun" in problem.message


def test_others_done_and_pending_come_off_before_a_new_full_reversal() -> None:
    done = reversal("rev-a", 50, SUCCEEDED)
    other_pending = reversal("rev-b", 30, PENDING)
    requests = asked("rev-c")
    rq.limit(requests, held(done, other_pending), {"tr_1": 50})
    only = requests.items[0]
    assert only.problem is None and only.amount_minor == 200 - 50 - 30
