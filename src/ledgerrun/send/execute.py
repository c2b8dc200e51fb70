"""Send each row's debit exactly once, journalling before and after every request.

For one row the decision is taken from the journal alone:

* no entry, or a definitive failure earlier: write the intent (a new generation after a failure),
  then send with its idempotency key;
* pending (an earlier attempt whose outcome is unknown): within 23 hours of that attempt, send the
  same request with the same key (Stripe replays it if it executed); later, look the debit up in
  Stripe first and send only if none exists;
* succeeded earlier: nothing is sent; the row keeps that run's IDs.

Rows of one account go one at a time, in ledger order; accounts run in parallel, largest first;
every request takes a token from the run's bucket (see :class:`ledgerrun.stripe.client.Caller`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from ledgerrun.clock import Clock
from ledgerrun.errors import (
    KeyConflictError,
    RowError,
    StripeErrorMixin,
    StripeFatalError,
)
from ledgerrun.events import Events
from ledgerrun.outcome import FAILED, SKIPPED, SUCCEEDED, UNKNOWN, RowOutcome
from ledgerrun.send.keys import META_ADJUSTMENT, META_JOB, idempotency_key, transfer_group
from ledgerrun.store import sqlite as jr
from ledgerrun.stripe import lookup
from ledgerrun.stripe.client import Caller, GaveUp, SentCount
from ledgerrun.stripe.gateway import Debit, Gateway

STALE_AFTER = dt.timedelta(hours=23)  # Stripe prunes keys after 24 hours; keep an hour's margin
LOOKUP_MARGIN = dt.timedelta(minutes=10)  # clock skew allowance when searching by creation time


@dataclass(frozen=True)
class Item:
    """One valid row to debit."""

    index: int  # position in the ledger, 0-based
    row: int  # spreadsheet row number
    adjustment_id: str
    account: str
    currency: str
    amount: int
    method: str
    request: dict[str, Any]  # API params for a first send


class Executor:
    def __init__(
        self,
        *,
        job: str,
        run_id: str,
        gateway: Gateway,
        journal: jr.Journal,
        caller: Caller,
        clock: Clock,
        events: Events,
        concurrency: int,
    ) -> None:
        self.job = job
        self.run_id = run_id
        self.gateway = gateway
        self.journal = journal
        self.caller = caller
        self.clock = clock
        self.events = events
        self.concurrency = max(1, concurrency)
        self.stop = caller.stop
        self.fatal: StripeFatalError | None = None
        self.sending_s = 0.0  # how long run() took, on the monotonic clock
        self.items: list[Item] = []

    def run(self, items: Sequence[Item], earlier: dict[str, jr.Entry]) -> dict[int, RowOutcome]:
        """Debit every item; returns each item's outcome by ledger index."""
        self.items = list(items)
        by_account: dict[str, list[Item]] = defaultdict(list)
        for item in items:
            by_account[item.account].append(item)
        order = sorted(by_account.values(), key=len, reverse=True)
        outcomes: dict[int, RowOutcome] = {}
        lock = threading.Lock()
        started = self.clock.monotonic()
        self.events.emit(
            "sending", rows=len(items), accounts={rows[0].account: len(rows) for rows in order}
        )

        def work(rows: list[Item]) -> None:
            mine = {item.index: self._row(item, earlier.get(item.adjustment_id)) for item in rows}
            with lock:
                outcomes.update(mine)
            counts = Counter(o.status for o in mine.values())
            self.events.emit(
                "account_done", account=rows[0].account, rows=len(rows), counts=dict(counts)
            )

        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="account") as pool:
            for future in [pool.submit(work, rows) for rows in order]:
                future.result()
        self.sending_s = self.clock.monotonic() - started
        return outcomes

    # --- one row ---------------------------------------------------------------------------

    def _row(self, item: Item, entry: jr.Entry | None) -> RowOutcome:
        outcome = self._settle(item, entry)
        self.events.emit("row_done", item=item, outcome=outcome)
        return outcome

    def _settle(self, item: Item, entry: jr.Entry | None) -> RowOutcome:
        if entry is not None and entry.state == jr.SUCCEEDED:
            return earlier_outcome(entry)
        if self.stop.is_set():
            return RowOutcome(
                SKIPPED,
                idempotency_key=entry.idempotency_key if entry else None,
                error_code="stopped",
                error_message="The run stopped before this row was sent.",
            )
        if entry is None:
            return self._send(self._intent(item, 0, 0))
        if entry.state == jr.FAILED:
            return self._send(self._intent(item, entry.generation + 1, entry.attempts))
        return self._resolve(entry)

    def _intent(self, item: Item, generation: int, attempts: int) -> jr.Entry:
        now = self.clock.now()
        entry = jr.Entry(
            job=self.job,
            adjustment_id=item.adjustment_id,
            account=item.account,
            currency=item.currency,
            amount_minor=item.amount,
            method=item.method,
            state=jr.PENDING,
            generation=generation,
            idempotency_key=idempotency_key(self.job, item.adjustment_id, generation),
            request=item.request,
            attempts=attempts,
            attempted_at=now,
            attempted_at_server=now + (self.gateway.server_offset or dt.timedelta()),
            run_id=self.run_id,
        )
        self.journal.record_intent(entry)
        return entry

    def _resolve(self, entry: jr.Entry) -> RowOutcome:
        """A pending row: resend under the same key while Stripe keeps it, else look first."""
        if self._age(entry) < STALE_AFTER:
            return self._send(entry)
        try:
            found = self._lookup(entry)
        except GaveUp as exc:
            return self._unknown(entry, exc.error, 0)
        except RowError as exc:
            return self._unknown(entry, exc, 0)
        if found is not None:
            return self._succeeded(entry, found, 0)
        # Nothing exists: the earlier request never executed. Send again, recording a fresh
        # intent time so the next run ages this attempt from now.
        now = self.clock.now()
        fresh = replace(
            entry,
            attempted_at=now,
            attempted_at_server=now + (self.gateway.server_offset or dt.timedelta()),
            run_id=self.run_id,
        )
        self.journal.record_intent(fresh)
        return self._send(fresh)

    def _age(self, entry: jr.Entry) -> dt.timedelta:
        """The older of the two readings: by this machine's clock and by Stripe's."""
        now = self.clock.now()
        server_now = now + (self.gateway.server_offset or dt.timedelta())
        return max(now - entry.attempted_at, server_now - entry.attempted_at_server)

    def _lookup(self, entry: jr.Entry) -> Debit | None:
        """The debit of this adjustment made since its attempt (minus clock-skew margin)."""
        since = int((entry.attempted_at_server - LOOKUP_MARGIN).timestamp())
        group = transfer_group(self.job)
        for debit in lookup.debits(
            self.caller, self.gateway, entry.method, entry.account, group, since
        ):
            meta = debit.metadata
            if meta.get(META_ADJUSTMENT) == entry.adjustment_id and meta.get(META_JOB) == self.job:
                return debit
        return None

    def _send(self, entry: jr.Entry) -> RowOutcome:
        counter = SentCount()
        try:
            debit = self.caller.call(
                lambda: self.gateway.debit(
                    entry.method, entry.account, entry.request, entry.idempotency_key
                ),
                counter,
            )
        except GaveUp as exc:
            return self._unknown(entry, exc.error, counter.sent)
        except KeyConflictError as exc:
            return self._unknown(entry, exc, counter.sent)
        except RowError as exc:
            return self._failed(entry, exc, counter.sent)
        except StripeFatalError as exc:
            self.fatal = exc
            self.stop.set()
            return self._unknown(entry, exc, counter.sent)
        return self._succeeded(entry, debit, counter.sent)

    # --- recording outcomes -----------------------------------------------------------------

    def _succeeded(self, entry: jr.Entry, debit: Debit, sent: int) -> RowOutcome:
        mismatch = _mismatch(entry, debit)
        if mismatch:
            self.journal.record_unknown(
                self.job,
                entry.adjustment_id,
                run_id=self.run_id,
                error_code="verification_failed",
                error_message=mismatch,
                request_id=debit.request_id,
                attempts=sent,
            )
            return RowOutcome(
                UNKNOWN,
                debit.transfer_id,
                debit.payment_id,
                entry.idempotency_key,
                debit.request_id,
                "verification_failed",
                mismatch,
                entry.attempts + sent,
            )
        done = self.clock.now()
        self.journal.record_success(
            self.job,
            entry.adjustment_id,
            run_id=self.run_id,
            transfer_id=debit.transfer_id,
            payment_id=str(debit.payment_id),
            request_id=debit.request_id,
            completed_at=done,
            attempts=sent,
        )
        return RowOutcome(
            SUCCEEDED,
            debit.transfer_id,
            debit.payment_id,
            entry.idempotency_key,
            debit.request_id,
            attempts=entry.attempts + sent,
            completed_at=done,
        )

    def _failed(self, entry: jr.Entry, exc: RowError, sent: int) -> RowOutcome:
        done = self.clock.now()
        self.journal.record_failure(
            self.job,
            entry.adjustment_id,
            run_id=self.run_id,
            error_code=exc.code,
            error_message=str(exc),
            request_id=exc.request_id,
            completed_at=done,
            attempts=sent,
        )
        return RowOutcome(
            FAILED,
            None,
            None,
            entry.idempotency_key,
            exc.request_id,
            exc.code,
            str(exc),
            entry.attempts + sent,
            done,
        )

    def _unknown(self, entry: jr.Entry, exc: StripeErrorMixin, sent: int) -> RowOutcome:
        message = f"Outcome unknown ({exc}); re-run the job to settle it."
        self.journal.record_unknown(
            self.job,
            entry.adjustment_id,
            run_id=self.run_id,
            error_code=exc.code,
            error_message=message,
            request_id=exc.request_id,
            attempts=sent,
        )
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


def earlier_outcome(entry: jr.Entry) -> RowOutcome:
    """A row the journal holds as succeeded: reported with that run's IDs, nothing sent."""
    return RowOutcome(
        SUCCEEDED,
        entry.transfer_id,
        entry.payment_id,
        entry.idempotency_key,
        entry.request_id,
        attempts=entry.attempts,
        completed_at=entry.completed_at,
    )


def _mismatch(entry: jr.Entry, debit: Debit) -> str | None:
    """Why the object Stripe returned is not this row's debit, or None when it is."""
    expected = (entry.account, entry.amount_minor, entry.currency)
    got = (debit.account, debit.amount, debit.currency)
    if got != expected:
        return f"Stripe returned a debit of {got} for {expected}; check it in the dashboard."
    if not debit.transfer_id or not debit.payment_id:
        return "Stripe's answer lacks the transfer or payment id; check it in the dashboard."
    if debit.metadata.get(META_ADJUSTMENT, entry.adjustment_id) != entry.adjustment_id:
        return "Stripe returned a debit for another adjustment; check it in the dashboard."
    return None
