"""Move each row's money exactly once, recording the intent before and the outcome after every
request.

For one row the decision is taken from the store (and the guard's findings):

* nothing known, or only definitive failures: write the intent (the next generation after a
  failure, so a corrected row gets a new key), then send with its idempotency key;
* pending (an earlier attempt whose outcome is unknown): within 23 hours of that attempt, send
  the very request recorded with its recorded key (Stripe replays it if it executed); later,
  take what the guard found in Stripe: the object if it exists, else send again;
* succeeded earlier, or found done in Stripe by the guard: nothing is sent (decided before
  the executor, in the runner).

How each answer ends (see :mod:`ledgerrun.errors`): a refusal is ``failed``; an answer that may
have executed is ``unknown``; a request Stripe never executed (a 429, no connection, the breaker
open, a stop) is ``skipped`` unless an earlier attempt of it may have executed, then it is
``unknown``. A broken store or a refused key stops the run: nothing more is sent.

Rows of one account go one at a time, in ledger order; accounts run in parallel, largest first,
on daemon threads, so a second Ctrl-C can end the command at once: the rows in flight are then
``unknown`` and the next run settles them from their intents.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ledgerrun.clock import Clock
from ledgerrun.errors import (
    FatalError,
    JournalError,
    NotExecutedError,
    RefusedError,
    StripeError,
)
from ledgerrun.events import AccountDone, Events, RowDone, Sending
from ledgerrun.send.ages import STALE_AFTER, age
from ledgerrun.send.keys import idempotency_key
from ledgerrun.send.record import Recording
from ledgerrun.store.model import FAILED as S_FAILED
from ledgerrun.store.model import PENDING, Entry, Seen, Store
from ledgerrun.stripe.client import Client, SentCount
from ledgerrun.stripe.shapes import Movement
from ledgerrun.vocab import (
    SKIPPED,
    UNKNOWN,
    Direction,
    RowOutcome,
    money_text,
)


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
        return "credit" if self.direction == Direction.CREDIT else "debit"

    @property
    def amount_text(self) -> str:
        return money_text(self.amount, self.currency)


class Executor(Recording):
    def __init__(
        self,
        *,
        job: str,
        run_id: str,
        run_date: str,
        client: Client,
        store: Store,
        clock: Clock,
        events: Events,
        concurrency: int,
        found: dict[str, Seen] | None = None,
    ) -> None:
        self.job = job
        self.run_id = run_id
        self.run_date = run_date
        self.client = client
        self.store = store
        self.clock = clock
        self.events = events
        self.concurrency = max(1, concurrency)
        self.found = found or {}
        self.stop = client.stop
        self.hard_stop = threading.Event()
        self.fatal: FatalError | None = None
        self.sending_s = 0.0
        self.items: list[Item] = []
        self._lock = threading.Lock()
        self._outcomes: dict[int, RowOutcome] = {}
        self._inflight: dict[int, Item] = {}

    # --- the run ---------------------------------------------------------------------------

    def run(self, items: Sequence[Item], earlier: dict[str, Entry]) -> dict[int, RowOutcome]:
        """Send every item; returns each item's outcome by ledger index."""
        self.items = list(items)
        by_account: dict[str, list[Item]] = defaultdict(list)
        for item in items:
            by_account[item.account].append(item)
        work: queue.Queue[list[Item]] = queue.Queue()
        for rows in sorted(by_account.values(), key=len, reverse=True):
            work.put(rows)
        started = self.clock.monotonic()
        self.events.emit(
            Sending(rows=len(items), accounts={a: len(r) for a, r in by_account.items()})
        )

        def worker() -> None:
            while True:
                try:
                    rows = work.get_nowait()
                except queue.Empty:
                    return
                counts: Counter[str] = Counter()
                for item in rows:
                    outcome = self._row(item, earlier.get(item.key))
                    counts[outcome.status] += 1
                self.events.emit(
                    AccountDone(account=rows[0].account, rows=len(rows), counts=dict(counts))
                )

        threads = [
            threading.Thread(target=worker, name=f"account-{n}", daemon=True)
            for n in range(min(self.concurrency, len(by_account)) or 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive() and not self.hard_stop.is_set():
                thread.join(0.1)
        self.sending_s = self.clock.monotonic() - started
        with self._lock:
            outcomes = dict(self._outcomes)
            inflight = dict(self._inflight)
        for index in inflight:
            outcomes[index] = RowOutcome(
                UNKNOWN,
                error_code="stopped",
                error_message="Stopped while this request was in flight: run the job again to "
                "settle it (it is never sent twice).",
            )
        for item in self.items:
            outcomes.setdefault(item.index, _stopped(None, "The run stopped before this row."))
        return outcomes

    def _row(self, item: Item, entry: Entry | None) -> RowOutcome:
        try:
            outcome = self._settle(item, entry)
        finally:
            with self._lock:
                self._inflight.pop(item.index, None)
        with self._lock:
            if self.hard_stop.is_set():
                return outcome  # the main thread has written the results already
            self._outcomes[item.index] = outcome
        self.events.emit(
            RowDone(
                row=item.row,
                adjustment_id=item.adjustment_id,
                account=item.account,
                amount_minor=item.amount,
                amount=item.amount_text,
                currency=item.currency,
                direction=item.direction,
                outcome=outcome,
            )
        )
        return outcome

    def _settle(self, item: Item, entry: Entry | None) -> RowOutcome:
        if self.stop.is_set() or self.client.breaker.is_open or self.fatal is not None:
            reason = "stripe_unavailable" if self.client.breaker.is_open else "stopped"
            pending = entry is not None and entry.state == PENDING
            return _stopped(entry, f"Not sent: {_why(reason)}", reason, unknown=pending)
        try:
            if entry is None:
                return self._send(self._intent(item, 0, 0), fresh=True)
            if entry.state == S_FAILED:
                return self._send(self._intent(item, entry.generation + 1, entry.attempts), True)
            return self._resolve(entry)
        except JournalError as exc:
            self._fatal(exc)
            return _stopped(entry, f"Not sent: the journal could not record it ({exc}).")

    def _intent(self, item: Item, generation: int, attempts: int) -> Entry:
        now = self.clock.now()
        entry = Entry(
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
            attempts=attempts,
            attempted_at=now,
            attempted_at_server=now + (self.client.gateway.server_offset or dt.timedelta()),
            run_id=self.run_id,
        )
        self.store.record_intent(entry)
        return entry

    def _resolve(self, entry: Entry) -> RowOutcome:
        """A pending row: resend under the same key while Stripe keeps it, else take what the
        guard found, and send only when Stripe holds nothing."""
        if self._age(entry) < STALE_AFTER:
            return self._send(entry, fresh=False)
        seen = self.found.get(entry.key)
        if seen is not None:
            movement = Movement(
                direction=Direction(entry.direction),
                method=entry.method,
                transfer_id=seen.transfer_id,
                payment_id=seen.payment_id,
                account=seen.account,
                amount=seen.amount,
                currency=seen.currency,
                created=seen.created,
                transfer_group=None,
            )
            return self._succeeded(entry, movement, 0)
        now = self.clock.now()
        fresh = replace(
            entry,
            attempted_at=now,
            attempted_at_server=now + (self.client.gateway.server_offset or dt.timedelta()),
            run_id=self.run_id,
        )
        self.store.record_intent(fresh)
        return self._send(fresh, fresh=False)

    def _age(self, entry: Entry) -> dt.timedelta:
        return age(entry, self.clock.now(), self.client.gateway.server_offset)

    def _send(self, entry: Entry, fresh: bool) -> RowOutcome:
        """Send the entry's request under its key. ``fresh``: no earlier attempt of this
        generation may have executed, so a request Stripe never executed leaves it skipped."""
        counter = SentCount()
        with self._lock:
            self._inflight[self._index(entry)] = self._item(entry)
        try:
            if entry.direction == Direction.CREDIT:
                movement = self.client.credit(entry.request, entry.idempotency_key, counter)
            else:
                movement = self.client.debit(
                    entry.method, entry.account, entry.request, entry.idempotency_key, counter
                )
        except RefusedError as exc:
            return self._failed(entry, exc, counter.sent)
        except NotExecutedError as exc:
            if fresh and not exc.uncertain:
                self._note(entry, exc, counter.sent)
                return RowOutcome(
                    SKIPPED,
                    idempotency_key=entry.idempotency_key,
                    request_id=exc.request_id,
                    error_code=exc.code,
                    error_message=f"Not sent: {exc} (nothing was executed; run the job again).",
                    attempts=entry.attempts + counter.sent,
                )
            return self._unknown(entry, exc, counter.sent)
        except StripeError as exc:
            return self._unknown(entry, exc, counter.sent)
        except FatalError as exc:
            self._fatal(exc)
            return _stopped(entry, f"Not sent: {exc}", "stopped", unknown=not fresh)
        return self._succeeded(entry, movement, counter.sent)

    def _index(self, entry: Entry) -> int:
        return self._by_key()[entry.key].index

    def _item(self, entry: Entry) -> Item:
        return self._by_key()[entry.key]

    def _by_key(self) -> dict[str, Item]:
        cached: dict[str, Item] | None = getattr(self, "_items_by_key", None)
        if cached is None:
            cached = {item.key: item for item in self.items}
            self._items_by_key = cached
        return cached


def _why(reason: str) -> str:
    if reason == "stripe_unavailable":
        return "Stripe stopped answering, so the run stopped sending; run the job again later."
    return "the run was stopped before this row was sent; run the job again to send it."


def _stopped(
    entry: Entry | None, message: str, code: str = "stopped", *, unknown: bool = False
) -> RowOutcome:
    return RowOutcome(
        UNKNOWN if unknown else SKIPPED,
        idempotency_key=entry.idempotency_key if entry else None,
        error_code=code,
        error_message=message,
        attempts=entry.attempts if entry else 0,
    )
