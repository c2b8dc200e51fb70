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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.errors import RefusedError, StripeError
from ledgerrun.ingest.read import give_back
from ledgerrun.job import Job
from ledgerrun.reconcile.books import (
    CHUNK,
    SEEN_SCHEMA,
    Row,
    listings,
    obj_of,
    read_rows,
    rows_in,
    rows_of,
    seen_in,
    since,
    started,
)
from ledgerrun.reconcile.dated import date_rows
from ledgerrun.reconcile.index import Index, found, index, places
from ledgerrun.reconcile.model import NEXT_STEP, Discrepancy, Reconciliation
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
    knows them, or (``from_file``, or with no store) the results file at ``results_path``.

    Only the scope's entries are read whole (as a stream, without their requests); the
    accounts listed are those of the scope's rows and entries; the rows and the objects listed
    are kept in columns and compared a chunk at a time."""
    report = Reconciliation(job.name, run_date or "all", results_path, now)
    removed: set[str] = set()
    if run_date is not None and store is not None and not from_file:
        dated = date_rows(store, job, run_date)
        rows, report.view_sha256, removed = dated.rows, dated.view_sha256, dated.removed
        earliest, accounts = dated.earliest, dated.accounts
        del dated
        give_back()
    else:
        earliest, accounts = _scope(store, job.name, run_date)
        if run_date is not None and results_path.exists():
            rows = read_rows(results_path, job.id_prefix)
        else:
            entries = store.iter_entry_facts(job.name, run_date) if store is not None else []
            rows = rows_of(entries)
    accounts |= {str(a) for a in pc.unique(rows.column("account")).to_pylist()}
    window = since(job, run_date, earliest, now)
    if run_date is not None:
        accounts |= _active(store, job.name, window)
    listed = listings(job, session, store, accounts, window, report)
    known = index(pa.Table.from_batches(listed, schema=SEEN_SCHEMA), rows, store, job.name)
    give_back()
    _check_rows(job, session, rows, known.objects, report)
    _classify_all(job, run_date, rows, known, removed, report)
    if store is not None:
        report.discrepancies.extend(_reversals(session, store, job, known.objects, run_date))
    del rows, known
    give_back()
    return report


def _scope(
    store: Journal | None, job: str, run_date: str | None
) -> tuple[dt.datetime | None, set[str]]:
    """The earliest attempt of the scope's entries, and their accounts (streamed)."""
    earliest: dt.datetime | None = None
    accounts: set[str] = set()
    if store is None:
        return earliest, accounts
    for entry in store.iter_entry_facts(job, run_date):
        at = started(entry)
        earliest = at if earliest is None else min(earliest, at)
        accounts.add(entry.account)
    return earliest, accounts


def _active(store: Journal | None, job: str, window: int) -> set[str]:
    """The accounts of the job's entries attempted (or settled) since a day before ``window``
    began: only they can hold its objects of other dates in the listings. An account whose
    entries are all older shows nothing of the job's there; it costs no request."""
    if store is None:
        return set()
    start = dt.datetime.fromtimestamp(window, dt.UTC) - dt.timedelta(days=1)
    return {
        e.account
        for e in store.iter_entry_facts(job)
        if max(e.attempted_at, e.attempted_at_server, e.completed_at or e.attempted_at) >= start
    }


def _check_rows(
    job: Job, session: Session, rows: pa.Table, objects: pa.Table, report: Reconciliation
) -> None:
    """Every succeeded row against its objects, a chunk of rows at a time, in row order (the
    object of each found at once, by :func:`ledgerrun.reconcile.index.places`)."""
    done = pc.equal(rows.column("status"), SUCCEEDED)
    at = places(objects, rows)
    with ThreadPoolExecutor(max(1, min(job.stripe.concurrency, 8))) as pool:
        for start in range(0, rows.num_rows, CHUNK):
            mask = done.slice(start, CHUNK)
            chunk = list(rows_in(pc.filter(rows.slice(start, CHUNK), mask)))
            objs = found(objects, pc.filter(at.slice(start, CHUNK), mask))
            checks = pool.map(
                lambda pair: _check_row(session, *pair), zip(chunk, objs, strict=True)
            )
            for problems in checks:
                report.discrepancies.extend(problems)
    report.checked = int(pc.sum(done).as_py() or 0)


def _classify_all(
    job: Job,
    run_date: str | None,
    rows: pa.Table,
    known: Index,
    removed: set[str],
    report: Reconciliation,
) -> None:
    """Each object listed, in listing order: counted when in scope, and reported when nobody
    accounts for it (see :func:`_classify`)."""
    statuses = rows.column("status")
    objects = known.objects
    for start in range(0, objects.num_rows, CHUNK):
        at = slice(start, start + CHUNK)
        rows_at = known.row.slice(start, CHUNK)
        facts = zip(
            seen_in(objects.slice(start, CHUNK)),
            rows_at.to_pylist(),
            pc.take(statuses, pc.fill_null(rows_at, 0)).to_pylist() if len(statuses) else
            [None] * len(rows_at),
            known.row_ids[at].to_pylist(),
            known.run_date[at].to_pylist(),
            known.journal[at].to_pylist(),
            known.source[at].to_pylist(),
            strict=True,
        )  # fmt: skip
        for obj, row, status, row_hit, entry_date, journal_hit, source in facts:
            in_scope = _in_scope(obj, job.name, run_date)
            if in_scope and (obj.key or obj.method == Method.CHARGE or not source):
                report.objects += 1
            fact = Facts(
                status if row is not None else None,
                row_hit,
                entry_date,
                journal_hit,
                obj.key in known.duplicates,
            )
            kind = _classify(obj, job.name, run_date, in_scope, fact, removed)
            if kind == "removed_from_ledger" and run_date is None:
                kind = None  # --all: every date at once has no ledger to be missing from
            if kind == "other_date":
                report.other_dates += 1
            elif kind is not None:
                detail = _detail(kind, obj, fact.status, known.duplicates)
                report.discrepancies.append(_about(obj, kind, detail))


