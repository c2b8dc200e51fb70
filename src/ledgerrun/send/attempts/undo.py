"""The operations that undo an adjustment, in full or in part, on its journal record of a
reversal (:class:`~ledgerrun.store.model.ReversalEntry`).

* **Refund** (a debit): ``POST /v1/refunds`` of the platform's payment (the debit's ``py_``),
  Stripe's documented way to undo an account debit: it pays the money back from the platform's
  balance and reverses the connected account's transfer (``source_transfer_reversal``). A refund
  may be ``pending``: its request executed (it is never sent again), and its end is read on a
  later command (:func:`ledgerrun.send.reversal.books.settle_refunds`).
* **Transfer reversal** (a credit, and a debit's reversal begun before refunds were the way):
  ``POST /v1/transfers/{id}/reversals``, made by whoever made the transfer (the platform, for a
  credit).

A pending attempt too old for its idempotency key is looked for among the payment's refunds or
the transfer's reversals, by the reversal id ledgerrun wrote in its metadata.
"""

from __future__ import annotations

import abc
import datetime as dt
from typing import Generic, TypeVar

from ledgerrun.job import Job
from ledgerrun.send.attempts.operation import FailureWriter, Recorded, Stamp, UnknownWriter
from ledgerrun.send.keys import (
    META_ACCOUNT,
    META_ADJUSTMENT,
    META_JOB,
    META_PREFIX,
    META_REASON,
    META_REVERSAL,
    META_RUN_DATE,
)
from ledgerrun.send.reversal.requests import Request, intent_of
from ledgerrun.store.model import REFUND, TRANSFER_REVERSAL, Journal, ReversalEntry
from ledgerrun.stripe import facts
from ledgerrun.stripe.client import Client, SentCount
from ledgerrun.stripe.shapes import Refund as Refunded
from ledgerrun.stripe.shapes import Reversal
from ledgerrun.vocab import money_text

A = TypeVar("A", Reversal, Refunded)


class _Undo(Recorded[ReversalEntry], Generic[A]):
    """What every way of undoing an adjustment shares: its journal record, its metadata."""

    again = "run reverse again"
    method = TRANSFER_REVERSAL

    @property
    def refused(self) -> str:
        """Said after Stripe's message, whose amounts may be in minor units: this reversal's
        own amount in major units, with its currency."""
        r = self.r
        if r.entry is None or r.amount_minor is None:
            return "nothing was reversed"
        return f"nothing was reversed of {money_text(r.amount_minor, r.entry.currency)}"

    def __init__(self, request: Request, *, journal: Journal, job: Job) -> None:
        self.r = request
        self.journal = journal
        self.job = job

    def metadata(self) -> dict[str, str]:
        r = self.r
        assert r.entry is not None
        metadata = {
            META_JOB: self.job.name,
            META_ADJUSTMENT: r.entry.adjustment_id,
            META_ACCOUNT: r.entry.account,
            META_REVERSAL: r.key,
            META_RUN_DATE: self.job.run_date.isoformat(),
        }
        if self.job.id_prefix:
            metadata[META_PREFIX] = self.job.id_prefix
        if r.reason:
            metadata[META_REASON] = r.reason[: facts.METADATA_VALUE_MAX_CHARS]
        return metadata

    def intent(self, earlier: ReversalEntry | None, generation: int, stamp: Stamp) -> ReversalEntry:
        r = self.r
        assert r.entry is not None and r.amount_minor is not None
        return intent_of(
            r,
            self.job,
            generation=generation,
            amount_minor=r.amount_minor,
            request=self.request(),
            attempts=earlier.attempts if earlier is not None else 0,
            attempted_at=stamp.at,
            attempted_at_server=stamp.at_server,
            run_id=stamp.run_id,
            method=self.method,
        )

    def save_intent(self, record: ReversalEntry) -> None:
        self.journal.record_reversal_intent(record)

    def failures(self) -> FailureWriter:
        return self.journal.record_reversal_failure

    def unknowns(self) -> UnknownWriter:
        return self.journal.record_reversal_unknown

    @abc.abstractmethod
    def request(self) -> dict[str, object]:
        """The API parameters of a new attempt."""

    def request_id(self, answer: A) -> str | None:
        return answer.request_id


