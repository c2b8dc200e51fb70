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

from ledgerrun.clock import Clock
from ledgerrun.errors import FatalError
from ledgerrun.events import Events
from ledgerrun.job import Job
from ledgerrun.send.attempts.engine import Engine
from ledgerrun.send.attempts.lanes import Lanes
from ledgerrun.send.attempts.outcome import Outcome
from ledgerrun.send.attempts.undo import TransferReversal
from ledgerrun.send.reversal import requests as rq
from ledgerrun.store.model import Journal
from ledgerrun.stripe.client import Client
from ledgerrun.stripe.shapes import Reversal


@dataclass
class Line:
    """What became of one requested reversal."""

    request: rq.Request
    status: str
    reversal_object_id: str = ""
    idempotency_key: str = ""
    request_id: str = ""
    error_code: str = ""
    error: str = ""
    attempts: int = 0
    completed_at: dt.datetime | None = None
    earlier: bool = False

    def settle(self, outcome: Outcome[Reversal]) -> None:
        """Take an attempt's outcome."""
        self.status = outcome.status
        self.reversal_object_id = outcome.answer.id if outcome.answer else ""
        self.idempotency_key = outcome.idempotency_key or ""
        self.request_id = outcome.request_id or ""
        self.error_code = outcome.error_code or ""
        self.error = outcome.error_message or ""
        self.attempts = outcome.attempts
        self.completed_at = outcome.completed_at


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
        operation = TransferReversal(line.request, journal=self.store, job=self.job)
        self.engine.attempt(operation, line.request.earlier, id(line))

    def _settle_rest(self, lines: list[Line]) -> None:
        """Every line as it stands now, in one instant (a hard stop may leave some in flight:
        those are unknown; those never started, skipped)."""
        todo: dict[Hashable, Line] = {id(line): line for line in lines if not line.status}
        settled = self.engine.settled({key: line.request.earlier for key, line in todo.items()})
        for key, outcome in settled.items():
            todo[key].settle(outcome)
