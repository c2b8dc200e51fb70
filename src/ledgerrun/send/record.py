"""Recording what became of a row: the outcome in the store, and the row's result.

A store that cannot take an outcome stops the run (the row stays pending in the store and the
next run settles it under the same key); the result still says what happened.
"""

from __future__ import annotations

import threading
from typing import Any

from ledgerrun.clock import Clock
from ledgerrun.errors import FatalError, JournalError, StripeError
from ledgerrun.events import Events
from ledgerrun.store.model import Entry, Store
from ledgerrun.stripe.shapes import Movement
from ledgerrun.vocab import FAILED, SUCCEEDED, UNKNOWN, RowOutcome


class Recording:
    """The half of the executor that writes outcomes down."""

    run_id: str
    store: Store
    clock: Clock
    events: Events
    stop: threading.Event
    fatal: FatalError | None
    _lock: threading.Lock

    def _fatal(self, exc: FatalError) -> None:
        with self._lock:
            if self.fatal is None:
                self.fatal = exc
        self.stop.set()
        self.events.emit("run_stopping", reason=str(exc))

    def _succeeded(self, entry: Entry, movement: Movement, sent: int) -> RowOutcome:
        mismatch = _mismatch(entry, movement)
        if mismatch:
            self._record(
                lambda: self.store.record_unknown(
                    entry.key,
                    run_id=self.run_id,
                    error_code="verification_failed",
                    error_message=mismatch,
                    request_id=movement.request_id,
                    attempts=sent,
                )
            )
            return RowOutcome(
                UNKNOWN,
                movement.transfer_id,
                movement.payment_id,
                entry.idempotency_key,
                movement.request_id,
                "verification_failed",
                mismatch,
                entry.attempts + sent,
            )
        done = self.clock.now()
        self._record(
            lambda: self.store.record_success(
                entry.key,
                run_id=self.run_id,
                transfer_id=movement.transfer_id,
                payment_id=str(movement.payment_id),
                request_id=movement.request_id,
                completed_at=done,
                attempts=sent,
            )
        )
        return RowOutcome(
            SUCCEEDED,
            movement.transfer_id,
            movement.payment_id,
            entry.idempotency_key,
            movement.request_id,
            attempts=entry.attempts + sent,
            completed_at=done,
        )

    def _failed(self, entry: Entry, exc: StripeError, sent: int) -> RowOutcome:
        done = self.clock.now()
        self._record(
            lambda: self.store.record_failure(
                entry.key,
                run_id=self.run_id,
                error_code=exc.code,
                error_message=str(exc),
                request_id=exc.request_id,
                completed_at=done,
                attempts=sent,
            )
        )
        return RowOutcome(
            FAILED,
            None,
            None,
            entry.idempotency_key,
            exc.request_id,
            exc.code,
            f"{exc} (no money moved; correct the cause and run the job again: the row is sent "
            "under a new key, even with corrected values)",
            entry.attempts + sent,
            done,
        )

    def _unknown(self, entry: Entry, exc: StripeError, sent: int) -> RowOutcome:
        message = f"Outcome unknown ({exc}); run the job again to settle it."
        self._note(entry, exc, sent, message)
        return RowOutcome(
            UNKNOWN,
            None,
            None,
            entry.idempotency_key,
            exc.request_id,
            exc.code,
            message,
            entry.attempts + sent,
        )

    def _note(self, entry: Entry, exc: StripeError, sent: int, message: str = "") -> None:
        self._record(
            lambda: self.store.record_unknown(
                entry.key,
                run_id=self.run_id,
                error_code=exc.code,
                error_message=message or f"Not sent: {exc}",
                request_id=exc.request_id,
                attempts=sent,
            )
        )

    def _record(self, write: Any) -> None:
        """Record an outcome; a store that cannot take it stops the run (the row stays pending
        in the store and the next run settles it under the same key)."""
        try:
            write()
        except JournalError as exc:
            self._fatal(exc)


def _mismatch(entry: Entry, movement: Movement) -> str | None:
    """Why the object Stripe returned is not this row's, or None when it is."""
    expected = (entry.account, entry.amount_minor, entry.currency)
    got = (movement.account, movement.amount, movement.currency)
    if got != expected:
        return f"Stripe returned {got} for {expected}; check it in the dashboard."
    if not movement.transfer_id or not movement.payment_id:
        return "Stripe's answer lacks the transfer or payment id; check it in the dashboard."
    written = movement.metadata.get("ledgerrun_adjustment_id")
    if written is not None and written != entry.adjustment_id:
        from ledgerrun.ingest.identity import canonical

        prefix = movement.metadata.get("ledgerrun_id_prefix", "")
        if canonical(written, prefix) != entry.key:
            return "Stripe returned an object of another adjustment; check it in the dashboard."
    return None