class TransferReversal(_Undo[Reversal]):
    """Reverse all or part of the adjustment's transfer, as whoever made it."""

    method = TRANSFER_REVERSAL

    def request(self) -> dict[str, object]:
        r = self.r
        request: dict[str, object] = {"amount": r.amount_minor, "metadata": self.metadata()}
        if r.reason:
            request["description"] = r.reason[: facts.DESCRIPTION_MAX_CHARS]
        return request

    def send(self, client: Client, record: ReversalEntry, counter: SentCount) -> Reversal:
        return client.reverse(
            record.transfer_id,
            record.context or None,
            record.request,
            record.idempotency_key,
            counter,
        )

    def find(self, client: Client, record: ReversalEntry) -> Reversal | None:
        for reversal in client.reversals(record.transfer_id, record.context or None):
            if reversal.metadata.get(META_REVERSAL) == record.key:
                return reversal
        return None

    def mismatch(self, record: ReversalEntry, answer: Reversal) -> str | None:
        if answer.amount != record.amount_minor or answer.currency != record.currency:
            return (
                f"Stripe returned a reversal of {answer.amount} {answer.currency} for "
                f"{record.amount_minor} {record.currency}; check it in the dashboard."
            )
        written = answer.metadata.get(META_REVERSAL)
        if written is not None and written != record.key:
            return "Stripe returned another reversal; check it in the dashboard."
        return None

    def save_success(
        self, record: ReversalEntry, answer: Reversal, *, run_id: str, at: dt.datetime, sent: int
    ) -> None:
        self.journal.record_reversal_success(
            record.key,
            run_id=run_id,
            reversal_object_id=answer.id,
            request_id=answer.request_id,
            completed_at=at,
            attempts=sent,
            wait=False,  # committed with the next transaction: see the engine
        )


class Refund(_Undo[Refunded]):
    """Refund all or part of the platform's payment of a debit (its ``py_``)."""

    method = REFUND

    def request(self) -> dict[str, object]:
        r = self.r
        assert r.entry is not None
        return {
            "charge": r.entry.payment_id or "",
            "amount": r.amount_minor,
            "metadata": self.metadata(),
        }  # a refund takes no description: the reason is in the metadata

    def send(self, client: Client, record: ReversalEntry, counter: SentCount) -> Refunded:
        return client.refund(record.request, record.idempotency_key, counter)

    def find(self, client: Client, record: ReversalEntry) -> Refunded | None:
        for refund in client.refunds(record.payment_id):
            if refund.metadata.get(META_REVERSAL) == record.key:
                return refund
        return None

    def mismatch(self, record: ReversalEntry, answer: Refunded) -> str | None:
        if answer.amount != record.amount_minor or answer.currency != record.currency:
            return (
                f"Stripe returned a refund of {answer.amount} {answer.currency} for "
                f"{record.amount_minor} {record.currency}; check it in the dashboard."
            )
        if answer.charge != record.payment_id:
            return f"Stripe returned a refund of {answer.charge}, not {record.payment_id}."
        if answer.status in ("failed", "canceled"):
            return f"Stripe's refund {answer.id} is {answer.status}; check it in the dashboard."
        return None

    def save_success(
        self, record: ReversalEntry, answer: Refunded, *, run_id: str, at: dt.datetime, sent: int
    ) -> None:
        self.journal.record_reversal_success(
            record.key,
            run_id=run_id,
            reversal_object_id=answer.source_transfer_reversal or "",
            request_id=answer.request_id,
            completed_at=at,
            attempts=sent,
            refund_id=answer.id,
            refund_status=answer.status,
            wait=False,  # committed with the next transaction: see the engine
        )


def undo_for(request: Request) -> type[TransferReversal] | type[Refund]:
    """How ``request`` is undone: a debit by a refund of the platform's payment (unless a
    transfer reversal of it was begun before, which is settled as it was begun), a credit by a
    reversal of the platform's transfer."""
    earlier = request.earlier
    if request.context is None:  # a credit: the platform made the transfer
        return TransferReversal
    if earlier is not None and earlier.state != "failed" and earlier.method == TRANSFER_REVERSAL:
        return TransferReversal
    return Refund
