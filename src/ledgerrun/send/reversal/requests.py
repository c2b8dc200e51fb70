"""What a reversal request asks for, checked against the store (and Stripe) before anything moves.

``ledgerrun reverse TARGET --adjustments FILE`` reads a file (CSV, XLSX or Parquet) with
``adjustment_id`` and optional ``amount`` or ``amount_minor`` (a partial reversal; blank means in
full: everything that is left), ``reason`` and ``reversal_id``. ``--all`` reverses in full every
adjustment of the job's run date that succeeded.

A reversal's identity is its ``reversal_id`` (by default the adjustment's own id), in canonical
form with the job's ``id_prefix``: running the same file again sends nothing; a second partial
reversal of one adjustment needs its own ``reversal_id``. Each request is checked: the adjustment
must have succeeded (journal), the amount must be readable in its currency, and the total reversed
(by ledgerrun, pending attempts included, and outside it as Stripe reports) never exceeds what
moved. A request that fails a check is ``invalid``; with ``on_invalid = abort`` nothing is sent.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ledgerrun import money
from ledgerrun.errors import LedgerFileError
from ledgerrun.ingest.identity import canonical, invisible_characters
from ledgerrun.ingest.records import read_records
from ledgerrun.job import Job
from ledgerrun.send.keys import idempotency_key
from ledgerrun.store.model import (
    PENDING,
    REFUND,
    SUCCEEDED,
    TRANSFER_REVERSAL,
    Entry,
    Journal,
    ReversalEntry,
)
from ledgerrun.vocab import Direction, Problem, money_text


@dataclass
class Request:
    """One reversal asked for, and what became of it before sending."""

    row: int
    adjustment_id: str  # as written in the request (or the journal, for --all)
    reversal_id: str  # as written (defaults to the adjustment's id)
    reason: str
    amount_text: str  # as written; "" means in full
    adjustment_key: str = ""
    key: str = ""  # canonical reversal id
    entry: Entry | None = None  # the adjustment, as the journal holds it
    amount_minor: int | None = None  # decided: what this reversal moves back
    problem: Problem | None = None
    done: ReversalEntry | None = None  # the same reversal, done earlier
    earlier: ReversalEntry | None = None  # the store's record of this reversal, if any
    nothing_left: bool = False  # --all: reversed in full already (by other reversals)

    @property
    def context(self) -> str | None:
        """Who made the transfer, and so reverses it: the account (debit) or the platform."""
        if self.entry is None or self.entry.direction == Direction.CREDIT:
            return None
        return self.entry.account


@dataclass
class Requests:
    source: str  # the request file, or "--all"
    items: list[Request] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [r.problem for r in self.items if r.problem is not None]


def from_file(path: Path, job: Job) -> Requests:
    try:
        records = read_records(path, ("adjustment_id",), "reversal request")
    except LedgerFileError as exc:
        from ledgerrun.errors import ConfigError

        raise ConfigError(f"the reversal request cannot be read: {exc}") from None
    out = Requests(str(path))
    for row, cells in records.rows:
        adjustment_id = cells.get("adjustment_id", "")
        amount = cells.get("amount", "")
        minor = cells.get("amount_minor", "")
        out.items.append(
            Request(
                row=row,
                adjustment_id=adjustment_id,
                reversal_id=cells.get("reversal_id", "") or adjustment_id,
                reason=cells.get("reason", ""),
                amount_text=amount or (f"minor:{minor}" if minor else ""),
            )
        )
    return out


def every_adjustment(store: Journal, job: Job, reason: str) -> Requests:
    """--all: every adjustment of the run date that succeeded, in full."""
    out = Requests("--all")
    entries = [
        e for e in store.iter_entries(job.name, job.run_date.isoformat()) if e.state == SUCCEEDED
    ]
    for number, entry in enumerate(sorted(entries, key=lambda e: e.key), start=1):
        out.items.append(Request(number, entry.adjustment_id, entry.adjustment_id, reason, ""))
    return out


def check(requests: Requests, store: Journal, job: Job, reason: str) -> None:
    """Fill in each request's adjustment, key and amount, or its problem (offline)."""
    for r in requests.items:
        r.reason = r.reason or reason
        bad = invisible_characters(r.adjustment_id) + invisible_characters(r.reversal_id)
        if not r.adjustment_id:
            r.problem = problem_of(r, "adjustment_id", "empty_value", "The adjustment id is empty.")
        elif bad:
            r.problem = problem_of(
                r, "adjustment_id", "bad_adjustment_id",
                f"The id holds invisible characters ({', '.join(bad)}): retype it.",
            )  # fmt: skip
        else:
            r.adjustment_key = canonical(r.adjustment_id, job.id_prefix)
            r.key = canonical(r.reversal_id, job.id_prefix)
    known = store.entries(r.adjustment_key for r in requests.items if r.adjustment_key)
    earlier = store.reversal_entries(r.key for r in requests.items if r.key)
    counts = Counter(r.key for r in requests.items if r.key)
    for r in requests.items:
        if r.problem is not None:
            continue
        if counts[r.key] > 1:
            r.problem = problem_of(
                r, "reversal_id", "duplicate_adjustment_id",
                f"The reversal '{r.reversal_id}' is asked for more than once: give each partial "
                "reversal its own reversal_id.",
            )  # fmt: skip
            continue
        entry = known.get(r.adjustment_key)
        if entry is None or entry.state != SUCCEEDED:
            state = "is not in the journal" if entry is None else f"is {entry.state}"
            r.problem = problem_of(
                r, "adjustment_id", "adjustment_conflict",
                f"Adjustment '{r.adjustment_id}' {state}: only an adjustment that succeeded can "
                "be reversed.",
            )  # fmt: skip
            continue
        r.entry = entry
        r.earlier = earlier.get(r.key)
        if not _amount(r, entry):
            continue
        if r.earlier is not None and r.earlier.state == SUCCEEDED:
            if r.earlier.adjustment_key != r.adjustment_key or (
                r.amount_minor is not None and r.amount_minor != r.earlier.amount_minor
            ):
                r.problem = problem_of(
                    r, "reversal_id", "adjustment_conflict",
                    f"The reversal '{r.reversal_id}' was made already with other values: give a "
                    "new reversal its own reversal_id.",
                )  # fmt: skip
            else:
                r.done = r.earlier
                r.amount_minor = r.earlier.amount_minor


