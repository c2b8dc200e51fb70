"""What happens to each row of a prepared ledger before anything is sent.

In order, the first that applies:

1. the row is invalid (a validation or pre-flight problem): ``invalid``, never sent;
2. the store holds it as succeeded, or the guard found it done in Stripe's books: ``succeeded``
   with those ids, nothing sent (a found object is recorded in the store);
3. the ledger has problems and the job aborts on them: ``skipped`` (``aborted``), exit 2;
4. its account could not be checked (Stripe did not answer): ``skipped``, run again;
5. with ``on_invalid = skip``, it would pass the job's total for its currency and direction:
   ``skipped`` (``over_max_total``);
6. a dry run: ``skipped`` (``dry_run``);
7. otherwise it is sent: its ledger index joins its account's
   :class:`~ledgerrun.send.items.Lane`, which builds its exact request when the account's turn
   comes (nothing per row is built up front).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ledgerrun import compute as pc
from ledgerrun.clock import Clock
from ledgerrun.ingest.validate import Validation
from ledgerrun.send.attempts.moves import Item
from ledgerrun.send.items import Lane, lanes
from ledgerrun.send.preflight import UNAVAILABLE
from ledgerrun.send.prepare import Prepared
from ledgerrun.send.records import conflict_message
from ledgerrun.store.model import PENDING, Entry, Journal, Seen
from ledgerrun.store.model import SUCCEEDED as S_SUCCEEDED
from ledgerrun.vocab import INVALID, SKIPPED, SUCCEEDED, UNKNOWN, Problem, RowOutcome


@dataclass
class Decisions:
    outcomes: list[RowOutcome | None]  # None: sent (the row is in one of ``lanes``)
    lanes: list[Lane] = field(default_factory=list)  # the rows to send, one lane per account
    aborted: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def sending(self) -> int:
        """How many rows are to be sent."""
        return sum(len(lane) for lane in self.lanes)

    @property
    def items(self) -> list[Item]:
        """Every row to send, built, in ledger order (for small ledgers and tests: a run builds
        each account's as its turn comes)."""
        return sorted((item for lane in self.lanes for item in lane), key=lambda i: i.index)


def rows(
    prepared: Prepared, *, store: Journal | None, run_id: str, dry_run: bool, clock: Clock
) -> Decisions:
    v = prepared.validation
    n = v.rows
    out = Decisions([None] * n)
    _invalid(prepared, out)
    _done(prepared, out, store, run_id, clock, dry_run)
    row_problems = [p for p in v.problems if p.code != "over_max_total" and _on_a_row(v, p)]
    over_total = any(p.code == "over_max_total" for p in v.problems)
    if (row_problems or over_total) and prepared.job.on_invalid == "abort":
        _fill(out, "aborted", "Not sent: the ledger has problems and the job aborts on them.")
        out.aborted = True
        out.notes.append("Nothing was sent: fix the invalid rows, or run with --skip-invalid.")
        return out
    _unchecked(prepared, out)
    _unguarded(prepared, out)
    _over_total(prepared, out)
    if dry_run:
        _fill(out, "dry_run", "Dry run: this row would be sent.")
        return out
    out.lanes = lanes(prepared, [i for i, o in enumerate(out.outcomes) if o is None])
    return out


def _on_a_row(validation: Validation, problem: Problem) -> bool:
    return problem.row != validation.header_row or problem.code == "control_total_mismatch"


def _invalid(prepared: Prepared, out: Decisions) -> None:
    v = prepared.validation
    by_row: dict[int, list[Problem]] = {}
    for p in v.problems:
        by_row.setdefault(p.row, []).append(p)
    invalid = pc.indices_nonzero(pc.invert(pc.fill_null(v.valid, False))).to_pylist()
    numbers = pc.take(v.ledger.rows, invalid).to_pylist() if invalid else []
    edited = 0
    for index, number in zip(invalid, numbers, strict=True):
        found = by_row.get(number, [])
        message = " ".join(p.message for p in found)
        moved = _moved_already(prepared, prepared.keys[index], message)
        if moved is not None:
            out.outcomes[index] = moved
            edited += 1
            continue
        out.outcomes[index] = RowOutcome(
            INVALID, error_code=found[0].code if found else "invalid", error_message=message
        )
    if edited:
        out.notes.append(
            f"{edited} row(s) of the ledger were edited after their money moved "
            "(adjustment_conflict): they keep their Stripe ids and are not sent again. Restore "
            "each row as it was sent, or give a new adjustment its own id."
        )


def _moved_already(prepared: Prepared, key: str, message: str) -> RowOutcome | None:
    """An invalid row whose adjustment already moved money (in the store, or found in Stripe
    with other values): ``succeeded`` with its ids, carrying ``adjustment_conflict`` (or
    ``unknown`` when its attempt is still unsettled). None for any other invalid row."""
    entry = prepared.earlier.get(key) if key else None
    if entry is not None and entry.state == S_SUCCEEDED:
        return RowOutcome(
            SUCCEEDED, entry.transfer_id, entry.payment_id, entry.idempotency_key,
            entry.request_id, "adjustment_conflict", conflict_message(entry, message),
            entry.attempts, entry.completed_at, earlier=True,
        )  # fmt: skip
    if entry is not None and entry.state == PENDING:
        return RowOutcome(
            UNKNOWN, None, None, entry.idempotency_key, entry.request_id,
            "adjustment_conflict", conflict_message(entry, message), entry.attempts,
        )  # fmt: skip
    seen = prepared.conflicts.get(key) if key else None
    if seen is not None:
        return RowOutcome(
            SUCCEEDED, seen.transfer_id, seen.payment_id or None, error_code="adjustment_conflict",
            error_message=message, earlier=True,
        )  # fmt: skip
    return None


def earlier_outcome(entry: Entry) -> RowOutcome:
    """A row the store holds as succeeded: reported with that run's ids, nothing sent."""
    return RowOutcome(
        SUCCEEDED,
        entry.transfer_id,
        entry.payment_id,
        entry.idempotency_key,
        entry.request_id,
        attempts=entry.attempts,
        completed_at=entry.completed_at,
        earlier=True,
    )


def _done(
    prepared: Prepared,
    out: Decisions,
    store: Journal | None,
    run_id: str,
    clock: Clock,
    dry_run: bool,
) -> None:
    for index, key in enumerate(prepared.keys):
        if out.outcomes[index] is not None:
            continue
        entry = prepared.earlier.get(key)
        if entry is not None and entry.state == S_SUCCEEDED:
            out.outcomes[index] = earlier_outcome(entry)
            continue
        seen = prepared.found.get(key)
        if seen is None or (entry is not None and entry.state == PENDING):
            continue  # a pending row is settled by the executor, on its own intent
        if store is not None and not dry_run:
            store.record_found(_found_entry(prepared, index, seen, run_id, clock))
        out.outcomes[index] = RowOutcome(
            SUCCEEDED,
            seen.transfer_id,
            seen.payment_id or None,
            completed_at=None,
            earlier=True,
        )


def _found_entry(prepared: Prepared, index: int, seen: Seen, run_id: str, clock: Clock) -> Entry:
    v = prepared.validation
    now = clock.now()
    return Entry(
        key=prepared.keys[index],
        adjustment_id=v.adjustment_id[index].as_py(),
        job=seen.job or prepared.job.name,
        run_date=seen.run_date or prepared.job.run_date.isoformat(),
        direction=seen.direction,
        account=seen.account,
        currency=seen.currency,
        amount_minor=seen.amount,
        method=seen.method,
        state=S_SUCCEEDED,
        generation=0,
        idempotency_key="",
        request={},
        attempts=0,
        attempted_at=now,
        attempted_at_server=now,
        transfer_id=seen.transfer_id,
        payment_id=seen.payment_id,
        completed_at=now,
        run_id=run_id,
    )


def _fill(out: Decisions, code: str, message: str) -> None:
    for index, outcome in enumerate(out.outcomes):
        if outcome is None:
            out.outcomes[index] = RowOutcome(SKIPPED, error_code=code, error_message=message)


def _unchecked(prepared: Prepared, out: Decisions) -> None:
    unchecked = {a: c for a, c in prepared.checks.items() if c.code == UNAVAILABLE}
    if not unchecked:
        return
    for index, account in enumerate(prepared.validation.account.to_pylist()):
        if out.outcomes[index] is None and account in unchecked:
            out.outcomes[index] = RowOutcome(
                SKIPPED, error_code=UNAVAILABLE, error_message=unchecked[account].message
            )


def _unguarded(prepared: Prepared, out: Decisions) -> None:
    """Rows Stripe's books could not be searched for are not sent on the journal's word."""
    if not prepared.unguarded:
        return
    for index, key in enumerate(prepared.keys):
        why = prepared.unguarded.get(key)
        if out.outcomes[index] is None and why is not None:
            out.outcomes[index] = RowOutcome(
                SKIPPED,
                error_code="guard_unavailable",
                error_message=(
                    "Not sent: Stripe's books could not be searched for this adjustment "
                    f"({why}); run the job again later."
                ),
            )


def _over_total(prepared: Prepared, out: Decisions) -> None:
    """With on_invalid = skip, send rows in ledger order until a currency's (and direction's)
    limit is reached; rows already done count towards it."""
    limits = prepared.job.limits.max_total
    if not limits:
        return
    v = prepared.validation
    running: Counter[tuple[str, str]] = Counter()
    currencies = v.currency.to_pylist()
    amounts = v.amount_minor.to_pylist()
    for index, outcome in enumerate(out.outcomes):
        currency, direction = currencies[index], prepared.directions[index]
        limit = limits.get(currency)
        if limit is None or (outcome is not None and outcome.status != SUCCEEDED):
            continue
        running[(currency, direction)] += int(amounts[index])
        if outcome is None and running[(currency, direction)] > limit:
            out.outcomes[index] = RowOutcome(
                SKIPPED,
                error_code="over_max_total",
                error_message=(
                    f"Not sent: the job's {currency.upper()} {direction} total limit was reached."
                ),
            )
            running[(currency, direction)] -= int(amounts[index])
