"""What became of one attempt: :class:`Outcome`, the engine's answer for every operation."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, NamedTuple, TypeVar

from ledgerrun.send.attempts.operation import Record
from ledgerrun.store.model import PENDING
from ledgerrun.vocab import Status

A = TypeVar("A")

STOPPED_IN_FLIGHT = (
    "Stopped while this request was in flight: run it again to settle it (it is never sent twice)."
)


class Outcome(NamedTuple, Generic[A]):
    """What became of one attempt (or of a task the engine never started)."""

    status: Status
    answer: A | None = None  # Stripe's object: the one made, or (unknown) one that did not match
    idempotency_key: str | None = None
    request_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 0  # requests sent for this task, over all its attempts
    completed_at: dt.datetime | None = None
    earlier: bool = False  # done before this command (by an earlier one, or found in Stripe)


def not_sent(record: Record | None, code: str, message: str) -> Outcome[Any]:
    """A task left alone: ``skipped``, or ``unknown`` when an earlier attempt is still pending
    (its request may have executed)."""
    pending = record is not None and record.state == PENDING
    return Outcome(
        Status.UNKNOWN if pending else Status.SKIPPED,
        idempotency_key=record.idempotency_key if record else None,
        error_code=code,
        error_message=message,
        attempts=record.attempts if record else 0,
    )
