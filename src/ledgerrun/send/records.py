"""The records people act on, kept true: each run's own record, and the latest truth of a row.

* **A run's own record** (:func:`keep`, :func:`own`): the rows of the ledger it read, as it left
  them, and its own summary, kept in the store under the run's id. Nothing later changes them;
  ``ledgerrun results --run`` writes them again.
* **The latest truth of a row** (:func:`overlay`): where the store knows the row's adjustment,
  its state and Stripe ids are the store's; and every row shows what was reversed of it
  (``amount_reversed``, ``reversal_ids``, ``reversal_status``: none, partial or full), its
  ``status`` staying ``succeeded``. A row whose adjustment already moved money and whose ledger
  row was edited since stays ``succeeded`` with its ids, and carries ``adjustment_conflict``.

The run date's results, built from these, are :mod:`ledgerrun.send.dateview`'s.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO, NamedTuple

import pyarrow as pa

from ledgerrun import money
from ledgerrun.clock import iso
from ledgerrun.ingest.identity import canonical
from ledgerrun.ingest.read import give_back
from ledgerrun.store.model import FAILED, PENDING, SUCCEEDED, Entry, Journal, ReversalEntry
from ledgerrun.vocab import Status

ROWS = "rows.parquet"  # a run's own results table, as the run left it
SUMMARY = "summary.json"  # a run's own summary
CONFLICT = "adjustment_conflict"
NOT_IN_LEDGER = "not_in_ledger"
REFUSED = 2  # the exit code of a run that sent nothing (an invalid ledger, aborted)
CHUNK = 4096  # rows overlaid at once: the store's records of a chunk's rows are all it holds


class Reversed(NamedTuple):
    """What was reversed of one adjustment, by succeeded reversals."""

    amount: int  # minor units
    ids: tuple[str, ...]  # Stripe's ids of the reversals (trr_, re_)

    def status(self, moved: int) -> str:
        if self.amount <= 0:
            return "none"
        return "full" if self.amount >= moved else "partial"


# --- a run's own record --------------------------------------------------------------------------


def keep(store: Journal, run_id: str, table: pa.Table, summary: dict[str, Any]) -> None:
    """Keep a run's own rows and summary in the store, under its id.

    The rows as a Parquet file, in a temporary file (gone once closed) that the store reads a
    piece at a time: at 200,000 rows the file is 12 MB, and made in memory it and its copies
    added to the run's peak (docs/benchmarks.md, "Memory"). In memory only where no temporary
    file can be written."""
    try:
        with tempfile.TemporaryFile(prefix="ledgerrun-") as file:
            _write_parquet(table, file)
            store.save_run_file(run_id, ROWS, file)
    except OSError:  # no room for a temporary file
        in_memory = io.BytesIO()
        _write_parquet(table, in_memory)
        store.save_run_file(run_id, ROWS, in_memory)
    give_back()  # what writing freed
    text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
    store.save_run_file(run_id, SUMMARY, text.encode("utf-8"))


def _write_parquet(table: pa.Table, file: BinaryIO) -> None:
    """``table`` into ``file`` as Parquet, left open at its start: in row groups of a chunk
    (the writer holds one group's pages at a time), compressed with zstd (any Parquet reader
    reads it, and snappy, which earlier versions kept), without dictionary pages. A dictionary
    pays only for columns of few values, which zstd shrinks as well without one; for the
    others the writer grew a table of values per column before giving up on it: 10 MB more at
    the run's peak, and a file a third larger (10.4 MB against 7.7 at 200,000 rows)."""
    import pyarrow.parquet as pq

    pq.write_table(table, file, row_group_size=CHUNK, compression="zstd", use_dictionary=False)
    file.seek(0)


def own(store: Journal, run_id: str, columns: Sequence[str] | None = None) -> pa.Table | None:
    """A run's own rows, as it left them (only ``columns``, when given); None for a run that
    kept none."""
    import pyarrow.parquet as pq

    data = store.run_file(run_id, ROWS)
    if data is None:
        return None
    if columns is not None:
        held = set(pq.read_schema(io.BytesIO(data)).names)
        columns = [c for c in columns if c in held]
    return pq.ParquetFile(io.BytesIO(data)).read(columns=columns)


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
    """Stripe's id of each: a refund's ``re_`` (what finance sees in the dashboard), else the
    transfer reversal's ``trr_``."""
    return [i for r in reversals if (i := r.refund_id or r.reversal_object_id)]