def limit(requests: Requests, store: Journal, reversed_in_stripe: dict[str, int]) -> None:
    """Decide full amounts and refuse any adjustment asked to give back more than is left.

    ``reversed_in_stripe`` is each transfer's ``amount_reversed`` as Stripe reports it (empty
    offline); reversals outside ledgerrun reduce what is left."""
    keys = {r.adjustment_key for r in requests.items if r.entry is not None}
    recorded = store.reversals_of(keys)
    for key in sorted(keys):
        asks = [r for r in requests.items if r.adjustment_key == key and r.problem is None]
        if not asks:
            continue
        entry = asks[0].entry
        assert entry is not None
        mine = {r.key for r in asks}
        held = recorded.get(key, [])
        ledgerrun = sum(
            e.amount_minor for e in held if e.state in (SUCCEEDED, PENDING) and e.key not in mine
        )
        ledgerrun += sum(e.amount_minor for e in held if e.key in mine and e.state == SUCCEEDED)
        # An attempt of these very requests still pending may have executed at Stripe: it is
        # ledgerrun's own money, never "outside" (it is settled under its own key below).
        pending = sum(e.amount_minor for e in held if e.key in mine and e.state == PENDING)
        stripe = reversed_in_stripe.get(entry.transfer_id or "", 0)
        outside = max(0, stripe - ledgerrun - pending)
        left = entry.amount_minor - ledgerrun - outside
        for r in asks:
            if r.done is not None:
                continue
            if r.earlier is not None and r.earlier.state == PENDING:
                r.amount_minor = r.earlier.amount_minor  # settled as first asked
            elif r.amount_minor is None:
                if left <= 0 and requests.source == "--all":
                    r.nothing_left = True  # reversed in full already: nothing to ask
                    continue
                r.amount_minor = left
            if r.amount_minor <= 0 or r.amount_minor > left:
                shown = money_text(max(left, 0), entry.currency)
                r.problem = problem_of(
                    r, "amount", "bad_amount",
                    f"Only {shown} of adjustment '{entry.adjustment_id}' is left to reverse "
                    f"(it moved {money_text(entry.amount_minor, entry.currency)}"
                    + (f"; {money_text(outside, entry.currency)} was reversed outside ledgerrun"
                       if outside else "") + ").",
                )  # fmt: skip
                continue
            left -= r.amount_minor


def _amount(r: Request, entry: Entry) -> bool:
    if not r.amount_text:
        return True
    exp = money.exponent(entry.currency)
    try:
        if r.amount_text.startswith("minor:"):
            r.amount_minor = money.parse_minor(r.amount_text[6:], exp)
        else:
            r.amount_minor = money.parse_major(r.amount_text, exp)
    except money.AmountError as exc:
        column = "amount_minor" if r.amount_text.startswith("minor:") else "amount"
        r.problem = problem_of(r, column, exc.code, exc.message)
        return False
    return True


def intent_of(
    r: Request,
    job: Job,
    *,
    generation: int,
    amount_minor: int,
    request: dict[str, object],
    attempts: int,
    attempted_at: dt.datetime,
    attempted_at_server: dt.datetime,
    run_id: str,
    method: str = TRANSFER_REVERSAL,
) -> ReversalEntry:
    """The store's PENDING record of a new attempt of ``generation`` at reversal ``r`` (0 the
    first time, the one after a failed attempt next: a new key)."""
    assert r.entry is not None
    return ReversalEntry(
        key=r.key,
        reversal_id=r.reversal_id,
        adjustment_key=r.adjustment_key,
        adjustment_id=r.entry.adjustment_id,
        job=job.name,
        run_date=job.run_date.isoformat(),
        direction=r.entry.direction,
        account=r.entry.account,
        transfer_id=r.entry.transfer_id or "",
        context=r.context or "",
        currency=r.entry.currency,
        amount_minor=amount_minor,
        reason=r.reason,
        state=PENDING,
        generation=generation,
        idempotency_key=idempotency_key(
            "refund" if method == REFUND else "reversal", r.key, generation
        ),
        request=request,
        attempts=attempts,
        attempted_at=attempted_at,
        attempted_at_server=attempted_at_server,
        run_id=run_id,
        method=method,
        payment_id=(r.entry.payment_id or "") if method == REFUND else "",
    )


def problem_of(r: Request, column: str, code: str, message: str) -> Problem:
    value = r.amount_text.removeprefix("minor:") if column.startswith("amount") else r.reversal_id
    if column == "adjustment_id":
        value = r.adjustment_id
    return Problem.make(r.row, column, code, value, message)
