"""What reconcile knows of each listed object before it classifies it, worked out over every
object a column at a time (the objects and the rows are Arrow tables, see
:mod:`ledgerrun.reconcile.books`):

* which candidates stay (a transfer without ledgerrun's metadata is kept when the results or the
  journal know its id: the source transfer of a debit by charge, which carries what was
  reversed of it);
* whether the journal knows an object's ids (this job's entries, read as a stream of pages, and
  other jobs' entries of the keys the objects carry);
* the run date of this job's entry of each object's key (looked up a chunk of keys at a time);
* the results row of each object's key, and whether a succeeded row names one of its ids;
* the keys moved more than once, and the object each Stripe id leads to.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.ingest.masks import numbering
from ledgerrun.reconcile.books import CHUNK, seen_in
from ledgerrun.store.model import SUCCEEDED, Entry, Journal, Seen
from ledgerrun.vocab import Method

BATCH = 16384  # journal entries whose ids are compared with the objects at once


@dataclass
class Index:
    objects: pa.Table  # the objects kept, in listing order
    journal: pa.ChunkedArray  # per object: the journal knows one of its ids
    run_date: pa.ChunkedArray  # per object: this job's entry of its key's run date, or null
    row: pa.ChunkedArray  # per object: the (last) results row of its key, or null
    row_ids: pa.ChunkedArray  # per object: a succeeded results row names one of its ids
    source: pa.ChunkedArray  # per object: its transfer is a listed debit by charge's
    duplicates: dict[str, list[Seen]]  # the objects of each key moved more than once


def index(objects: pa.Table, rows: pa.Table, store: Journal | None, job: str) -> Index:
    """The facts of every object listed. ``objects`` is taken over: the caller keeps no other
    reference to it, so that the objects kept replace it rather than sit beside it."""
    objects, journal = _kept(objects, rows, store, job)
    run_dates, strangers = _entries(objects, store, job)
    tids, pids = objects.column("transfer_id"), objects.column("payment_id")
    if len(strangers):
        journal = pc.or_(journal, _named(tids, pids, strangers))
    keys = _backwards(rows.column("key"))  # the last row of a key is the one found
    found = pc.index_in(objects.column("key"), value_set=keys)
    row = pc.subtract(pa.scalar(len(keys) - 1, pa.int64()), pc.cast(found, pa.int64()))
    del keys, found
    done = pc.equal(rows.column("status"), SUCCEEDED)
    row_ids = _named(tids, pids, pc.filter(rows.column("transfer_id"), done))
    row_ids = pc.or_(row_ids, _named(tids, pids, pc.filter(rows.column("payment_id"), done)))
    charges = pc.and_(pc.equal(objects.column("method"), Method.CHARGE), pc.not_equal(tids, ""))
    sources = pc.filter(tids, charges).combine_chunks()
    return Index(
        objects, journal, run_dates, row, row_ids, _in(tids, sources), _duplicates(objects)
    )


def _named(
    tids: pa.ChunkedArray, pids: pa.ChunkedArray, ids: pa.Array | pa.ChunkedArray
) -> pa.ChunkedArray:
    """Per object, whether its transfer or its payment is one of ``ids`` (none of them "")."""
    chunks = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]
    known = pa.chunked_array(chunks, pa.string()).combine_chunks()
    known = pc.filter(known, pc.not_equal(known, ""))
    return pc.or_(_in(tids, known), _in(pids, known))


def _kept(
    objects: pa.Table, rows: pa.Table, store: Journal | None, job: str
) -> tuple[pa.Table, pa.ChunkedArray]:
    """The objects without the candidates nobody knows, and per object whether this job's
    journal entries know one of its ids (streamed: the job's whole journal is never held, only
    the ids of :data:`BATCH` entries at a time)."""
    tids, pids = objects.column("transfer_id"), objects.column("payment_id")
    known = _in(tids, rows.column("transfer_id").combine_chunks())
    journal = pc.fill_null(pc.equal(tids, pa.scalar(None, pa.string())), False)  # all false
    if store is not None:
        for transfers, payments in _entry_ids(store.iter_entry_facts(job)):
            known = pc.or_(known, _in(tids, transfers))
            both = pa.chunked_array([transfers, payments], pa.string())
            journal = pc.or_(journal, _named(tids, pids, both))
    keep = pc.or_(pc.invert(objects.column("candidate")), known)
    if pc.all(keep).as_py() is not False:  # as usual: every candidate known, nothing copied
        return objects.drop_columns(["candidate"]), journal
    return pc.filter(objects, keep).drop_columns(["candidate"]), pc.filter(journal, keep)


def _entry_ids(entries: Iterable[Entry]) -> Iterator[tuple[pa.Array, pa.Array]]:
    """The transfer and payment ids of the entries, :data:`BATCH` entries at a time (only
    their ids are held, never the entries)."""
    transfers: list[str] = []
    payments: list[str] = []
    for entry in entries:
        transfers.append(entry.transfer_id or "")
        payments.append(entry.payment_id or "")
        if len(transfers) >= BATCH:
            yield pa.array(transfers, pa.string()), pa.array(payments, pa.string())
            transfers, payments = [], []
    if transfers:
        yield pa.array(transfers, pa.string()), pa.array(payments, pa.string())


def _entries(
    objects: pa.Table, store: Journal | None, job: str
) -> tuple[pa.ChunkedArray, pa.Array]:
    """Per object, the run date of this job's entry of its key (null when the job has none);
    and the ids of other jobs' entries of the objects' keys."""
    dates: list[str | None] = []
    strangers: list[str] = []
    for start in range(0, objects.num_rows, CHUNK):
        keys = objects.column("key").slice(start, CHUNK).to_pylist()
        facts = store.entry_facts({k for k in keys if k}) if store is not None else {}
        for key in keys:
            entry = facts.get(key) if key else None
            dates.append(entry.run_date if entry is not None and entry.job == job else None)
        strangers += [
            i for e in facts.values() if e.job != job for i in (e.transfer_id, e.payment_id) if i
        ]
    return pa.chunked_array([pa.array(dates, pa.string())]), pa.array(strangers, pa.string())


def _duplicates(objects: pa.Table) -> dict[str, list[Seen]]:
    """Every object of each key that more than one object still moving carries (counted by a
    hash of the keys, not a grouping: Arrow's grouping engine took 40 MB more at 40,000
    objects)."""
    moving = pc.filter(
        objects.column("key"),
        pc.and_(
            pc.less(objects.column("amount_reversed"), objects.column("amount")),
            pc.not_equal(objects.column("key"), ""),
        ),
    )
    counted = pc.value_counts(moving)
    twice = pc.filter(counted.field("values"), pc.greater(counted.field("counts"), 1))
    out: dict[str, list[Seen]] = {}
    if len(twice):
        for seen in seen_in(pc.filter(objects, _in(objects.column("key"), twice))):
            out.setdefault(seen.key, []).append(seen)
    return out


def _backwards(column: pa.ChunkedArray) -> pa.Array:
    """``column``, its last value first. ``index_in`` finds a value's first place in what it
    looks in; looking in this, it finds the value's last place in ``column``, as ``len - 1 -
    found``."""
    n = len(column)
    return pc.take(column, pc.subtract(n - 1, numbering(0, n))).combine_chunks()


def places(objects: pa.Table, rows: pa.Table) -> pa.Array:
    """Per results row that succeeded, the position of the last object listed that has its id
    (a debit by charge's payment, any other row's transfer) as its transfer or its payment, or
    null: one lookup for every row at once, through a hash of each column of the objects' ids
    in turn (no column of the rows is copied for it)."""
    n = objects.num_rows
    last = pa.scalar(n - 1, pa.int64())
    at: dict[str, pa.ChunkedArray] = {}
    for name in ("transfer_id", "payment_id"):
        ids = _backwards(objects.column(name))  # the last one listed is the one found
        for wanted in ("transfer_id", "payment_id"):
            found = pc.index_in(rows.column(wanted), value_set=ids)
            here = pc.subtract(last, pc.cast(found, pa.int64()))
            at[wanted] = here if wanted not in at else pc.max_element_wise(at[wanted], here)
        del ids
    charge = pc.equal(rows.column("method"), Method.CHARGE.value)
    place = pc.if_else(charge, at["payment_id"], at["transfer_id"])
    missing = pc.if_else(
        charge, pc.equal(rows.column("payment_id"), ""), pc.equal(rows.column("transfer_id"), "")
    )
    wanted_rows = pc.and_(pc.equal(rows.column("status"), SUCCEEDED), pc.invert(missing))
    chosen = pc.if_else(wanted_rows, place, pa.scalar(None, pa.int64()))
    return chosen.combine_chunks() if isinstance(chosen, pa.ChunkedArray) else chosen


def found(objects: pa.Table, at: pa.Array) -> list[Seen | None]:
    """The object at each position (see :func:`places`), or None where there is none."""
    out: list[Seen | None] = [None] * len(at)
    hits = [n for n, a in enumerate(at.to_pylist()) if a is not None]
    if not hits:
        return out
    chosen = pc.take(at, pa.array(hits, pa.int64()))
    for n, seen in zip(hits, seen_in(pc.take(objects, chosen)), strict=True):
        out[n] = seen
    return out


def _in(values: pa.ChunkedArray, value_set: pa.Array) -> pa.ChunkedArray:
    return pc.fill_null(pc.is_in(values, value_set=value_set), False)
