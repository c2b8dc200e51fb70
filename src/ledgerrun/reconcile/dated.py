"""The run date's rows as reconcile compares them, built a chunk at a time.

They are the date's view (:func:`ledgerrun.send.dateview.date_view`: the rows of the date's
latest run, then the adjustments of the date the store knows that it does not hold, each with
its latest truth), but the view is never held whole: each chunk of the base run's rows is read
from its kept file, overlaid with the store's truth (:func:`ledgerrun.send.records.overlay`),
added to the view's fingerprint and reduced to the few columns compared
(:data:`ledgerrun.reconcile.books.ROW_SCHEMA`). The date's entries are read once, for all
that reconcile asks of them: the earliest attempt, their accounts, the adjustments the view
does not hold, and those taken out of the ledger they were sent from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.job import Job
from ledgerrun.reconcile.books import CHUNK, rows_from, started
from ledgerrun.send import dateview, records
from ledgerrun.store.model import FAILED, Journal, Run


@dataclass
class Dated:
    rows: pa.Table  # the date's rows (ROW_SCHEMA), in the view's order
    view_sha256: str  # the view's fingerprint, as dateview.fingerprint gives it
    removed: set[str]  # the keys taken out of the ledger they were sent from
    earliest: dt.datetime | None  # the earliest attempt of the date's entries
    accounts: set[str]  # the accounts of the date's entries


@dataclass
class _Entries:
    """The date's entries, a few columns of each (read once)."""

    keys: pa.Array
    batches: pa.Array  # each entry's batch, as a number (see ``names``)
    failed: pa.Array  # the entry failed for good
    names: dict[str, int]  # batch -> its number
    earliest: dt.datetime | None
    accounts: set[str]


def date_rows(store: Journal, job: Job, run_date: str) -> Dated:
    """The date's rows, their fingerprint and what the date's entries tell (module docstring)."""
    entries = _entries(store, job.name, run_date)
    digest = hashlib.sha256()
    base = dateview.base_run(store, job.name, run_date)
    schema = _overlaid(_empty(), store, job).schema  # a date no run kept rows for
    parts = []
    for chunk in _base(store, job, base):
        schema = chunk.schema
        parts.append(_reduced(chunk, digest, job.id_prefix))
    present = pa.chunked_array([p.column("key") for p in parts], pa.string()).combine_chunks()
    missing = pc.filter(entries.keys, pc.invert(pc.is_in(entries.keys, value_set=present)))
    if len(missing):
        facts = store.entry_facts(missing.to_pylist())
        others = sorted(facts.values(), key=lambda e: (e.attempted_at, e.key))
        extra = dateview.rows_of(others, schema)
        for at in range(0, extra.num_rows, CHUNK):
            chunk = _overlaid(extra.slice(at, CHUNK), store, job)
            parts.append(_reduced(chunk, digest, job.id_prefix))
    removed = _removed(store, job, run_date, entries, base, present)
    del present, missing
    rows = pa.concat_tables(parts) if parts else rows_from(_empty(), job.id_prefix)
    return Dated(rows, digest.hexdigest(), removed, entries.earliest, entries.accounts)


def _entries(store: Journal, job: str, run_date: str) -> _Entries:
    keys: list[pa.Array] = []
    batches: list[pa.Array] = []
    failed: list[pa.Array] = []
    names: dict[str, int] = {}
    earliest: dt.datetime | None = None
    accounts: set[str] = set()
    page: list[tuple[str, int, bool]] = []

    def flush() -> None:
        keys.append(pa.array([k for k, _, _ in page], pa.string()))
        batches.append(pa.array([b for _, b, _ in page], pa.int32()))
        failed.append(pa.array([f for _, _, f in page], pa.bool_()))
        page.clear()

    for entry in store.iter_entry_facts(job, run_date):
        at = started(entry)
        earliest = at if earliest is None else min(earliest, at)
        accounts.add(entry.account)
        batch = names.setdefault(entry.batch, len(names))
        page.append((entry.key, batch, entry.state == FAILED))
        if len(page) >= CHUNK:
            flush()
    flush()
    return _Entries(
        pa.concat_arrays(keys),
        pa.concat_arrays(batches),
        pa.concat_arrays(failed),
        names,
        earliest,
        accounts,
    )


def _base(store: Journal, job: Job, run: Run | None) -> Iterator[pa.Table]:
    """The base run's rows (the view's columns), overlaid a chunk at a time; none when there
    is no base run, or it kept no rows."""
    import pyarrow.parquet as pq

    data = None if run is None else store.run_file(run.run_id, records.ROWS)
    if data is None:
        return
    kept = pq.ParquetFile(pa.BufferReader(data))
    held = set(kept.schema_arrow.names)
    columns = [c for c in dateview.COMPARED if c in held]
    for batch in kept.iter_batches(batch_size=CHUNK, columns=columns, use_threads=False):
        yield _overlaid(pa.Table.from_batches([batch]), store, job)


def _overlaid(table: pa.Table, store: Journal, job: Job) -> pa.Table:
    return records.overlay(table.select(list(dateview.COMPARED)), store, job.id_prefix)


def _reduced(chunk: pa.Table, digest: dateview.Digest, prefix: str) -> pa.Table:
    """A chunk of the view: added to the fingerprint (the chunks in the view's order give
    :func:`ledgerrun.send.dateview.fingerprint` of the whole view), reduced to the columns
    compared."""
    dateview.add_to_fingerprint(digest, chunk)
    return rows_from(chunk, prefix)


def _empty() -> pa.Table:
    return dateview.empty().select(list(dateview.COMPARED))


def _removed(
    store: Journal,
    job: Job,
    run_date: str,
    entries: _Entries,
    base: Run | None,
    base_keys: pa.Array,
) -> set[str]:
    """As :func:`ledgerrun.send.dateview.removed_from_ledger`, from the entries read once: the
    keys of the date (not failed) that the latest run of the batch they were sent from does not
    hold (the base run's are the rows already read)."""
    latest = dateview.latest_runs(store, job.name, run_date)
    out: set[str] = set()
    for name, last in latest.items():
        number = entries.names.get(name)
        if number is None:
            continue
        held = base_keys
        if base is None or last.run_id != base.run_id:
            table = records.own(store, last.run_id, ["adjustment_id"])
            keys = [] if table is None else records.keys_of(table, job.id_prefix)
            held = pa.array(keys, pa.string())
        of_batch = pc.and_(pc.equal(entries.batches, number), pc.invert(entries.failed))
        gone = pc.and_(of_batch, pc.invert(pc.is_in(entries.keys, value_set=held)))
        out.update(str(k) for k in pc.filter(entries.keys, gone).to_pylist())
    return out