def _reversals(
    session: Session,
    store: Journal,
    job: Job,
    objects: pa.Table,
    run_date: str | None,
) -> list[Discrepancy]:
    """What Stripe says was reversed of each transfer this job moved, against the journal's
    record of the reversals it made: unrecorded reversals are reported by their ``trr_`` id.
    Only the transfers where the two may differ are looked at: those Stripe shows something
    reversed of, and those the journal records reversals of."""
    recorded: dict[str, dict[str, int]] = defaultdict(dict)  # transfer -> trr -> amount
    pending: dict[str, int] = defaultdict(int)
    for r in store.iter_reversals(job.name):
        if r.state == SUCCEEDED and r.reversal_object_id:
            recorded[r.transfer_id][r.reversal_object_id] = r.amount_minor
        elif r.state == "pending":
            pending[r.transfer_id] += r.amount_minor
    reversed_in_stripe = _reversed(objects)
    wanted = set(reversed_in_stripe) | {t for t, done in recorded.items() if sum(done.values())}
    ours: dict[str, Entry] = {}
    if wanted:
        for e in store.iter_entry_facts(job.name, run_date):
            if e.transfer_id in wanted and e.state == SUCCEEDED:
                ours[e.transfer_id] = e
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


def _reversed(objects: pa.Table) -> dict[str, int]:
    """The most Stripe shows reversed of each transfer, where it shows anything (few objects:
    gathered in Python, without starting Arrow's grouping engine for them)."""
    some = pc.filter(
        objects,
        pc.and_(
            pc.greater(objects.column("amount_reversed"), 0),
            pc.not_equal(objects.column("transfer_id"), ""),
        ),
    ).select(["transfer_id", "amount_reversed"])
    most: dict[str, int] = {}
    for batch in some.to_batches(max_chunksize=CHUNK):
        for transfer_id, amount in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            most[transfer_id] = max(most.get(transfer_id, 0), amount)
    return most


@dataclass(frozen=True)
class Facts:
    """What is known of one object besides itself (see :mod:`ledgerrun.reconcile.index`)."""

    status: str | None  # the status of the results row of its key; None: no such row
    row_ids: bool  # a succeeded results row names one of its ids
    entry_date: str | None  # the run date of this job's journal entry of its key; None: none
    journal: bool  # the journal knows one of its ids
    duplicate: bool  # its key is carried by more than one object still moving


def _classify(
    obj: Seen,
    job: str,
    run_date: str | None,
    in_scope: bool,
    fact: Facts,
    removed: set[str],
) -> str | None:
    ours = fact.entry_date is not None  # this job's entry of the object's key
    moving = obj.amount_reversed < obj.amount
    if obj.key in removed and ours and moving:
        return "removed_from_ledger"
    if fact.row_ids:
        return None  # the results account for it; its row was checked above
    in_rows = fact.status is not None
    if obj.key and fact.duplicate and moving and (in_scope or in_rows):
        return "duplicate"  # a copy that was reversed in full is no longer a duplicate
    status = fact.status if obj.key else None
    if status is not None and status == SUCCEEDED and not moving:
        return None  # ...nor anything else: an extra copy of a settled row, undone in full
    if in_rows and obj.job in (job, ""):
        return "unsettled"
    if ours:
        if run_date is not None and fact.entry_date != run_date:
            return "other_date"
        return "removed_from_ledger"
    if fact.journal:
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


def _detail(kind: str, obj: Seen, status: str | None, by_key: dict[str, list[Seen]]) -> str:
    amount = money_text(obj.amount, obj.currency)
    made = f"a {obj.direction} of {amount}, job {obj.job or '?'}, run date {obj.run_date or '?'}"
    if kind == "duplicate":
        ids = ", ".join(sorted(o.transfer_id or o.payment_id for o in by_key[obj.key]))
        return f"{len(by_key[obj.key])} objects for one adjustment: {ids} ({made})"
    if kind == "unsettled":
        return f"the results row is {status} ({made})"
    if kind == "removed_from_ledger":
        return f"the journal has it; the ledger it was sent from no longer does ({made})"
    return f"no results row, not in the journal ({made})"


def _about(obj: Seen, kind: str, detail: str) -> Discrepancy:
    return Discrepancy(
        kind, obj.adjustment_id, obj.account, obj.transfer_id, obj.payment_id, detail,
        obj.amount, obj.currency,
    )  # fmt: skip


def _check_row(session: Session, row: Row, found: Seen | None) -> list[Discrepancy]:
    """The objects of a succeeded row, compared with the row."""

    def problem(kind: str, detail: str) -> Discrepancy:
        return Discrepancy(
            kind, row.adjustment_id, row.account, row.transfer_id, row.payment_id, detail,
            row.amount, row.currency,
        )  # fmt: skip

    client = session.client
    credit = row.direction == Direction.CREDIT
    primary_id = row.payment_id if row.method == "charge" else row.transfer_id
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
