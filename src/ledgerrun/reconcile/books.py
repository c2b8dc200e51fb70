"""What reconcile compares: the results rows (or the journal's, with ``--all``) and the money
movements Stripe lists for the job, reduced to small records and kept in Arrow columns: a night
of 200,000 rows is never 200,000 Python objects at once, only a chunk of them
(:data:`CHUNK`) while it is compared."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.errors import RefusedError, StripeError
from ledgerrun.ingest.identity import canonical
from ledgerrun.job import Job
from ledgerrun.metadata_keys import META_ADJUSTMENT
from ledgerrun.output import results
from ledgerrun.reconcile.model import Discrepancy, Reconciliation
from ledgerrun.send.guard import seen_from
from ledgerrun.send.listings import account_books
from ledgerrun.store.model import SUCCEEDED, Entry, Journal, Seen
from ledgerrun.stripe.session import Session
from ledgerrun.stripe.shapes import Movement
from ledgerrun.vocab import Direction, Method

CHUNK = 4096  # rows or objects compared at once
ACCOUNTS_AT_ONCE = 256  # accounts listed before their objects are put in columns


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


# Columns of few distinct values are kept as dictionaries: an account's id or a status once,
# then a small number per row (about 20 MB fewer at 200,000 rows and as many objects).
_FEW = ("account", "currency", "direction", "method", "status", "job", "run_date")
_WORDS = pa.dictionary(pa.int32(), pa.string())


def _type(name: str, ints: tuple[str, ...]) -> pa.DataType:
    return pa.int64() if name in ints else _WORDS if name in _FEW else pa.string()


def _array(values: list[object], type_: pa.DataType) -> pa.Array:
    if type_ == _WORDS:
        return pc.dictionary_encode(pa.array(values, pa.string()))
    return pa.array(values, type_)


ROW_SCHEMA = pa.schema([(f.name, _type(f.name, ("amount",))) for f in fields(Row)])
_SEEN_INTS = ("amount", "created", "amount_reversed")
# Not kept: an object's id is its transfer's or (a debit by charge) its payment's, and reconcile
# never compares ``bare`` (two columns of ids fewer: 10 MB at 200,000 objects).
_UNKEPT = ("object_id", "bare")
_SEEN_KEPT = [f.name for f in fields(Seen) if f.name not in _UNKEPT]
SEEN_SCHEMA = pa.schema(
    [(name, _type(name, _SEEN_INTS)) for name in _SEEN_KEPT]
    + [("candidate", pa.bool_())]  # kept only if the journal or the results know its transfer
)


def since(job: Job, run_date: str | None, earliest: dt.datetime | None, now: dt.datetime) -> int:
    """Where the listings start: the run date's day before (or its earliest attempt's), within
    the guard's window. ``earliest``: the earliest attempt of the scope's entries, if any."""
    floor = now - dt.timedelta(days=job.guard_days)
    if run_date is not None:
        day = dt.datetime.fromisoformat(run_date).replace(tzinfo=dt.UTC)
        start = day if earliest is None else min(day, earliest)
        earliest_day = start - dt.timedelta(days=1)
        floor = max(floor, earliest_day) if earliest is not None or day > floor else floor
    return int(floor.timestamp())


def started(entry: Entry) -> dt.datetime:
    return min(entry.attempted_at, entry.attempted_at_server)


# --- the rows ------------------------------------------------------------------------------------


def rows_table(rows: Iterable[Row]) -> pa.Table:
    """Rows as columns, gathered a chunk at a time."""
    batches, chunk = [], []
    for row in rows:
        chunk.append(astuple(row))
        if len(chunk) >= CHUNK:
            batches.append(_row_batch(chunk))
            chunk = []
    if chunk:
        batches.append(_row_batch(chunk))
    return pa.Table.from_batches(batches, schema=ROW_SCHEMA)


def _row_batch(chunk: list[tuple[object, ...]]) -> pa.RecordBatch:
    arrays = [_array([r[n] for r in chunk], f.type) for n, f in enumerate(ROW_SCHEMA)]
    return pa.RecordBatch.from_arrays(arrays, schema=ROW_SCHEMA)


def rows_in(table: pa.Table) -> Iterator[Row]:
    """The rows of a rows table, a chunk at a time made Python."""
    for batch in table.to_batches(max_chunksize=CHUNK):
        for values in batch.to_pylist():
            yield Row(**values)


def rows_of(entries: Iterable[Entry]) -> pa.Table:
    """Journal entries as rows, when no results file is reconciled (``--all``)."""
    return rows_table(
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
    )


def read_rows(path: Path, prefix: str) -> pa.Table:
    return rows_from(results.read_results(path), prefix)


ROW_COLUMNS = (
    *("adjustment_id", "account", "currency", "amount_minor", "method", "status"),
    *("transfer_id", "payment_id"),
)


def rows_from(table: pa.Table, prefix: str) -> pa.Table:
    """Results rows as reconcile compares them."""
    if "direction" not in table.column_names:
        table = table.append_column(
            "direction", pa.array([Direction.DEBIT.value] * table.num_rows, pa.string())
        )
    return rows_table(_rows_from(table.select([*ROW_COLUMNS, "direction"]), prefix))


def _rows_from(table: pa.Table, prefix: str) -> Iterator[Row]:
    for batch in table.to_batches(max_chunksize=CHUNK):
        for c in batch.to_pylist():
            written = str(c["adjustment_id"] or "")
            yield Row(
                canonical(written, prefix) if written else "",
                written,
                str(c["account"] or ""),
                str(c["currency"] or ""),
                c["amount_minor"],
                str(c["direction"] or Direction.DEBIT.value),
                str(c["method"] or ""),
                str(c["status"] or ""),
                str(c["transfer_id"] or ""),
                str(c["payment_id"] or ""),
            )


# --- what Stripe lists ---------------------------------------------------------------------------


def listings(
    job: Job,
    session: Session,
    store: Journal | None,
    accounts: Iterable[str],
    since: int,
    report: Reconciliation,
) -> Iterator[pa.RecordBatch]:
    """Every object of the accounts' books (and the platform's credits) that may be the job's,
    as record batches of :data:`SEEN_SCHEMA`, a few hundred accounts' at a time, in account
    order. A transfer that is neither in the job's groups nor carries ledgerrun's metadata is a
    ``candidate``: the source transfer of a debit by charge, kept if the results or the journal
    know its id (see :func:`ledgerrun.reconcile.check.reconcile`)."""
    client = session.client
    groups = {job.stripe.transfer_group, job.name}
    if store is not None:
        groups |= set(store.legacy_groups())
    ids = sorted(a for a in accounts if a.startswith("acct_") and a.isascii())

    def account(account_id: str) -> list[tuple[Seen, bool]]:
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
            (obj_of(m), not (m.transfer_group in groups or m.metadata.get(META_ADJUSTMENT)))
            for m in books.transfers
        ]
        return kept + [
            (obj_of(m), False)
            for m in books.charges
            if m.transfer_group in groups or m.metadata.get(META_ADJUSTMENT)
        ]

    with ThreadPoolExecutor(max(1, min(job.stripe.concurrency, 8))) as pool:
        for start in range(0, len(ids), ACCOUNTS_AT_ONCE):
            found = [o for objs in pool.map(account, ids[start : start + ACCOUNTS_AT_ONCE])
                     for o in objs]  # fmt: skip
            if found:
                yield seen_batch(found)
    try:
        credits = client.transfers(None, group=job.stripe.transfer_group, created_gte=since)
        found = [(obj_of(m), False) for m in credits]
        if found:
            yield seen_batch(found)
    except StripeError as exc:
        report.discrepancies.append(
            Discrepancy("unchecked", "", "", "", "", f"listing the platform's transfers: {exc}")
        )


def seen_batch(found: list[tuple[Seen, bool]]) -> pa.RecordBatch:
    arrays = [
        _array([getattr(seen, f.name) for seen, _ in found], f.type)
        for f in SEEN_SCHEMA
        if f.name != "candidate"
    ]
    arrays.append(pa.array([candidate for _, candidate in found], pa.bool_()))
    return pa.RecordBatch.from_arrays(arrays, schema=SEEN_SCHEMA)


def seen_in(table: pa.Table) -> Iterator[Seen]:
    """The objects of a table of :data:`SEEN_SCHEMA`, a chunk at a time made Python."""
    for batch in table.select(_SEEN_KEPT).to_batches(max_chunksize=CHUNK):
        for values in batch.to_pylist():
            charge = values["method"] == Method.CHARGE
            object_id = values["payment_id"] if charge else values["transfer_id"]
            yield Seen(object_id=object_id, bare="", **values)


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
