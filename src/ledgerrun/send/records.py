"""The records people act on, kept true: each run's own record, and the run date's results as a
view of the store.

* **A run's own record** (:func:`keep`, :func:`own`): the rows of the ledger it read, as it left
  them, and its own summary, kept in the store under the run's id. Nothing later changes them;
  ``ledgerrun results --run`` writes them again.
* **The run date's results** (:func:`date_view`): what the date's results file holds after any
  run that may have moved money, rebuilt from the store alone, so that ``ledgerrun results
  --date`` writes the very same file. The rows of the date's latest run that was not refused, in
  its ledger's order, then every other adjustment of the job and date the store knows as sent
  (another batch's, or a row since taken out of the ledger), each with its latest truth
  (:func:`overlay`). A later run can never make it hold less; a refused run leaves it alone.
* **The latest truth of a row** (:func:`overlay`): where the store knows the row's adjustment,
  its state and Stripe ids are the store's; and every row shows what was reversed of it
  (``amount_reversed``, ``reversal_ids``, ``reversal_status``: none, partial or full), its
  ``status`` staying ``succeeded``. A row whose adjustment already moved money and whose ledger
  row was edited since stays ``succeeded`` with its ids, and carries ``adjustment_conflict``.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ledgerrun import money
from ledgerrun.clock import iso
from ledgerrun.ingest.identity import canonical
from ledgerrun.job import Job
from ledgerrun.output.results import RESULT_COLUMNS
from ledgerrun.store.model import FAILED, PENDING, SUCCEEDED, Entry, Journal, ReversalEntry, Run
from ledgerrun.vocab import Status

ROWS = "rows.parquet"  # a run's own results table, as the run left it
SUMMARY = "summary.json"  # a run's own summary
CONFLICT = "adjustment_conflict"
NOT_IN_LEDGER = "not_in_ledger"
REFUSED = 2  # the exit code of a run that sent nothing (an invalid ledger, aborted)


@dataclass(frozen=True)
class Reversed:
    """What was reversed of one adjustment, by succeeded reversals."""

    amount: int  # minor units
    ids: tuple[str, ...]  # Stripe's ids of the reversals (trr_, re_)

    def status(self, moved: int) -> str:
        if self.amount <= 0:
            return "none"
        return "full" if self.amount >= moved else "partial"


# --- a run's own record --------------------------------------------------------------------------


def keep(store: Journal, run_id: str, table: pa.Table, summary: dict[str, Any]) -> None:
    """Keep a run's own rows and summary in the store, under its id."""
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    store.save_run_file(run_id, ROWS, buffer.getvalue())
    text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
    store.save_run_file(run_id, SUMMARY, text.encode("utf-8"))


def own(store: Journal, run_id: str) -> pa.Table | None:
    """A run's own rows, as it left them; None for a run that kept none."""
    import pyarrow.parquet as pq

    data = store.run_file(run_id, ROWS)
    return None if data is None else pq.read_table(io.BytesIO(data))


def own_summary(store: Journal, run_id: str) -> dict[str, Any] | None:
    data = store.run_file(run_id, SUMMARY)
    return None if data is None else dict(json.loads(data))


# --- the latest truth ----------------------------------------------------------------------------


def keys_of(table: pa.Table, prefix: str) -> list[str]:
    """Each row's canonical adjustment id ("" for a row with none)."""
    return [
        canonical(str(i), prefix) if i else "" for i in table.column("adjustment_id").to_pylist()
    ]


def reversed_of(store: Journal, keys: Iterable[str]) -> dict[str, Reversed]:
    """What succeeded reversals took back of each adjustment."""
    out: dict[str, Reversed] = {}
    for key, reversals in store.reversals_of(k for k in set(keys) if k).items():
        done = [r for r in reversals if r.state == SUCCEEDED]
        if done:
            out[key] = Reversed(sum(r.amount_minor for r in done), tuple(_ids(done)))
    return out


