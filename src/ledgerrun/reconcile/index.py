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

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun.reconcile.books import CHUNK, seen_in
from ledgerrun.store.model import SUCCEEDED, Entry, Journal, Seen
from ledgerrun.vocab import Method

PAGE = 2000  # journal entries compared at once


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
    objects, journal = _kept(objects, rows, store, job)
    run_dates, strangers = _entries(objects, store, job)
    tids, pids = objects.column("transfer_id"), objects.column("payment_id")
    if len(strangers):
        journal = pc.or_(journal, pc.or_(_in(tids, strangers), _in(pids, strangers)))
    keys = rows.column("key").combine_chunks()
    found = pc.index_in(objects.column("key"), value_set=keys[::-1])  # the last row of a key
    row = pc.subtract(pa.scalar(len(keys) - 1, pa.int64()), found.cast(pa.int64()))
    done = rows.filter(pc.equal(rows.column("status"), SUCCEEDED))
    ids = _ids(done.column("transfer_id"), done.column("payment_id"))
    charges = pc.and_(pc.equal(objects.column("method"), Method.CHARGE), pc.not_equal(tids, ""))
    sources = pc.filter(tids, charges).combine_chunks()
    return Index(
        objects,
        journal,
        run_dates,
        row,
        pc.or_(_in(tids, ids), _in(pids, ids)),
        _in(tids, sources),
        _duplicates(objects),
    )


def _kept(
    objects: pa.Table, rows: pa.Table, store: Journal | None, job: str
) -> tuple[pa.Table, pa.ChunkedArray]:
    """The objects without the candidates nobody knows, and per object whether this job's
    journal entries know one of its ids (streamed: the job's whole journal is never held)."""
    tids, pids = objects.column("transfer_id"), objects.column("payment_id")
    known = _in(tids, rows.column("transfer_id").combine_chunks())
    journal = pc.equal(tids, pa.scalar(None, pa.string())).fill_null(False)  # all false
    if store is not None:
        for page in _pages(store.iter_entry_facts(job)):
            known = pc.or_(known, _in(tids, pa.array([e.transfer_id or "" for e in page])))
            ids = _ids(
                pa.array([e.transfer_id or "" for e in page]),
                pa.array([e.payment_id or "" for e in page]),
            )
            journal = pc.or_(journal, pc.or_(_in(tids, ids), _in(pids, ids)))
    keep = pc.or_(pc.invert(objects.column("candidate")), known)
    return objects.filter(keep).drop_columns(["candidate"]), pc.filter(journal, keep)


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
    """Every object of each key that more than one object still moving carries."""
    moving = objects.filter(
        pc.and_(
            pc.less(objects.column("amount_reversed"), objects.column("amount")),
            pc.not_equal(objects.column("key"), ""),
        )
    )
    counted = moving.group_by("key").aggregate([("key", "count")])
    twice = counted.filter(pc.greater(counted.column("key_count"), 1)).column("key")
    out: dict[str, list[Seen]] = {}
    if len(twice):
        for seen in seen_in(objects.filter(_in(objects.column("key"), twice.combine_chunks()))):
            out.setdefault(seen.key, []).append(seen)
    return out


def by_id(objects: pa.Table) -> pa.Table:
    """Each Stripe id of the objects, with the position of the last object that has it."""
    places = pa.array(range(objects.num_rows), pa.int64())
    both = pa.table(
        {
            "id": pa.chunked_array(
                [*objects.column("transfer_id").chunks, *objects.column("payment_id").chunks],
                pa.string(),
            ),
            "at": pa.chunked_array([places, places]),
        }
    )
    both = both.filter(pc.not_equal(both.column("id"), ""))
    return both.group_by("id").aggregate([("at", "max")])


def found(objects: pa.Table, ids: pa.Table, wanted: list[str]) -> list[Seen | None]:
    """The object each wanted id leads to (the last one listed that has it), or None."""
    at = pc.index_in(pa.array(wanted, pa.string()), value_set=ids.column("id").combine_chunks())
    places = pc.take(ids.column("at_max"), at.fill_null(0)) if len(ids) else None
    out: list[Seen | None] = [None] * len(wanted)
    hits = [n for n, a in enumerate(at.to_pylist()) if a is not None]
    if not hits or places is None:
        return out
    chosen = pc.take(places, pa.array(hits, pa.int64()))
    for n, seen in zip(hits, seen_in(objects.take(chosen)), strict=True):
        out[n] = seen
    return out


def _ids(transfers: pa.Array | pa.ChunkedArray, payments: pa.Array | pa.ChunkedArray) -> pa.Array:
    both = pa.chunked_array([*_chunks(transfers), *_chunks(payments)], pa.string()).combine_chunks()
    return pc.filter(both, pc.not_equal(both, ""))


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def _in(values: pa.ChunkedArray, value_set: pa.Array) -> pa.ChunkedArray:
    return pc.is_in(values, value_set=value_set).fill_null(False)


def _pages(entries: Iterable[Entry]) -> Iterator[list[Entry]]:
    it = iter(entries)
    return iter(lambda: list(itertools.islice(it, PAGE)), [])
