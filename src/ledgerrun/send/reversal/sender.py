"""Sending reversals exactly once: the intent (with the reversal's own key) before the request,
the outcome after; a pending reversal is resent under its key within 23 hours, later looked up
among the transfer's reversals first. One account's reversals go one at a time."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from ledgerrun.clock import Clock
from ledgerrun.errors import FatalError, JournalError, NotExecutedError, RefusedError, StripeError
from ledgerrun.job import Job
from ledgerrun.send import reversals as rq
from ledgerrun.send.ages import STALE_AFTER, age
from ledgerrun.send.keys import (
    META_ADJUSTMENT,
    META_JOB,
    META_PREFIX,
    META_REASON,
    META_REVERSAL,
    META_RUN_DATE,
)
from ledgerrun.store.model import FAILED, ReversalEntry, Store
from ledgerrun.stripe import facts
from ledgerrun.stripe.client import Client, SentCount
from ledgerrun.stripe.shapes import Reversal
from ledgerrun.vocab import Status


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


class Sender:
    """Send reversals exactly once: intent, request, outcome; one account at a time each."""

    def __init__(self, job: Job, run_id: str, client: Client, store: Store, clock: Clock):
        self.job, self.run_id, self.client, self.store, self.clock = (
            job,
            run_id,
            client,
            store,
            clock,
        )

    def send(self, lines: list[Line]) -> None:
        """Credits' reversals first (they bring money back to the platform), then debits'."""
        credits = [line for line in lines if not line.request.context]
        self._phase(credits)
        self._phase([line for line in lines if line.request.context])

    def _phase(self, lines: list[Line]) -> None:
        by_context: dict[str, list[Line]] = defaultdict(list)
        for line in lines:
            by_context[line.request.context or ""].append(line)

        def work(group: list[Line]) -> None:
            for line in group:
                self._one(line)

        workers = max(1, min(self.job.stripe.concurrency, len(by_context)))
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, by_context.values()))

    def _one(self, line: Line) -> None:
        r = line.request
        earlier = r.earlier
        try:
            if earlier is None or earlier.state == FAILED:
                entry = self._intent(r, earlier.attempts if earlier else 0)
            elif age(earlier, self.clock.now(), self.client.gateway.server_offset) < STALE_AFTER:
                entry = earlier
            else:
                found = self._look_up(earlier)
                if found is not None:
                    self._record_success(line, earlier, found, 0)
                    return
                now = self.clock.now()
                entry = replace(
                    earlier, attempted_at=now, attempted_at_server=now, run_id=self.run_id
                )
                self.store.record_reversal_intent(entry)
        except JournalError as exc:
            line.status, line.error_code, line.error = Status.SKIPPED, "stopped", str(exc)
            self.client.stop.set()
            return
        except StripeError as exc:
            line.status, line.error_code, line.error = Status.UNKNOWN, exc.code, str(exc)
            return
        line.idempotency_key = entry.idempotency_key
        counter = SentCount()
        try:
            reversal = self.client.reverse(
                entry.transfer_id,
                entry.context or None,
                entry.request,
                entry.idempotency_key,
                counter,
            )
        except RefusedError as exc:
            line.status, line.error_code = Status.FAILED, exc.code
            line.error = f"{exc} (nothing was reversed)"
            line.completed_at = self.clock.now()
            self._failed(entry, exc, counter.sent, line.completed_at)
        except NotExecutedError as exc:
            fresh = earlier is None or earlier.state == FAILED
            line.status = Status.SKIPPED if fresh and not exc.uncertain else Status.UNKNOWN
            line.error_code, line.error = exc.code, f"Not sent: {exc}"
            self._note(entry, exc, counter.sent)
        except StripeError as exc:
            line.status, line.error_code = Status.UNKNOWN, exc.code
            line.error = f"Outcome unknown ({exc}); run reverse again to settle it."
            self._note(entry, exc, counter.sent)
        except FatalError as exc:
            line.status, line.error_code = Status.UNKNOWN, "stopped"
            line.error = f"Outcome unknown ({exc}); run reverse again to settle it."
            self.client.stop.set()
        else:
            self._record_success(line, entry, reversal, counter.sent)
        line.attempts = entry.attempts + counter.sent

    def _intent(self, r: rq.Request, attempts: int) -> ReversalEntry:
        assert r.entry is not None and r.amount_minor is not None
        now = self.clock.now()
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
            request["description"] = r.reason[:1000]
        entry = rq.intent_of(
            r,
            self.job,
            amount_minor=r.amount_minor,
            request=request,
            attempts=attempts,
            attempted_at=now,
            attempted_at_server=now + (self.client.gateway.server_offset or dt.timedelta()),
            run_id=self.run_id,
        )
        self.store.record_reversal_intent(entry)
        return entry

    def _look_up(self, entry: ReversalEntry) -> Reversal | None:
        for reversal in self.client.reversals(entry.transfer_id, entry.context or None):
            if reversal.metadata.get(META_REVERSAL) == entry.key:
                return reversal
        return None

    def _record_success(
        self, line: Line, entry: ReversalEntry, reversal: Reversal, sent: int
    ) -> None:
        done = self.clock.now()
        line.status, line.reversal_object_id = Status.SUCCEEDED, reversal.id
        line.request_id, line.completed_at = reversal.request_id or "", done
        line.idempotency_key = entry.idempotency_key
        try:
            self.store.record_reversal_success(
                entry.key,
                run_id=self.run_id,
                reversal_object_id=reversal.id,
                request_id=reversal.request_id,
                completed_at=done,
                attempts=sent,
            )
        except JournalError:
            self.client.stop.set()  # the next run settles it under the same key

    def _failed(self, entry: ReversalEntry, exc: StripeError, sent: int, done: dt.datetime) -> None:
        try:
            self.store.record_reversal_failure(
                entry.key,
                run_id=self.run_id,
                error_code=exc.code,
                error_message=str(exc),
                request_id=exc.request_id,
                completed_at=done,
                attempts=sent,
            )
        except JournalError:
            self.client.stop.set()

    def _note(self, entry: ReversalEntry, exc: StripeError, sent: int) -> None:
        try:
            self.store.record_reversal_unknown(
                entry.key,
                run_id=self.run_id,
                error_code=exc.code,
                error_message=str(exc),
                request_id=exc.request_id,
                attempts=sent,
            )
        except JournalError:
            self.client.stop.set()