def _ids(reversals: Sequence[ReversalEntry]) -> list[str]:
    return [r.reversal_object_id for r in reversals if r.reversal_object_id]


def overlay(table: pa.Table, store: Journal, prefix: str) -> pa.Table:
    """``table`` (results rows) with each known adjustment's latest truth from the store, and
    the reversal columns filled in."""
    keys = keys_of(table, prefix)
    entries = store.entries(k for k in set(keys) if k)
    reversals = reversed_of(store, entries)
    columns = {name: table.column(name).to_pylist() for name in _TRUTH}
    amounts = table.column("amount_minor").to_pylist()
    currencies = table.column("currency").to_pylist()
    reversed_text, reversal_ids, reversal_status = [], [], []
    for i, key in enumerate(keys):
        entry = entries.get(key)
        if entry is not None:
            _truth(columns, i, entry)
        back = reversals.get(key) if entry is not None and entry.state == SUCCEEDED else None
        moved = entry.amount_minor if entry is not None else int(amounts[i] or 0)
        reversed_text.append(_major(back.amount, str(currencies[i] or "")) if back else "")
        reversal_ids.append(" ".join(back.ids) if back else "")
        reversal_status.append(back.status(moved) if back else "none")
    for name, values in columns.items():
        table = _set(table, name, pa.array(values, table.schema.field(name).type))
    table = _set(table, "amount_reversed", pa.array(reversed_text, pa.string()))
    table = _set(table, "reversal_ids", pa.array(reversal_ids, pa.string()))
    return _set(table, "reversal_status", pa.array(reversal_status, pa.string()))


_TRUTH = (
    *("status", "transfer_id", "payment_id", "idempotency_key", "stripe_request_id"),
    *("error_code", "error_message", "attempts", "completed_at"),
)


def _truth(columns: dict[str, list[Any]], i: int, entry: Entry) -> None:
    """Row ``i`` as the store knows its adjustment (see the module docstring). The row's own
    words stay where they still hold: a row not in the ledger says so, and a failure this row
    saw keeps its advice."""
    status = columns["status"][i]
    code, message = columns["error_code"][i], columns["error_message"][i]
    if entry.state == FAILED and status in (Status.INVALID, Status.SKIPPED):
        return  # refused earlier, and this row (corrected or not) was not sent: as it stands
    edited = status == Status.INVALID or code == CONFLICT
    words: tuple[str, str] | None = (code, message) if code == NOT_IN_LEDGER else None
    if edited:
        words = (CONFLICT, conflict_message(entry, message))
    values: dict[str, Any] = {"status": _STATUS[entry.state]}
    if entry.state == SUCCEEDED:
        words = words or ("", "")
        values |= {
            "transfer_id": entry.transfer_id or "",
            "payment_id": entry.payment_id or "",
            "completed_at": iso(entry.completed_at),
        }
    elif entry.state == FAILED:
        if status == Status.FAILED:
            words = words or (code, message)  # this row's failure, with its advice
        values["completed_at"] = iso(entry.completed_at)
    words = words or (entry.error_code or code or "", entry.error_message or message or "")
    values |= {
        "error_code": words[0],
        "error_message": words[1],
        "idempotency_key": entry.idempotency_key or columns["idempotency_key"][i],
        "stripe_request_id": entry.request_id or columns["stripe_request_id"][i],
        "attempts": max(int(columns["attempts"][i] or 0), entry.attempts),
    }
    for name, value in values.items():
        columns[name][i] = value


_STATUS: dict[str, str] = {
    SUCCEEDED: Status.SUCCEEDED.value,
    PENDING: Status.UNKNOWN.value,
    FAILED: Status.FAILED.value,
}


def conflict_message(entry: Entry, row_message: str | None) -> str:
    """What an edited row that already moved money says."""
    moved = "moved" if entry.state == SUCCEEDED else "was sent (its outcome unsettled)"
    said = money_text_of(entry)
    out = (
        f"This adjustment {moved} as {said} to {entry.account} in job {entry.job} on "
        f"{entry.run_date}; the ledger row has been edited since."
    )
    if row_message and row_message not in out:
        out += f" {row_message}"
    return out + " Restore the row, or give a new adjustment its own id."


