"""Send a run's rows: each row's money moved exactly once by the engine
(:mod:`ledgerrun.send.attempts.engine`), one account's rows at a time in ledger order, accounts
side by side (:mod:`ledgerrun.send.attempts.lanes`).

What to send was decided before (:mod:`ledgerrun.send.decide`): rows already done never get
here. This module only turns rows into operations, their outcomes into the results' words, and
tells the listeners (:mod:`ledgerrun.events`) as rows and accounts finish.

When the run is stopped: at the first stop, requests in flight finish and nothing new is sent;
at a hard stop (a second Ctrl-C), :meth:`Executor.run` returns at once, with every row whose
request may be on the wire ``unknown`` (the journal holds it pending; the next run settles it)
and every row not started ``skipped``. :meth:`Executor.close` must then be called before the
store is closed: it stops every thread writing to the journal and joins them.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Sequence

from ledgerrun.clock import Clock
from ledgerrun.errors import FatalError
from ledgerrun.events import AccountDone, Events, RowDone, Sending
from ledgerrun.send.attempts.engine import Engine
from ledgerrun.send.attempts.lanes import Lanes
from ledgerrun.send.attempts.moves import Item, move_for
from ledgerrun.send.attempts.outcome import Outcome
from ledgerrun.store.model import Entry, Journal, Seen
from ledgerrun.stripe.client import Client
from ledgerrun.stripe.shapes import Movement
from ledgerrun.vocab import RowOutcome

__all__ = ["Executor", "Item"]


class Executor:
    def __init__(
        self,
        *,
        job: str,
        run_id: str,
        run_date: str,
        client: Client,
        store: Journal,
        clock: Clock,
        events: Events,
        concurrency: int,
        found: dict[str, Seen] | None = None,
        hard_stop: threading.Event | None = None,
        batch: str = "",
    ) -> None:
        self.job = job
        self.batch = batch
        self.run_date = run_date
        self.store = store
        self.events = events
        self.concurrency = max(1, concurrency)
        self.found = found or {}
        self.hard_stop = hard_stop or threading.Event()
        self.engine = Engine(client=client, clock=clock, run_id=run_id, events=events)
        self.sending_s = 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, Counter[str]] = defaultdict(Counter)
        self._lanes: Lanes[Item] | None = None

    @property
    def fatal(self) -> FatalError | None:
        return self.engine.fatal

    @property
    def notes(self) -> list[str]:
        return self.engine.notes

    def run(self, items: Sequence[Item], earlier: dict[str, Entry]) -> dict[int, RowOutcome]:
        """Send every item; returns each item's outcome by ledger index."""
        by_account: dict[str, list[Item]] = defaultdict(list)
        for item in items:
            by_account[item.account].append(item)
        started = self._clock.monotonic()
        self.events.emit(
            Sending(rows=len(items), accounts={a: len(r) for a, r in by_account.items()})
        )
        self._lanes = Lanes(
            list(by_account.values()),
            lambda item: self._row(item, earlier.get(item.key)),
            concurrency=self.concurrency,
            done=self._account_done,
            name="account",
        ).start()
        self._lanes.wait(self.hard_stop)
        self.sending_s = self._clock.monotonic() - started
        settled = self.engine.settled({item.index: earlier.get(item.key) for item in items})
        return {index: row_outcome(outcome) for index, outcome in settled.items()}  # type: ignore[misc]

    def close(self, timeout: float = 30.0) -> None:
        """Stop every sending thread writing to the journal, and join them."""
        self.engine.close(timeout)
        if self._lanes is not None:
            self._lanes.close(timeout)

    def _row(self, item: Item, earlier: Entry | None) -> None:
        operation = move_for(item)(
            item,
            journal=self.store,
            job=self.job,
            run_date=self.run_date,
            found=self.found.get(item.key),
            batch=self.batch,
        )
        outcome = row_outcome(self.engine.attempt(operation, earlier, item.index))
        if self.hard_stop.is_set():
            return  # the results are written without it: the journal has the truth
        with self._lock:
            self._counts[item.account][outcome.status] += 1
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

    def _account_done(self, lane: Sequence[Item]) -> None:
        account = lane[0].account
        with self._lock:
            counts = dict(self._counts[account])
        self.events.emit(AccountDone(account=account, rows=len(lane), counts=counts))


def row_outcome(outcome: Outcome[Movement]) -> RowOutcome:
    """An attempt's outcome in the results' words."""
    answer = outcome.answer
    return RowOutcome(
        outcome.status,
        answer.transfer_id if answer else None,
        answer.payment_id if answer else None,
        outcome.idempotency_key,
        outcome.request_id,
        outcome.error_code,
        outcome.error_message,
        outcome.attempts,
        outcome.completed_at,
        outcome.earlier,
    )
