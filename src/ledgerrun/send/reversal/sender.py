"""Sending reversals: each one exactly once by the engine
(:mod:`ledgerrun.send.attempts.engine`), one paying account's reversals at a time, accounts side
by side; the reversals of credits first (they bring money back to the platform), then those of
debits."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from ledgerrun.clock import Clock
from ledgerrun.errors import FatalError
from ledgerrun.events import Events
from ledgerrun.job import Job
from ledgerrun.send.attempts.engine import Engine
from ledgerrun.send.attempts.lanes import Lanes
from ledgerrun.send.attempts.operation import Operation
from ledgerrun.send.attempts.outcome import Outcome
from ledgerrun.send.attempts.undo import undo_for
from ledgerrun.send.reversal import requests as rq
from ledgerrun.store.model import FAILED, PENDING, SUCCEEDED, Journal, ReversalEntry
from ledgerrun.stripe.client import Client
from ledgerrun.stripe.shapes import Refund, Reversal
from ledgerrun.vocab import State, Status


@dataclass
class Line:
    """One reversal's line in the reversals file."""

    request: rq.Request
    status: str
    reversal_object_id: str = ""  # Stripe's trr_
    refund_id: str = ""  # Stripe's re_, when a debit was undone by a refund
    refund_status: str = ""
    idempotency_key: str = ""
    request_id: str = ""
    error_code: str = ""
    error: str = ""
    attempts: int = 0
    completed_at: dt.datetime | None = None
    earlier: bool = False  # done before this command
    method: str = ""  # how it is (or would be) undone: refund or transfer_reversal
    asked: bool = True  # asked for by this command (not only the store's record of an earlier one)
    run_id: str = ""  # the command that made (or last tried) it

    @classmethod
    def of(cls, request: rq.Request, record: ReversalEntry, *, asked: bool = True) -> Line:
        """The line of a reversal the store holds a record of, as the record stands."""
        status = {
            SUCCEEDED: Status.SUCCEEDED, FAILED: Status.FAILED, PENDING: Status.UNKNOWN
        }[State(record.state)]  # fmt: skip
        error = record.error_message or ""
        if record.state == PENDING and not error:
            error = "Sent; Stripe's answer is not known yet: run reverse again to settle it."
        return cls(
            request,
            status,
            record.reversal_object_id or "",
            record.refund_id or "",
            record.refund_status or "",
            record.idempotency_key,
            record.request_id or "",
            record.error_code or "",
            error,
            record.attempts,
            record.completed_at,
            earlier=True,
            method=record.method,
            asked=asked,
            run_id=record.run_id or "",
        )

    def settle(self, outcome: Outcome[Reversal] | Outcome[Refund]) -> None:
        """Take an attempt's outcome."""
        self.status = outcome.status
        answer = outcome.answer
        if isinstance(answer, Refund):
            self.refund_id, self.refund_status = answer.id, answer.status
            self.reversal_object_id = answer.source_transfer_reversal or ""
        else:
            self.reversal_object_id = answer.id if answer else ""
        self.method = undo_for(self.request).method if self.request.entry else ""
        self.idempotency_key = outcome.idempotency_key or ""
        self.request_id = outcome.request_id or ""
        self.error_code = outcome.error_code or ""
        self.error = outcome.error_message or ""
        self.attempts = outcome.attempts
        self.completed_at = outcome.completed_at
        self.earlier = outcome.earlier


class Sender:
    """Send reversals exactly once, in two phases (credits' reversals, then debits')."""

    def __init__(
        self,
        job: Job,
        run_id: str,
        client: Client,
        store: Journal,
        clock: Clock,
        events: Events | None = None,
        hard_stop: threading.Event | None = None,
    ) -> None:
        self.job, self.store = job, store
        self.hard_stop = hard_stop or threading.Event()
        self.engine = Engine(client=client, clock=clock, run_id=run_id, events=events or Events())
        self._lanes: list[Lanes[Line]] = []

    @property
    def fatal(self) -> FatalError | None:
        return self.engine.fatal

    @property
    def notes(self) -> list[str]:
        return self.engine.notes

    def send(self, lines: list[Line]) -> None:
        self._phase([line for line in lines if not line.request.context])
        self._phase([line for line in lines if line.request.context])
        self._settle_rest(lines)

    def close(self, timeout: float = 30.0) -> None:
        """Stop every sending thread writing to the journal, and join them."""
        self.engine.close(timeout)
        for lanes in self._lanes:
            lanes.close(timeout)

    def _phase(self, lines: list[Line]) -> None:
        if not lines or self.hard_stop.is_set():
            return
        by_payer: dict[str, list[Line]] = defaultdict(list)
        for line in lines:
            by_payer[line.request.context or ""].append(line)
        lanes = Lanes(
            list(by_payer.values()),
            self._one,
            concurrency=self.job.stripe.concurrency,
            name="reversal",
        ).start()
        self._lanes.append(lanes)
        lanes.wait(self.hard_stop)

    def _one(self, line: Line) -> None:
        way = undo_for(line.request)  # a refund for a debit, a transfer reversal for a credit
        operation: Operation[ReversalEntry, Any] = way(
            line.request, journal=self.store, job=self.job
        )
        self.engine.attempt(operation, line.request.earlier, id(line))

    def _settle_rest(self, lines: list[Line]) -> None:
        """Every line as it stands now, in one instant (a hard stop may leave some in flight:
        those are unknown; those never started, skipped)."""
        todo: dict[Hashable, Line] = {id(line): line for line in lines if not line.status}
        settled = self.engine.settled({key: line.request.earlier for key, line in todo.items()})
        for key, outcome in settled.items():
            todo[key].settle(outcome)
