"""The operations that move a ledger row's money: a debit by transfer, a debit by charge, a
credit. Each is an :class:`~ledgerrun.send.attempts.operation.Operation` on an adjustment's
journal record (:class:`~ledgerrun.store.model.Entry`), answered by a
:class:`~ledgerrun.stripe.shapes.Movement`.

* **Debit by transfer**: ``POST /v1/transfers`` as the connected account, to the platform.
* **Debit by charge**: ``POST /v1/charges`` on the platform with ``source`` = the account.
* **Credit**: ``POST /v1/transfers`` on the platform, to the account.

A pending attempt too old for its idempotency key is found in what the Stripe guard listed
before the run (:mod:`ledgerrun.send.guard`): one listing per account, never one per row.
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass
from typing import Any

from ledgerrun.ingest.identity import canonical
from ledgerrun.send.attempts.operation import FailureWriter, Recorded, Stamp, UnknownWriter
from ledgerrun.send.keys import idempotency_key
from ledgerrun.store.model import PENDING, Entry, Journal, Seen
from ledgerrun.stripe.client import Client, SentCount
from ledgerrun.stripe.shapes import Movement
from ledgerrun.vocab import Direction, Method, money_text


@dataclass(frozen=True)
class Item:
    """One valid row to send."""

    index: int  # position in the ledger, 0-based
    row: int  # spreadsheet row number
    key: str  # canonical id
    adjustment_id: str  # as written
    account: str
    currency: str
    amount: int
    direction: str
    method: str
    request: dict[str, Any]  # API params for a first send

    @property
    def operation(self) -> str:
        """The word in its idempotency key: ``debit`` or ``credit``."""
        return "credit" if self.direction == Direction.CREDIT else "debit"

    @property
    def amount_text(self) -> str:
        return money_text(self.amount, self.currency)


class Move(Recorded[Entry]):
    """What every money movement of a row shares; the subclasses say how it is sent."""

    again = "run the job again"

    @property
    def refused(self) -> str:
        """Said after Stripe's message, whose amounts may be in minor units (``499900 usd``):
        the row's own amount in major units, with its currency."""
        return (
            f"no money moved (the row: {self.item.amount_text}); correct the cause and run the "
            "job again: the row is sent under a new key, even with corrected values"
        )

    def __init__(
        self,
        item: Item,
        *,
        journal: Journal,
        job: str,
        run_date: str,
        found: Seen | None,
        batch: str = "",
    ) -> None:
        self.item = item
        self.batch = batch
        self.journal = journal
        self.job = job
        self.run_date = run_date
        self.found = found  # what the guard found in Stripe for this row, if anything

    def intent(self, earlier: Entry | None, generation: int, stamp: Stamp) -> Entry:
        item = self.item
        return Entry(
            key=item.key,
            adjustment_id=item.adjustment_id,
            job=self.job,
            run_date=self.run_date,
            direction=item.direction,
            account=item.account,
            currency=item.currency,
            amount_minor=item.amount,
            method=item.method,
            state=PENDING,
            generation=generation,
            idempotency_key=idempotency_key(item.operation, item.key, generation),
            request=item.request,
            attempts=earlier.attempts if earlier is not None else 0,
            attempted_at=stamp.at,
            attempted_at_server=stamp.at_server,
            run_id=stamp.run_id,
            batch=self.batch,
        )

    @abc.abstractmethod
    def send(self, client: Client, record: Entry, counter: SentCount) -> Movement:
        """Each kind of movement says how it is sent."""

    def find(self, client: Client, record: Entry) -> Movement | None:
        seen = self.found
        if seen is None:
            return None
        return Movement(
            direction=Direction(record.direction),
            method=record.method,
            transfer_id=seen.transfer_id,
            payment_id=seen.payment_id,
            account=seen.account,
            amount=seen.amount,
            currency=seen.currency,
            created=seen.created,
            transfer_group=None,
        )

    def mismatch(self, record: Entry, answer: Movement) -> str | None:
        expected = (record.account, record.amount_minor, record.currency)
        got = (answer.account, answer.amount, answer.currency)
        if got != expected:
            return f"Stripe returned {got} for {expected}; check it in the dashboard."
        if not answer.transfer_id or not answer.payment_id:
            return "Stripe's answer lacks the transfer or payment id; check it in the dashboard."
        written = answer.metadata.get("ledgerrun_adjustment_id")
        if written is not None and written != record.adjustment_id:
            prefix = answer.metadata.get("ledgerrun_id_prefix", "")
            if canonical(written, prefix) != record.key:
                return "Stripe returned an object of another adjustment; check it in the dashboard."
        return None

    def request_id(self, answer: Movement) -> str | None:
        return answer.request_id

    def save_intent(self, record: Entry) -> None:
        self.journal.record_intent(record)

    def save_success(
        self, record: Entry, answer: Movement, *, run_id: str, at: dt.datetime, sent: int
    ) -> None:
        self.journal.record_success(
            record.key,
            run_id=run_id,
            transfer_id=answer.transfer_id,
            payment_id=str(answer.payment_id),
            request_id=answer.request_id,
            completed_at=at,
            attempts=sent,
            wait=False,  # committed with the next transaction: see the engine
        )

    def failures(self) -> FailureWriter:
        return self.journal.record_failure

    def unknowns(self) -> UnknownWriter:
        return self.journal.record_unknown


class DebitByTransfer(Move):
    """``POST /v1/transfers`` as the connected account, to the platform."""

    def send(self, client: Client, record: Entry, counter: SentCount) -> Movement:
        return client.debit(
            Method.TRANSFER, record.account, record.request, record.idempotency_key, counter
        )


class DebitByCharge(Move):
    """``POST /v1/charges`` on the platform, from the connected account."""

    def send(self, client: Client, record: Entry, counter: SentCount) -> Movement:
        return client.debit(
            Method.CHARGE, record.account, record.request, record.idempotency_key, counter
        )


class Credit(Move):
    """``POST /v1/transfers`` on the platform, to the connected account."""

    def send(self, client: Client, record: Entry, counter: SentCount) -> Movement:
        return client.credit(record.request, record.idempotency_key, counter)


def move_for(item: Item) -> type[Move]:
    """The operation that moves ``item``'s money."""
    if item.direction == Direction.CREDIT:
        return Credit
    return DebitByCharge if item.method == Method.CHARGE else DebitByTransfer