def overlay(table: pa.Table, store: Journal, prefix: str) -> pa.Table:
    """``table`` (results rows) with each known adjustment's latest truth from the store, and
    the reversal columns filled in; a chunk of rows at a time, so that what is held in Python
    is a chunk's, never the whole table's."""
    if table.num_rows <= CHUNK:
        return _overlay(table, store, prefix)
    chunks = range(0, table.num_rows, CHUNK)
    return pa.concat_tables([_overlay(table.slice(at, CHUNK), store, prefix) for at in chunks])


def _overlay(table: pa.Table, store: Journal, prefix: str) -> pa.Table:
    keys = keys_of(table, prefix)
    entries = store.entry_facts(k for k in set(keys) if k)
    reversals = reversed_of(store, entries)
    columns = {name: table.column(name).to_pylist() for name in _TRUTH}
    given = {name: values.copy() for name, values in columns.items()}
    amounts = table.column("amount_minor").to_pylist()
    currencies = table.column("currency").to_pylist()
    reversed_text, reversal_ids, reversal_status = [], [], []
    for i, key in enumerate(keys):
        entry = entries.get(key)
        if entry is not None:
            _truth(columns, i, entry)
        back = reversals.get(key) if entry is not None and entry.state == SUCCEEDED else None
        moved = entry.amount_minor if entry is not None else int(amounts[i] or 0)
        reversed_text.append(major(back.amount, str(currencies[i] or "")) if back else "")
        reversal_ids.append(" ".join(back.ids) if back else "")
        reversal_status.append(back.status(moved) if back else "none")
    given |= {name: table.column(name).to_pylist() for name in _REVERSAL}
    columns |= dict(zip(_REVERSAL, (reversed_text, reversal_ids, reversal_status), strict=True))
    for name, values in columns.items():
        # A column the store left as it was stays the table's own: a new copy of it would be
        # held beside the old until the whole table is overlaid (tens of MB at a large night).
        if values != given[name]:
            table = _set(table, name, pa.array(values, table.schema.field(name).type))
    return table


_TRUTH = (
    *("status", "transfer_id", "payment_id", "idempotency_key", "stripe_request_id"),
    *("error_code", "error_message", "attempts", "completed_at"),
)
_REVERSAL = ("amount_reversed", "reversal_ids", "reversal_status")


def _truth(columns: dict[str, list[Any]], i: int, entry: Entry) -> None:
    """Row ``i`` as the store knows its adjustment (see the module docstring). The row's own
    words stay where they still hold: a row not in the ledger says so, and a failure this row
    saw keeps its advice."""
    status = columns["status"][i]
    code, message = columns["error_code"][i], columns["error_message"][i]
    if entry.state == FAILED and status in (Status.INVALID, Status.SKIPPED):
        return  # refused earlier, and this row (corrected or not) was not sent: as it stands
    if entry.state == PENDING and status == Status.SKIPPED:
        return  # its intent is kept, but the run knows its request never left: not sent
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
    """What an edited row that already moved money says. The same again for a row that says it
    already (an overlay of rows an overlay made: a run's own rows as kept), never said twice."""
    moved = "moved" if entry.state == SUCCEEDED else "was sent (its outcome unsettled)"
    said = money_text_of(entry)
    out = (
        f"This adjustment {moved} as {said} to {entry.account} in job {entry.job} on "
        f"{entry.run_date}{_EDITED}"
    )
    row_message = _row_words(row_message or "")
    if row_message and row_message not in out:
        out += f" {row_message}"
    return out + _RESTORE


_EDITED = "; the ledger row has been edited since."
_RESTORE = " Restore the row, or give a new adjustment its own id."


def _row_words(message: str) -> str:
    """The row's own words inside a conflict message (journals kept before 3.0.0 hold rows
    whose message was wrapped more than once)."""
    while message.startswith("This adjustment ") and message.endswith(_RESTORE):
        _, edited, rest = message.partition(_EDITED)
        if not edited:
            break
        message = rest.removesuffix(_RESTORE).strip()
    return message


def money_text_of(entry: Entry) -> str:
    from ledgerrun.vocab import money_text

    return f"a {entry.direction} of {money_text(entry.amount_minor, entry.currency)}"


def _set(table: pa.Table, name: str, column: pa.Array) -> pa.Table:
    """``table`` with ``column`` for ``name``, its field as it was (every chunk of an overlay,
    rewritten or not, keeps one schema)."""
    at = table.column_names.index(name)
    return table.set_column(at, table.schema.field(at), column)


def major(minor: int, currency: str) -> str:
    try:
        exp = money.exponent(currency)
    except KeyError:
        return ""
    return money.format_major(int(minor), exp, grouping=False)
