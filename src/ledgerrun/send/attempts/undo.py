"""The operations that undo an adjustment, in full or in part, on its journal record of a
reversal (:class:`~ledgerrun.store.model.ReversalEntry`).

* **Transfer reversal**: ``POST /v1/transfers/{id}/reversals``, made by whoever made the
  transfer (the platform, for a credit; the connected account, for a debit made before refunds
  were the way to undo one), answered by a :class:`~ledgerrun.stripe.shapes.Reversal`.

A pending attempt too old for its idempotency key is looked for among the transfer's own
reversals, by the reversal id ledgerrun wrote in its metadata.
"""

from __future__ import annotations

import datetime as dt

from ledgerrun.errors import StripeError
from ledgerrun.job import Job
from ledgerrun.send.attempts.operation import Stamp
from ledgerrun.send.keys import (
    META_ADJUSTMENT,
    META_JOB,
    META_PREFIX,
    META_REASON,
    META_REVERSAL,
    META_RUN_DATE,
)
from ledgerrun.send.reversal.requests import Request, intent_of
from ledgerrun.store.model import Journal, ReversalEntry
from ledgerrun.stripe import facts
from ledgerrun.stripe.client import Client, SentCount
from ledgerrun.stripe.shapes import Reversal
from ledgerrun.vocab import money_text


class TransferReversal:
    """Reverse all or part of the adjustment's transfer, as whoever made it."""

    again = "run reverse again"

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

    def intent(self, earlier: ReversalEntry | None, generation: int, stamp: Stamp) -> ReversalEntry:
        r = self.r
        assert r.entry is not None and r.amount_minor is not None
        metadata = {
            META_JOB: self.job.name,
            META_ADJUSTMENT: r.entry.adjustment_id,
            META_REVERSAL: r.key,
            META_RUN_DATE: self.job.run_date.isoformat(),
        }
        if self.job.id_prefix:
            metadata[META_PREFIX] = self.job.id_prefix
        if r.reason:
            metadata[META_REASON] = r.reason[: facts.METADATA_VALUE_MAX_CHARS]
        request: dict[str, object] = {"amount": r.amount_minor, "metadata": metadata}
        if r.reason:
            request["description"] = r.reason[: facts.DESCRIPTION_MAX_CHARS]
        return intent_of(
            r,
            self.job,
            generation=generation,
            amount_minor=r.amount_minor,
            request=request,
            attempts=earlier.attempts if earlier is not None else 0,
            attempted_at=stamp.at,
            attempted_at_server=stamp.at_server,
            run_id=stamp.run_id,
        )

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

    def request_id(self, answer: Reversal) -> str | None:
        return answer.request_id

    def save_intent(self, record: ReversalEntry) -> None:
        self.journal.record_reversal_intent(record)

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
        )

    def save_failure(
        self,
        record: ReversalEntry,
        error: StripeError,
        *,
        run_id: str,
        at: dt.datetime,
        sent: int,
    ) -> None:
        self.journal.record_reversal_failure(
            record.key,
            run_id=run_id,
            error_code=error.code,
            error_message=str(error),
            request_id=error.request_id,
            completed_at=at,
            attempts=sent,
        )

    def save_unknown(
        self,
        record: ReversalEntry,
        *,
        run_id: str,
        code: str,
        message: str,
        request_id: str | None,
        sent: int,
    ) -> None:
        self.journal.record_reversal_unknown(
            record.key,
            run_id=run_id,
            error_code=code,
            error_message=message,
            request_id=request_id,
            attempts=sent,
        )
