"""Send a run's rows: each row's money moved exactly once by the engine
(:mod:`ledgerrun.send.attempts.engine`), one account's rows at a time in ledger order, accounts
side by side (:mod:`ledgerrun.send.attempts.lanes`).

What to send was decided before (:mod:`ledgerrun.send.decide`): rows already done never get
here. This module only turns rows into operations, their outcomes into the results' words, and
tells the listeners (:mod:`ledgerrun.events`) as rows and accounts finish. Each account's rows
are built when its turn comes (:class:`~ledgerrun.send.items.Lane`), and each outcome is kept in
the compact :class:`~ledgerrun.send.outcomes.OutcomeLog` as its attempt ends: nothing of a row
outlives its attempt but its outcome's fields.

When the run is stopped: at the first stop, requests in flight finish and nothing new is sent;
at a hard stop (a second Ctrl-C), :meth:`Executor.run` returns at once, with every row whose
request may be on the wire ``unknown`` (the journal holds it pending; the next run settles it)
and every row not started ``skipped``. :meth:`Executor.close` must then be called before the
store is closed: it stops every thread writing to the journal and joins them.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.clock import Clock
from ledgerrun.errors import FatalError
from ledgerrun.events import AccountDone, Events, RowDone, Sending
from ledgerrun.send.attempts.engine import Engine
from ledgerrun.send.attempts.lanes import Lanes
from ledgerrun.send.attempts.moves import Item, move_for
from ledgerrun.send.attempts.outcome import Outcome
from ledgerrun.send.items import Lane, lanes_of
from ledgerrun.send.outcomes import OutcomeLog
from ledgerrun.store.model import Entry, Journal, Seen
from ledgerrun.stripe.client import Client
from ledgerrun.stripe.shapes import Movement
from ledgerrun.vocab import RowOutcome

__all__ = ["Executor", "Item", "Lane"]


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
        self.log = OutcomeLog()
        self.engine = Engine(
            client=client, clock=clock, run_id=run_id, events=events, sink=self._keep
        )
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

    def run(self, items: Sequence[Item], earlier: dict[str, Entry]) -> OutcomeLog:
        """Send every item; returns each item's outcome by ledger index."""
        keys = {item.index: item.key for item in items}
        return self.send(lanes_of(items), earlier, keys.__getitem__)

    def send(
        self, lanes: Sequence[Lane], earlier: dict[str, Entry], key_of: Callable[[int], str]
    ) -> OutcomeLog:
        """Send every lane's rows (one account's each); returns every row's outcome by ledger
        index. ``key_of`` gives a row's canonical id (to find the journal's record of it in
        ``earlier`` when it was never attempted)."""
        started = self._clock.monotonic()
        self.events.emit(
            Sending(
                rows=sum(len(lane) for lane in lanes),
                accounts={lane.account: len(lane) for lane in lanes},
            )
        )
        self._lanes = Lanes(
            lanes,
            lambda item: self._row(item, earlier.get(item.key)),
            concurrency=self.concurrency,
            done=self._account_done,
            name="account",
        ).start()
        self._lanes.wait(self.hard_stop)
        self.sending_s = self._clock.monotonic() - started
        self._settle(lanes, earlier, key_of)
        return self.log

    def _settle(
        self, lanes: Sequence[Lane], earlier: dict[str, Entry], key_of: Callable[[int], str]
    ) -> None:
        """Give every row without an outcome yet its standing now: in flight (unknown), or
        never started (see :meth:`Engine.settled`)."""
        every = pa.array([i for lane in lanes for i in lane.indices], pa.int64())
        missing = pc.filter(every, pc.invert(self.log.held(every))).to_pylist()
        settled = self.engine.settled({i: earlier.get(key_of(i)) for i in missing})
        # One that ended while it was asked about keeps its own outcome.
        self.log.close({i: row_outcome(settled[i]) for i in missing})

    def _keep(self, token: Hashable, outcome: Outcome[Any]) -> None:
        self.log.add(int(token), row_outcome(outcome))  # type: ignore[call-overload]

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
        account = lane.account if isinstance(lane, Lane) else lane[0].account
        with self._lock:
            counts = dict(self._counts.pop(account, {}))  # kept only while the account sends
        self.events.emit(AccountDone(account=account, rows=len(lane), counts=counts))


def row_outcome(outcome: Outcome[Movement] | Outcome[Any]) -> RowOutcome:
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