def money_text_of(entry: Entry) -> str:
    from ledgerrun.vocab import money_text

    return f"a {entry.direction} of {money_text(entry.amount_minor, entry.currency)}"


# --- the run date's view -------------------------------------------------------------------------


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


def date_view(store: Journal, job: Job, run_date: str) -> pa.Table:
    """The results of ``job`` for ``run_date`` as the store knows them (module docstring)."""
    run = base_run(store, job.name, run_date)
    table = own(store, run.run_id) if run is not None else None
    if table is None:
        table = empty()
    table = overlay(table, store, job.id_prefix)
    present = set(keys_of(table, job.id_prefix))
    others = sorted(
        (e for e in store.iter_entries(job.name, run_date) if e.key not in present),
        key=lambda e: (e.attempted_at, e.key),
    )
    if not others:
        return table
    extra = overlay(rows_of(others, table.schema), store, job.id_prefix)
    return pa.concat_tables([table, extra.cast(table.schema)])


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
            "amount": _major(e.amount_minor, e.currency),
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


def _set(table: pa.Table, name: str, column: pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, column)


def _major(minor: int, currency: str) -> str:
    try:
        exp = money.exponent(currency)
    except KeyError:
        return ""
    return money.format_major(int(minor), exp, grouping=False)


def removed_from_ledger(store: Journal, job: Job, run_date: str) -> set[str]:
    """The adjustments of the job and date that moved money (or may have) from a batch (a web
    upload, a ledger path) whose latest run no longer holds them: taken out of that ledger.
    Another batch's adjustments of the same date are never among them."""
    latest: dict[str, Run] = {}
    for run in store.runs(job.name):  # oldest first: each batch's last run stays
        kept = ROWS in store.run_file_names(run.run_id)
        if kept and run.run_date == run_date and run.kind == "run" and run.exit_code != REFUSED:
            latest[run.batch] = run
    held: dict[str, set[str]] = {}
    out = set()
    for entry in store.iter_entries(job.name, run_date):
        last = latest.get(entry.batch)
        if last is None or entry.state == FAILED:
            continue
        if last.run_id not in held:
            table = own(store, last.run_id)
            held[last.run_id] = set(keys_of(table, job.id_prefix)) if table is not None else set()
        if entry.key not in held[last.run_id]:
            out.add(entry.key)
    return out


# --- the run date's summary -----------------------------------------------------------------------


def date_summary(store: Journal, job: Job, run_date: str, view: pa.Table) -> dict[str, Any]:
    """The summary of the date's view: its rows, counts and money (reversals included), the
    date's runs one by one, and the rest as the latest run that made the view recorded it."""
    from ledgerrun.summary import count, totals

    runs = [r for r in store.runs(job.name) if r.run_date == run_date and r.kind == "run"]
    base = base_run(store, job.name, run_date)
    summary = dict((own_summary(store, base.run_id) if base else None) or {})
    statuses = view.column("status").to_pylist()
    currencies = view.column("currency").to_pylist()
    directions = view.column("direction").to_pylist()
    amounts = view.column("amount_minor").to_pylist()
    summary["rows"] = view.num_rows
    summary["counts"] = count(statuses)
    summary["totals"] = totals(zip(currencies, directions, amounts, statuses, strict=True))
    summary["reversed"] = _reversed_totals(view)
    summary["not_in_ledger"] = sum(
        1 for c in view.column("error_code").to_pylist() if c == NOT_IN_LEDGER
    )
    summary["runs"] = [_run_line(store, r) for r in runs]
    summary["view"] = f"the results of job {job.name} for {run_date}, from its journal"
    return summary


def _reversed_totals(view: pa.Table) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    rows = zip(
        view.column("currency").to_pylist(),
        view.column("direction").to_pylist(),
        view.column("amount_reversed").to_pylist(),
        strict=True,
    )
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
