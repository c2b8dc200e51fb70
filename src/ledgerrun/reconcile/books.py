"""What reconcile compares: the results rows (or the journal's, with ``--all``) and the money
movements Stripe lists for the job, reduced to small records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ledgerrun.errors import RefusedError, StripeError
from ledgerrun.ingest.identity import canonical
from ledgerrun.job import Job
from ledgerrun.output import results
from ledgerrun.reconcile.model import Discrepancy, Reconciliation
from ledgerrun.send.guard import seen_from
from ledgerrun.send.listings import account_books
from ledgerrun.store.model import SUCCEEDED, Entry, Journal, Seen
from ledgerrun.stripe.session import Session
from ledgerrun.stripe.shapes import Movement
from ledgerrun.vocab import Direction


@dataclass(frozen=True)
class Row:
    key: str
    adjustment_id: str
    account: str
    currency: str
    amount: int | None
    direction: str
    method: str
    status: str
    transfer_id: str
    payment_id: str


def since(job: Job, run_date: str | None, entries: list[Entry], now: dt.datetime) -> int:
    floor = now - dt.timedelta(days=job.guard_days)
    if run_date is not None:
        starts = [min(e.attempted_at, e.attempted_at_server) for e in entries]
        day = dt.datetime.fromisoformat(run_date).replace(tzinfo=dt.UTC)
        earliest = min([day, *starts]) - dt.timedelta(days=1)
        floor = max(floor, earliest) if starts or day > floor else floor
    return int(floor.timestamp())


def journal_of(store: Journal | None, job: str) -> dict[str, Entry]:
    """The journal's entries of this job (streamed from the store)."""
    if store is None:
        return {}
    return {e.key: e for e in store.iter_entries(job)}


def listings(
    job: Job,
    session: Session,
    store: Journal | None,
    accounts: Iterable[str],
    since: int,
    report: Reconciliation,
    known_ids: set[str],
) -> Iterator[Seen]:
    client = session.client
    groups = {job.stripe.transfer_group, job.name}
    if store is not None:
        groups |= set(store.legacy_groups())
    ids = sorted(a for a in accounts if a.startswith("acct_") and a.isascii())

    def account(account_id: str) -> list[Seen]:
        """The account's debits (by transfer, and by charge: the platform's charges and the
        transfers Stripe made for them), by the guard's own listing."""
        try:
            books = account_books(client, account_id, since)
        except RefusedError:
            return []  # an account the key cannot reach holds none of this platform's objects
        except StripeError as exc:
            report.discrepancies.append(
                Discrepancy("unchecked", "", account_id, "", "", f"listing its debits: {exc}")
            )
            return []
        kept = [
            obj_of(m)
            for m in books.transfers
            if m.transfer_group in groups
            or m.metadata.get("ledgerrun_adjustment_id")
            or m.transfer_id in known_ids  # the source transfer of a debit by charge
        ]
        return kept + [
            obj_of(m)
            for m in books.charges
            if m.transfer_group in groups or m.metadata.get("ledgerrun_adjustment_id")
        ]

    with ThreadPoolExecutor(max(1, min(job.stripe.concurrency, 8))) as pool:
        for batch in pool.map(account, ids):
            yield from batch
    try:
        credits = client.transfers(None, group=job.stripe.transfer_group, created_gte=since)
        yield from (obj_of(m) for m in list(credits))
    except StripeError as exc:
        report.discrepancies.append(
            Discrepancy("unchecked", "", "", "", "", f"listing the platform's transfers: {exc}")
        )


def obj_of(movement: Movement) -> Seen:
    """A listed object as reconcile compares it: with its ledgerrun metadata read, or with an
    empty key when it carries none."""
    seen = seen_from(movement)
    if seen is not None:
        return seen
    return Seen(movement.object_id, "", "", "", "", str(movement.direction), movement.method,
                movement.account, movement.amount, movement.currency, movement.created,
                movement.transfer_id, movement.payment_id or "",
                movement.amount_reversed)  # fmt: skip


def rows_of(entries: list[Entry]) -> list[Row]:
    """Journal entries as rows, when no results file is reconciled (``--all``)."""
    return [
        Row(
            e.key,
            e.adjustment_id,
            e.account,
            e.currency,
            e.amount_minor,
            e.direction,
            e.method,
            "succeeded" if e.state == SUCCEEDED else "unknown",
            e.transfer_id or "",
            e.payment_id or "",
        )
        for e in entries
        if e.state != "failed"
    ]


def read_rows(path: Path, prefix: str) -> list[Row]:
    return rows_from(results.read_results(path), prefix)


def rows_from(table: pa.Table, prefix: str) -> list[Row]:
    """Results rows as reconcile compares them."""
    names = (
        *("adjustment_id", "account", "currency", "amount_minor", "method", "status"),
        *("transfer_id", "payment_id"),
    )
    columns = {name: table.column(name).to_pylist() for name in names}
    directions = (
        table.column("direction").to_pylist()
        if "direction" in table.column_names
        else [Direction.DEBIT.value] * table.num_rows
    )
    out = []
    for i in range(table.num_rows):
        written = str(columns["adjustment_id"][i] or "")
        out.append(
            Row(
                canonical(written, prefix) if written else "",
                written,
                str(columns["account"][i] or ""),
                str(columns["currency"][i] or ""),
                columns["amount_minor"][i],
                str(directions[i] or Direction.DEBIT.value),
                str(columns["method"][i] or ""),
                str(columns["status"][i] or ""),
                str(columns["transfer_id"][i] or ""),
                str(columns["payment_id"][i] or ""),
            )
        )
    return out
