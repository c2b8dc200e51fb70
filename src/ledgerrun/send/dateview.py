"""The run date's results as a view of the store: what the date's results file holds after any
run that may have moved money, rebuilt from the store alone, so that ``ledgerrun results --date``
writes the very same file.

The rows of the date's latest run that was not refused, in its ledger's order, then every other
adjustment of the job and date the store knows as sent (another batch's, or a row since taken
out of the ledger), each with its latest truth (:func:`ledgerrun.send.records.overlay`). A later
run can never make it hold less; a refused run (nothing sent) leaves it alone. Its summary
describes the date and lists its runs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun import money
from ledgerrun.clock import iso
from ledgerrun.job import Job
from ledgerrun.output.results import RESULT_COLUMNS
from ledgerrun.send.outcomes import zipped
from ledgerrun.send.records import (
    NOT_IN_LEDGER,
    REFUSED,
    ROWS,
    keys_of,
    major,
    overlay,
    own,
    own_summary,
)
from ledgerrun.store.model import FAILED, Entry, Journal, Run
from ledgerrun.vocab import Status


def base_run(store: Journal, job: str, run_date: str) -> Run | None:
    """The date's latest run whose rows the view starts from: a real run (not a dry run) that
    kept its rows and was not refused (a refused run sent nothing and changes no record)."""
    candidates = [
        r
        for r in store.runs(job)
        if r.run_date == run_date and r.kind == "run" and r.exit_code != REFUSED
    ]
    for run in sorted(candidates, key=lambda r: (r.started_at, r.run_id), reverse=True):
        if ROWS in store.run_file_names(run.run_id):
            return run
    return None


COMPARED = (
    *("adjustment_id", "account", "currency", "amount_minor", "direction", "method", "status"),
    *("transfer_id", "payment_id", "idempotency_key", "stripe_request_id", "error_code"),
    *("error_message", "attempts", "completed_at", "amount_reversed", "reversal_ids"),
    "reversal_status",
)
"""The columns of the view that reconcile compares (and its fingerprint and overlay read)."""


def date_view(
    store: Journal,
    job: Job,
    run_date: str,
    kept: tuple[str, pa.Table] | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """The results of ``job`` for ``run_date`` as the store knows them (module docstring).
    ``kept``: a run's id and the rows it has just kept in the store, already overlaid, while
    it holds the job's lock (neither read back nor overlaid again: nothing the overlay reads has
    changed since); ``columns``: only these (the view's fingerprint is the same)."""
    run = base_run(store, job.name, run_date)
    table = None
    fresh = kept is not None and run is not None and kept[0] == run.run_id
    if run is not None:
        table = kept[1] if fresh and kept is not None else own(store, run.run_id, columns)
    if table is None:
        table = empty()
    if columns is not None:
        table = table.select(list(columns))
    if not fresh:
        table = overlay(table, store, job.id_prefix)
    present = set(keys_of(table, job.id_prefix))
    others = sorted(
        (e for e in store.iter_entry_facts(job.name, run_date) if e.key not in present),
        key=lambda e: (e.attempted_at, e.key),
    )
    if not others:
        return table
    extra = overlay(rows_of(others, table.schema), store, job.id_prefix)
    kind = table.schema  # the overlay's own columns, in the run's types (nulls where unknown)
    extra = pa.Table.from_arrays([pc.cast(extra.column(f.name), f.type) for f in kind], schema=kind)
    return pa.concat_tables([table, extra])


def empty() -> pa.Table:
    """A results table with no rows (a date no run kept rows for)."""
    return pa.table({name: pa.array([], _type(name)) for name in RESULT_COLUMNS})


def rows_of(entries: Sequence[Entry], schema: pa.Schema) -> pa.Table:
    """Results rows for adjustments the store knows but the ledger does not hold."""
    values: dict[str, list[Any]] = defaultdict(list)
    for e in entries:
        row: dict[str, Any] = {
            "row": None,
            "adjustment_id": e.adjustment_id,
            "account": e.account,
            "currency": e.currency,
            "amount": major(e.amount_minor, e.currency),
            "amount_minor": e.amount_minor,
            "direction": e.direction,
            "method": e.method,
            "status": Status.UNKNOWN.value,  # replaced by the overlay
            "attempts": 0,
            "error_code": NOT_IN_LEDGER,
            "error_message": (
                f"Not in this ledger: sent from {batch_words(e.batch)} by run {e.run_id}."
            ),
        }
        for name in schema.names:
            values[name].append(row.get(name, ""))
    return pa.table(
        {name: pa.array(values[name], schema.field(name).type) for name in schema.names}
    )


def batch_words(batch: str) -> str:
    if batch.startswith("ledger:"):
        return f"ledger {batch.removeprefix('ledger:')}"
    return f"web upload {batch}" if batch else "another ledger"


def _type(name: str) -> pa.DataType:
    return pa.int64() if name in ("row", "amount_minor", "attempts") else pa.string()


def removed_from_ledger(store: Journal, job: Job, run_date: str) -> set[str]:
    """The adjustments of the job and date that moved money (or may have) from a batch (a web
    upload, a ledger path) whose latest run no longer holds them: taken out of that ledger.
    Another batch's adjustments of the same date are never among them."""
    latest = latest_runs(store, job.name, run_date)
    held: dict[str, set[str]] = {}
    out = set()
    for entry in store.iter_entry_facts(job.name, run_date):
        last = latest.get(entry.batch)
        if last is None or entry.state == FAILED:
            continue
        if last.run_id not in held:
            table = own(store, last.run_id, ["adjustment_id"])
            held[last.run_id] = set(keys_of(table, job.id_prefix)) if table is not None else set()
        if entry.key not in held[last.run_id]:
            out.add(entry.key)
    return out


def latest_runs(store: Journal, job: str, run_date: str) -> dict[str, Run]:
    """Each batch's latest run of the date that kept its rows (refused runs aside)."""
    latest: dict[str, Run] = {}
    for run in store.runs(job):  # oldest first: each batch's last run stays
        kept = ROWS in store.run_file_names(run.run_id)
        if kept and run.run_date == run_date and run.kind == "run" and run.exit_code != REFUSED:
            latest[run.batch] = run
    return latest


# --- the run date's summary -----------------------------------------------------------------------


def date_summary(store: Journal, job: Job, run_date: str, view: pa.Table) -> dict[str, Any]:
    """The summary of the date's view: its rows, counts and money (reversals included), the
    date's runs one by one, and the rest as the latest run that made the view recorded it."""
    from ledgerrun.summary import count, totals

    runs = [r for r in store.runs(job.name) if r.run_date == run_date and r.kind == "run"]
    base = base_run(store, job.name, run_date)
    summary = dict((own_summary(store, base.run_id) if base else None) or {})
    status = view.column("status")
    summary["rows"] = view.num_rows
    summary["counts"] = count(s for (s,) in zipped(status))
    summary["totals"] = totals(
        zipped(view.column("currency"), view.column("direction"), view.column("amount_minor"),
               status)
    )  # fmt: skip
    summary["reversed_minor"] = _reversed_totals(view)
    summary["not_in_ledger"] = int(
        pc.sum(pc.equal(view.column("error_code"), NOT_IN_LEDGER)).as_py() or 0
    )
    summary["runs"] = [_run_line(store, r) for r in runs]
    summary["view"] = f"the results of job {job.name} for {run_date}, from its journal"
    summary["view_sha256"] = fingerprint(view)
    sent = sum(int(line["sent_now"] or 0) for line in summary["runs"])
    summary["sent_now"] = sent  # by every run of the date
    summary["done_earlier"] = max(0, summary["counts"].get(Status.SUCCEEDED.value, 0) - sent)
    return summary


class Digest(Protocol):
    """A hash being fed (``hashlib.sha256()``)."""

    def update(self, data: bytes, /) -> None: ...


FINGERPRINTED = (
    *("adjustment_id", "account", "currency", "amount_minor", "direction", "status"),
    *("transfer_id", "payment_id", "amount_reversed"),
)
"""The columns of the view :func:`fingerprint` hashes, in its order."""


def fingerprint(view: pa.Table) -> str:
    """What a check of the date's results depends on, as one hash: when it is unchanged, a
    reconcile of the date still holds (a run that sent nothing and changed nothing leaves it)."""
    import hashlib

    digest = hashlib.sha256()
    add_to_fingerprint(digest, view)
    return digest.hexdigest()


def add_to_fingerprint(digest: Digest, rows: pa.Table) -> None:
    """Hash ``rows`` into ``digest``, row by row: the view's rows added in order, a part at a
    time, give :func:`fingerprint` of the whole view."""
    for row in zipped(*rows.select(list(FINGERPRINTED)).columns):
        digest.update(json.dumps(list(row)).encode("utf-8"))


def _reversed_totals(view: pa.Table) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    rows = zipped(view.column("currency"), view.column("direction"), view.column("amount_reversed"))
    for currency, direction, text in rows:
        if not text or not currency:
            continue
        minor = money.parse_major(str(text), money.exponent(str(currency)))
        by = out.setdefault(str(currency), {})
        by[str(direction)] = by.get(str(direction), 0) + minor
    return {c: dict(sorted(d.items())) for c, d in sorted(out.items())}


def _run_line(store: Journal, run: Run) -> dict[str, Any]:
    """One run of the date, as its own summary recorded it (or its record, for a run that kept
    none: one killed before its end)."""
    own = own_summary(store, run.run_id) or {}
    return {
        "run_id": run.run_id,
        "started_at": iso(run.started_at),
        "ended_at": own.get("ended_at") or iso(run.ended_at),
        "exit_code": own.get("exit_code", run.exit_code),
        "user": run.username,
        "host": run.host,
        "ledger": run.ledger_path,
        "batch": run.batch,
        "rows": run.rows,
        "sent_now": own.get("sent_now"),
        "done_earlier": own.get("done_earlier"),
        "counts": own.get("counts") or run.counts or {},
    }


# --- written again -----------------------------------------------------------------------------


def rebuild(store: Journal, job: Job, run_id: str | None = None) -> tuple[pa.Table, dict[str, Any]]:
    """What ``ledgerrun results`` writes: the run date's results and summary as the store
    knows them, or (``run_id``) that run's own rows with their latest truth and its own summary.
    LookupError when the store holds no such record."""
    if run_id is not None:
        table, summary = own(store, run_id), own_summary(store, run_id)
        if table is None or summary is None:
            raise LookupError(f"the journal keeps no record of a run {run_id}")
        prefix = str(summary.get("id_prefix") or "")
        return overlay(table, store, prefix), summary
    run_date = job.run_date.isoformat()
    view = date_view(store, job, run_date)
    if view.num_rows == 0 and base_run(store, job.name, run_date) is None:
        raise LookupError(f"the journal holds nothing job {job.name} sent for {run_date}")
    return view, date_summary(store, job, run_date, view)
