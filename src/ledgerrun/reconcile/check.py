"""Check one run date of a job (or all of them) against Stripe's own books.

Questions, each answered from Stripe's objects:

1. Does every row reported ``succeeded`` have its objects in Stripe (the transfer, and the
   payment it produced), with the row's account, amount, currency and adjustment?
2. Was any adjustment moved twice (two objects carrying the same canonical id)?
3. Is there an object of the transfer group that nobody accounts for? An object whose metadata
   names this job and run date (or that the journal does not know at all, made that day) and
   that has no results row is an ``orphan``. An object of an adjustment the journal knows as
   this job's own (sent by any run, its answer lost or not) is never an orphan: for another run
   date it is ``other_date`` (not a discrepancy); for a row taken out of the ledger it was sent
   from (its batch: a web upload, or a ledger path, whose latest run no longer holds it) it is
   ``removed_from_ledger``, and another batch's rows of the same date never are; for a row
   reported failed, skipped or unknown it is ``unsettled`` (a re-run settles it).

The rows checked are the run date's results as the store knows them
(:func:`ledgerrun.send.dateview.date_view`), or a results file when one is given.

Objects are found by listing, through the command's client (so every request is paced and
retried), as the guard finds them (:func:`ledgerrun.send.listings.account_books`): each
account's transfers and the platform's charges that are its debits, and the platform's credits.
Only small records of ledgerrun's objects are kept.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ledgerrun.errors import RefusedError, StripeError
from ledgerrun.job import Job
from ledgerrun.reconcile.books import (
    Row,
    journal_of,
    listings,
    obj_of,
    read_rows,
    rows_from,
    rows_of,
    since,
)
from ledgerrun.reconcile.model import NEXT_STEP, Discrepancy, Reconciliation
from ledgerrun.send import dateview
from ledgerrun.store.model import SUCCEEDED, Entry, Journal, Seen
from ledgerrun.stripe.session import Session
from ledgerrun.vocab import Direction, Method, money_text


def reconcile(
    job: Job,
    session: Session,
    store: Journal | None,
    results_path: Path,
    *,
    run_date: str | None,
    now: dt.datetime,
    from_file: bool = False,
) -> Reconciliation:
    """Reconcile ``run_date`` (None: every date) of ``job``: the date's results as the store
    knows them, or (``from_file``, or with no store) the results file at ``results_path``."""
    report = Reconciliation(job.name, run_date or "all", results_path, now)
    known = journal_of(store, job.name)
    scope_entries = [e for e in known.values() if run_date is None or e.run_date == run_date]
    removed: set[str] = set()
    if run_date is not None and store is not None and not from_file:
        view = dateview.date_view(store, job, run_date)
        report.view_sha256 = dateview.fingerprint(view)
        rows = rows_from(view, job.id_prefix)
        removed = dateview.removed_from_ledger(store, job, run_date)
    elif run_date is not None and results_path.exists():
        rows = read_rows(results_path, job.id_prefix)
    else:
        rows = rows_of(scope_entries)
    accounts = {r.account for r in rows} | {e.account for e in known.values()}
    window = since(job, run_date, scope_entries, now)
    ids = {r.transfer_id for r in rows} | {e.transfer_id or "" for e in known.values()}
    objects = list(listings(job, session, store, accounts, window, report, ids))
    by_key: dict[str, list[Seen]] = defaultdict(list)
    for obj in objects:
        if obj.key:
            by_key[obj.key].append(obj)
    by_id = {i: obj for obj in objects for i in obj.ids}
    journal_ids = {i for e in known.values() for i in (e.transfer_id, e.payment_id) if i}
    if store is not None:  # other jobs' objects the journal knows are theirs, not orphans
        strangers = {o.key for o in objects if o.key and o.key not in known}
        journal_ids |= {
            i for e in store.entries(strangers).values() for i in (e.transfer_id, e.payment_id) if i
        }
    succeeded = [r for r in rows if r.status == SUCCEEDED]
    with ThreadPoolExecutor(max(1, min(job.stripe.concurrency, 8))) as pool:
        for problems in pool.map(lambda r: _check_row(session, r, by_id), succeeded):
            report.discrepancies.extend(problems)
    report.checked = len(succeeded)
    row_by_key = {r.key: r for r in rows}
    row_ids = {i for r in succeeded for i in (r.transfer_id, r.payment_id) if i}
    # A debit by charge is one object: the transfer Stripe made for it is listed too (it carries
    # what was reversed), but counted with its charge.
    sources = {o.transfer_id for o in objects if o.method == Method.CHARGE and o.transfer_id}
    for obj in objects:
        in_scope = _in_scope(obj, job.name, run_date)
        if in_scope and (obj.key or obj.method == Method.CHARGE or obj.transfer_id not in sources):
            report.objects += 1
        kind = _classify(obj, job.name, run_date, in_scope, row_by_key, row_ids, known,
                         journal_ids, by_key, removed)  # fmt: skip
        if kind == "removed_from_ledger" and run_date is None:
            kind = None  # --all: every date at once has no ledger to be missing from
        if kind == "other_date":
            report.other_dates += 1
        elif kind is not None:
            report.discrepancies.append(_about(obj, kind, _detail(kind, obj, row_by_key, by_key)))
    if store is not None:
        report.discrepancies.extend(_reversals(session, store, job, objects, known, run_date))
    return report


def _reversals(
    session: Session,
    store: Journal,
    job: Job,
    objects: list[Seen],
    known: dict[str, Entry],
    run_date: str | None,
) -> list[Discrepancy]:
    """What Stripe says was reversed of each transfer this job moved, against the journal's
    record of the reversals it made: unrecorded reversals are reported by their ``trr_`` id."""
    recorded: dict[str, dict[str, int]] = defaultdict(dict)  # transfer -> trr -> amount
    pending: dict[str, int] = defaultdict(int)
    for r in store.iter_reversals(job.name):
        if r.state == SUCCEEDED and r.reversal_object_id:
            recorded[r.transfer_id][r.reversal_object_id] = r.amount_minor
        elif r.state == "pending":
            pending[r.transfer_id] += r.amount_minor
    ours = {
        e.transfer_id: e
        for e in known.values()
        if e.transfer_id and e.state == SUCCEEDED and (run_date is None or e.run_date == run_date)
    }
    reversed_in_stripe: dict[str, int] = {}
    for obj in objects:
        if obj.transfer_id in ours:
            reversed_in_stripe[obj.transfer_id] = max(
                reversed_in_stripe.get(obj.transfer_id, 0), obj.amount_reversed
            )
    out: list[Discrepancy] = []
    for transfer_id, entry in sorted(ours.items()):
        stripe_total = reversed_in_stripe.get(transfer_id, 0)
        journal_total = sum(recorded[transfer_id].values())
        if stripe_total == journal_total or (
            stripe_total > journal_total and stripe_total <= journal_total + pending[transfer_id]
        ):
            continue
        context = None if entry.direction == Direction.CREDIT else entry.account
        about: dict[str, Any] = dict(adjustment_id=entry.adjustment_id, account=entry.account,
                     transfer_id=transfer_id, payment_id=entry.payment_id or "",
                     currency=entry.currency)  # fmt: skip
        if stripe_total < journal_total:
            out.append(Discrepancy("missing_reversal", **about, detail=(
                f"the journal records {money_text(journal_total, entry.currency)} reversed, "
                f"Stripe {money_text(stripe_total, entry.currency)}"),
                amount_minor=journal_total - stripe_total))  # fmt: skip
            continue
        try:
            held = list(session.client.reversals(transfer_id, context))
        except StripeError as exc:
            out.append(Discrepancy("unchecked", **about, detail=f"its reversals: {exc}"))
            continue
        for reversal in held:
            if reversal.id not in recorded[transfer_id]:
                out.append(Discrepancy("unrecorded_reversal", **about, detail=(
                    f"{reversal.id}: {money_text(reversal.amount, reversal.currency)} reversed, "
                    "not in the journal"), amount_minor=reversal.amount))  # fmt: skip
    return out


def _classify(
    obj: Seen,
    job: str,
    run_date: str | None,
    in_scope: bool,
    row_by_key: dict[str, Row],
    row_ids: set[str],
    known: dict[str, Entry],
    journal_ids: set[str],
    by_key: dict[str, list[Seen]],
    removed: set[str],
) -> str | None:
    entry = known.get(obj.key) if obj.key else None
    ours = entry is not None and (
        entry.job == job or bool(obj.ids & {entry.transfer_id or "", entry.payment_id or ""})
    )
    if obj.key in removed and ours and obj.amount_reversed < obj.amount:
        return "removed_from_ledger"
    if obj.ids & row_ids:
        return None  # the results account for it; its row was checked above
    moving = [o for o in by_key.get(obj.key, []) if o.amount_reversed < o.amount]
    if obj.key and len(moving) > 1 and obj in moving and (in_scope or obj.key in row_by_key):
        return "duplicate"  # a copy that was reversed in full is no longer a duplicate
    row = row_by_key.get(obj.key) if obj.key else None
    if row is not None and row.status == SUCCEEDED and obj.amount_reversed >= obj.amount:
        return None  # ...nor anything else: an extra copy of a settled row, undone in full
    if obj.key in row_by_key and obj.job in (job, ""):
        return "unsettled"
    if ours and entry is not None and entry.job == job:
        if run_date is not None and entry.run_date != run_date:
            return "other_date"
        return "removed_from_ledger"
    if obj.ids & journal_ids or ours:
        return None  # another job's, known to the journal
    if not in_scope:
        return None
    return "orphan"


def _in_scope(obj: Seen, job: str, run_date: str | None) -> bool:
    if run_date is None:
        return True
    if obj.run_date:
        return obj.run_date == run_date
    made = dt.datetime.fromtimestamp(obj.created, dt.UTC).date().isoformat()
    return made == run_date


def _detail(kind: str, obj: Seen, rows: dict[str, Row], by_key: dict[str, list[Seen]]) -> str:
    amount = money_text(obj.amount, obj.currency)
    made = f"a {obj.direction} of {amount}, job {obj.job or '?'}, run date {obj.run_date or '?'}"
    if kind == "duplicate":
        ids = ", ".join(sorted(o.transfer_id or o.payment_id for o in by_key[obj.key]))
        return f"{len(by_key[obj.key])} objects for one adjustment: {ids} ({made})"
    if kind == "unsettled":
        return f"the results row is {rows[obj.key].status} ({made})"
    if kind == "removed_from_ledger":
        return f"the journal has it; the ledger it was sent from no longer does ({made})"
    return f"no results row, not in the journal ({made})"


def _about(obj: Seen, kind: str, detail: str) -> Discrepancy:
    return Discrepancy(
        kind, obj.adjustment_id, obj.account, obj.transfer_id, obj.payment_id, detail,
        obj.amount, obj.currency,
    )  # fmt: skip


def _check_row(session: Session, row: Row, by_id: dict[str, Seen]) -> list[Discrepancy]:
    """The objects of a succeeded row, compared with the row."""

    def problem(kind: str, detail: str) -> Discrepancy:
        return Discrepancy(
            kind, row.adjustment_id, row.account, row.transfer_id, row.payment_id, detail,
            row.amount, row.currency,
        )  # fmt: skip

    client = session.client
    credit = row.direction == Direction.CREDIT
    primary_id = row.payment_id if row.method == "charge" else row.transfer_id
    found = by_id.get(primary_id)
    if found is None:
        try:
            if row.method == "charge":
                found = obj_of(client.charge(row.payment_id))
            else:
                found = obj_of(client.transfer(row.transfer_id, None if credit else row.account))
        except RefusedError:
            kind = "missing_payment" if row.method == "charge" else "missing_transfer"
            return [problem(kind, f"no object {primary_id} where the results say it is")]
        except StripeError as exc:
            return [problem("unchecked", f"Stripe did not answer: {exc}")]
    out = []
    expected = (row.account, row.amount, row.currency)
    got = (found.account, found.amount, found.currency)
    if got != expected:
        out.append(problem("mismatch", f"Stripe has {got}, the results say {expected}"))
    other = found.payment_id if row.method != "charge" else found.transfer_id
    wanted = row.payment_id if row.method != "charge" else row.transfer_id
    if other and wanted and other != wanted:
        out.append(
            problem("mismatch", f"{primary_id} belongs with {other}, the results say {wanted}")
        )
    if found.key and found.key != row.key:
        out.append(problem("mismatch", f"the object is for adjustment {found.adjustment_id!r}"))
    return out


__all__ = ["NEXT_STEP", "Discrepancy", "Reconciliation", "reconcile"]
