"""What an operation tells the engine about itself: :class:`Operation`.

An operation is one kind of money movement ledgerrun makes exactly once: a debit by transfer, a
debit by charge, a credit, a transfer reversal, a refund. Each is a small class (see
:mod:`~ledgerrun.send.attempts.moves` and :mod:`~ledgerrun.send.attempts.undo`) built for one
task (a ledger row, a requested reversal) that says how the task's journal record of a new
attempt is made, how its request is sent, how it is found in Stripe's books when an old attempt
must be settled, whether Stripe's answer is really its own, and how each step is recorded. The
engine (:mod:`~ledgerrun.send.attempts.engine`) does everything else, once for all of them.
"""

from __future__ import annotations

import abc
import datetime as dt
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from ledgerrun.errors import StripeError
from ledgerrun.stripe.client import Client, SentCount


class Record(Protocol):
    """What the engine reads of a journal record of an attempt (an adjustment's
    :class:`~ledgerrun.store.model.Entry`, a :class:`~ledgerrun.store.model.ReversalEntry`)."""

    @property
    def key(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def generation(self) -> int: ...
    @property
    def idempotency_key(self) -> str: ...
    @property
    def request(self) -> dict[str, Any]: ...
    @property
    def attempts(self) -> int: ...
    @property
    def attempted_at(self) -> dt.datetime: ...
    @property
    def attempted_at_server(self) -> dt.datetime: ...
    @property
    def run_id(self) -> str | None: ...


class Stamp(NamedTuple):
    """When a new attempt is made: on our clock, on Stripe's (by the offset read from its
    answers), and by which command."""

    at: dt.datetime
    at_server: dt.datetime
    run_id: str


R = TypeVar("R", bound=Record)
A = TypeVar("A")


class Operation(Protocol[R, A]):
    """One task's operation; ``R`` is its journal record, ``A`` Stripe's answer."""

    @property
    def again(self) -> str:
        """What a person does to finish it ("run the job again", "run reverse again")."""
        ...

    @property
    def refused(self) -> str:
        """What a refusal means for it, said after Stripe's own message."""
        ...

    def intent(self, earlier: R | None, generation: int, stamp: Stamp) -> R:
        """The pending record of a new attempt of ``generation`` (its key, its request)."""
        ...

    def send(self, client: Client, record: R, counter: SentCount) -> A:
        """Send the record's request under its idempotency key (through the client, which
        paces and retries it); Stripe's answer, or the client's error."""
        ...

    def find(self, client: Client, record: R) -> A | None:
        """Look in Stripe for what a pending attempt older than Stripe keeps keys for made;
        None when Stripe holds nothing. May raise a StripeError (then nothing is decided)."""
        ...

    def mismatch(self, record: R, answer: A) -> str | None:
        """Why ``answer`` is not this record's object (then the outcome is ``unknown``), or
        None when it is."""
        ...

    def request_id(self, answer: A) -> str | None: ...

    # the journal
    def save_intent(self, record: R) -> None: ...
    def save_success(
        self, record: R, answer: A, *, run_id: str, at: dt.datetime, sent: int
    ) -> None: ...
    def save_failure(
        self, record: R, error: StripeError, *, run_id: str, at: dt.datetime, sent: int
    ) -> None: ...
    def save_unknown(
        self,
        record: R,
        *,
        run_id: str,
        code: str,
        message: str,
        request_id: str | None,
        sent: int,
    ) -> None: ...


class FailureWriter(Protocol):
    """A journal's writer of a failed attempt (``record_failure``, ``record_reversal_failure``)."""

    def __call__(
        self, key: str, *, run_id: str, error_code: str, error_message: str,
        request_id: str | None, completed_at: dt.datetime, attempts: int = 0, wait: bool = True,
    ) -> None: ...  # fmt: skip


class UnknownWriter(Protocol):
    """A journal's writer of an attempt whose outcome is unknown (``record_unknown``, ...)."""

    def __call__(
        self, key: str, *, run_id: str, error_code: str, error_message: str,
        request_id: str | None, attempts: int = 0, wait: bool = True,
    ) -> None: ...  # fmt: skip


class Recorded(abc.ABC, Generic[R]):
    """How every operation records a refusal and an unknown outcome: the same fields, written
    by its journal's writers of its kind of record."""

    @abc.abstractmethod
    def failures(self) -> FailureWriter:
        """The journal's writer of a failed attempt of this kind of record."""

    @abc.abstractmethod
    def unknowns(self) -> UnknownWriter:
        """The journal's writer of an attempt of this kind whose outcome is unknown."""

    def save_failure(
        self, record: R, error: StripeError, *, run_id: str, at: dt.datetime, sent: int
    ) -> None:
        self.failures()(
            record.key,
            run_id=run_id,
            error_code=error.code,
            error_message=str(error),
            request_id=error.request_id,
            completed_at=at,
            attempts=sent,
            wait=False,  # committed with the next transaction: see the engine
        )

    def save_unknown(
        self,
        record: R,
        *,
        run_id: str,
        code: str,
        message: str,
        request_id: str | None,
        sent: int,
    ) -> None:
        self.unknowns()(
            record.key,
            run_id=run_id,
            error_code=code,
            error_message=message,
            request_id=request_id,
            attempts=sent,
            wait=False,  # committed with the next transaction: see the engine
        )
