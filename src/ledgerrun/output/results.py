"""The results file and its summary: what finance staff reconcile a run against.

Each ledger row gets one results row, in ledger order, whatever became of it: the normalised values
ledgerrun acted on, the outcome and its Stripe ids, then the other input columns as they were read.
``row``, ``amount_minor`` and ``attempts`` are int64 (``amount_minor`` null where the amount was
unreadable); every other column is text, never null (empty where there is nothing to say), and
``completed_at`` is UTC to the second. A naive datetime is taken to be UTC already.

In a CSV, every text cell (headers too) starting with ``= + - @``, a tab or a carriage return gets
a leading ``'`` so a spreadsheet shows it as text instead of running it. Cells starting with ``'``
get one as well, so ``read_results`` can take exactly one off every escaped cell and give the
values back unchanged. Parquet stores the values as they are. Both files, and the summary, are
written to a hidden temporary file in the target folder, synced, then renamed over the final name.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import secrets
from collections.abc import Callable, Sequence
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc

import ledgerrun
from ledgerrun.ingest.read import Ledger
from ledgerrun.ingest.validate import Validation
from ledgerrun.job import RESULTS_SUFFIXES, Job
from ledgerrun.outcome import INVALID, STATUSES, RowOutcome

RESULT_COLUMNS: tuple[str, ...] = (
    *("row", "adjustment_id", "account", "currency", "amount_minor", "method", "status"),
    *("transfer_id", "payment_id", "idempotency_key", "stripe_request_id", "error_code"),
    *("error_message", "attempts", "completed_at"),
)
INTEGER_COLUMNS = ("row", "amount_minor", "attempts")
COLLISION_PREFIX = "input_"
SUMMARY_SUFFIX = ".summary.json"
# Ledger columns already shown, normalised, among the fixed columns.
_REPRESENTED = frozenset({"adjustment_id", "account", "currency", "method", "amount_minor"})
# First characters a spreadsheet may take for a formula, and the escape character itself.
_RISKY = ("=", "+", "-", "@", "\t", "\r", "'")
_ESCAPED = tuple("'" + c for c in _RISKY)
_UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TOTALS = ("requested", "succeeded", "failed", "unknown", "skipped")
_TEXT_FIELDS = RESULT_COLUMNS[7:13]  # RowOutcome's field of the same name, but request_id


def results_table(validation: Validation, outcomes: Sequence[RowOutcome]) -> pa.Table:
    """One row per ledger row, in ledger order: the fixed columns, then the carried ones."""
    ledger = validation.ledger
    status = _statuses(outcomes, ledger.num_rows)
    text = {
        name: _field(outcomes, name.removeprefix("stripe_"), pa.string()).fill_null("")
        for name in _TEXT_FIELDS
    }
    completed = _field(outcomes, "completed_at", pa.timestamp("us", tz="UTC"))
    columns: dict[str, Any] = {
        "row": ledger.rows.cast(pa.int64()),
        "adjustment_id": _text(validation.adjustment_id),
        "account": _text(validation.account),
        "currency": _text(validation.currency),
        "amount_minor": validation.amount_minor.cast(pa.int64()),
        "method": _text(validation.method),
        "status": status,
        **text,
        "attempts": _field(outcomes, "attempts", pa.int64()),
        "completed_at": _utc_text(completed),
    }
    names = list(RESULT_COLUMNS)
    arrays = [columns[name] for name in names]
    taken = {name.lower() for name in names}
    for header, column in _carried(ledger):
        while header.lower() in taken:
            header = COLLISION_PREFIX + header
        taken.add(header.lower())
        names.append(header)
        arrays.append(_text(column))
    return pa.Table.from_arrays(arrays, names=names)


def _field(outcomes: Sequence[RowOutcome], name: str, kind: pa.DataType) -> pa.Array:
    return pa.array(map(attrgetter(name), outcomes), kind, size=len(outcomes))


def _statuses(outcomes: Sequence[RowOutcome], rows: int) -> pa.Array:
    if len(outcomes) != rows:
        raise ValueError(f"{len(outcomes)} outcomes for a ledger of {rows} rows")
    status = _field(outcomes, "status", pa.string())
    unknown = pc.invert(pc.is_in(status, value_set=pa.array(STATUSES)))
    if pc.any(unknown).as_py():
        bad = pc.filter(status, unknown)[0].as_py()
        raise ValueError(f"unknown status {bad!r}; expected one of {', '.join(STATUSES)}")
    return status


def _text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if column.type != pa.string():
        column = column.cast(pa.string())
    return column.fill_null("") if column.null_count else column


def _utc_text(times: pa.Array) -> pa.Array:
    """``2026-11-26T02:14:07Z``; casting is many times faster than ``strftime``."""
    seconds = times.cast(pa.timestamp("s"), safe=False)  # UTC wall time, fraction dropped
    text = pc.utf8_replace_slice(seconds.cast(pa.string()), start=10, stop=11, replacement="T")
    return pc.binary_join_element_wise(text, "Z", "").fill_null("")


def _carried(ledger: Ledger) -> list[tuple[str, pa.ChunkedArray]]:
    """The input columns not represented above, as (header as written, column), in file order."""
    carried = []
    for where, name in ledger.order:
        if where == "table":
            if name not in _REPRESENTED:
                carried.append((ledger.headers.get(name, name), ledger.table.column(name)))
        else:
            carried.append((name, ledger.extras.column(name)))
    return carried


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        head = fh.read(1 << 20)  # enough for any header; an unclosed quote stops here
    return next(csv.reader(io.StringIO(head, newline="")), [])


# --- writing and reading -----------------------------------------------------------------------


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in RESULTS_SUFFIXES:
        raise ValueError(
            f"{path.name}: a results file must end in .csv or .parquet, "
            f"not '{suffix or 'no extension'}'"
        )
    return suffix


def write_results(table: pa.Table, path: Path) -> None:
    """Write ``table`` as CSV or Parquet, by the extension of ``path``, replacing it atomically."""
    if _format(path) == ".csv":
        import pyarrow.csv as pcsv

        safe = _escape(table)
        atomic_write(path, lambda fh: pcsv.write_csv(safe, fh))
    else:
        import pyarrow.parquet as pq

        atomic_write(path, lambda fh: pq.write_table(table, fh))


def _escape(table: pa.Table) -> pa.Table:
    names = [_escape_name(name) for name in table.column_names]
    return pa.Table.from_arrays([_escape_column(col) for col in table.columns], names=names)


def _escape_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pa.types.is_string(column.type):
        return column
    risky = pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=pa.array(_RISKY))
    if not pc.any(risky).as_py():
        return column
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def _unescape_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pa.types.is_string(column.type):
        return column
    escaped = pc.is_in(pc.utf8_slice_codeunits(column, 0, 2), value_set=pa.array(_ESCAPED))
    if not pc.any(escaped).as_py():
        return column
    return pc.if_else(escaped, pc.utf8_slice_codeunits(column, 1), column)


def _escape_name(name: str) -> str:
    return "'" + name if name[:1] in _RISKY else name


def _unescape_name(name: str) -> str:
    return name[1:] if name[:2] in _ESCAPED else name


def read_results(path: Path) -> pa.Table:
    """Read a results file back: text columns as text, the integer columns as int64, and the
    formula escape of a CSV undone."""
    if _format(path) == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import pyarrow.csv as pcsv

    header = _csv_header(path)
    types = {name: pa.string() for name in header}
    types.update(dict.fromkeys(INTEGER_COLUMNS, pa.int64()))
    table = pcsv.read_csv(
        path,
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )
    arrays = [_unescape_column(col) for col in table.columns]
    return pa.Table.from_arrays(arrays, names=[_unescape_name(n) for n in table.column_names])


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write through ``write`` to a temporary file beside ``path``, sync it, rename it over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # 0o666 less the umask, as for any new file (mkstemp's 0o600 would survive the rename).
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename durable, where a folder can be synced
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


# --- summary -----------------------------------------------------------------------------------


def summary_path(results_path: Path) -> Path:
    """``out/x.results.csv`` -> ``out/x.results.csv.summary.json``."""
    return results_path.with_name(results_path.name + SUMMARY_SUFFIX)


def summarize(
    validation: Validation,
    outcomes: Sequence[RowOutcome],
    *,
    run_id: str,
    job: Job | str,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    dry_run: bool,
    exit_code: int,
    results_path: Path,
) -> dict[str, Any]:
    """The run in figures: rows by status, and integer minor-unit totals per currency."""
    status = _statuses(outcomes, validation.rows)
    counts = dict.fromkeys(STATUSES, 0)
    for item in pc.value_counts(status).to_pylist():
        counts[item["values"]] = item["counts"]
    try:
        sha256: str | None = validation.ledger.sha256
    except OSError:
        sha256 = None  # the ledger file could not be read at all
    return {
        "run_id": run_id,
        "job": job.name if isinstance(job, Job) else job,
        "version": ledgerrun.__version__,
        "dry_run": dry_run,
        "exit_code": exit_code,
        "started_at": _utc(started_at),
        "ended_at": _utc(ended_at),
        "ledger": str(validation.ledger.path),
        "ledger_sha256": sha256,
        "results": str(results_path),
        "rows": len(outcomes),
        "counts": counts,
        "totals": _totals(validation.currency, validation.amount_minor, status),
    }


def _totals(currency: pa.Array, minor: pa.Array, status: pa.Array) -> dict[str, dict[str, int]]:
    # Summed as decimals: a million amounts near the per-row maximum would overflow int64.
    table = pa.table(
        {"currency": currency, "status": status, "minor": minor.cast(pa.decimal128(38, 0))}
    ).filter(pc.not_equal(status, INVALID))
    totals: dict[str, dict[str, int]] = {}
    grouped = table.group_by(["currency", "status"]).aggregate([("minor", "sum")])
    for item in sorted(grouped.to_pylist(), key=lambda i: (i["currency"], i["status"])):
        amounts = totals.setdefault(item["currency"], dict.fromkeys(_TOTALS, 0))
        amount = int(item["minor_sum"] or 0)
        amounts[item["status"]] += amount
        amounts["requested"] += amount
    return totals


def _utc(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime(_UTC_FORMAT)


def write_summary(summary: dict[str, Any], results_path: Path) -> Path:
    """Write ``summary`` beside the results file, atomically; return where it went."""
    path = summary_path(results_path)
    data = (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))
    return path
