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
import io
import json
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.job import RESULTS_SUFFIXES

RESULT_COLUMNS: tuple[str, ...] = (
    *("row", "adjustment_id", "account", "currency", "amount", "amount_minor", "direction"),
    *("method", "status", "transfer_id", "payment_id", "idempotency_key", "stripe_request_id"),
    *("error_code", "error_message", "attempts", "completed_at"),
    *("amount_reversed", "reversal_ids", "reversal_status"),
)
"""The results file's own columns, in order; the ledger's other columns follow. What was
reversed of a row (``amount_reversed`` in major units, ``reversal_ids``, ``reversal_status``:
``none``, ``partial`` or ``full``) is shown beside it: its ``status`` stays ``succeeded``."""
INTEGER_COLUMNS = ("row", "amount_minor", "attempts")
COLLISION_PREFIX = "input_"
SUMMARY_SUFFIX = ".summary.json"
# A cell a spreadsheet may take for a formula: one starting (after any spaces) with = + - @, a
# tab or a carriage return, or their full-width forms. It is written with a leading ' (the
# escape), and so is a cell that would otherwise read back as escaped (a ' then a formula start
# or another '), so that reading undoes exactly the escapes. Any other leading ' (a message
# quoting a value: "'12.345' has ...") is written as it is, never doubled.
_RISKY = r"^'?(?:[ ]*[=+\-@\t\r\x{FF1D}\x{FF0B}\x{FF0D}\x{FF20}])|^''"
_ESCAPED = r"^'(?:[ ]*[=+\-@\t\r\x{FF1D}\x{FF0B}\x{FF0D}\x{FF20}]|')"
_RISKY_RE = re.compile(r"^'?(?:[ ]*[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20])|^''")


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        head = fh.read(1 << 20)  # enough for any header; an unclosed quote stops here
    return next(csv.reader(io.StringIO(head, newline="")), [])


# --- writing and reading -----------------------------------------------------------------------


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in RESULTS_SUFFIXES:
        raise ValueError(
            f"{path.name}: a results file must end in .csv, .xlsx or .parquet, "
            f"not '{suffix or 'no extension'}'"
        )
    return suffix


def write_results(table: pa.Table, path: Path) -> None:
    """Write ``table`` as CSV, XLSX or Parquet, by the extension of ``path``, replacing it
    atomically."""
    suffix = _format(path)
    if suffix == ".xlsx":
        from ledgerrun.output.xlsx import write_xlsx

        write_xlsx(table, path, atomic_write)
    elif suffix == ".csv":
        import pyarrow.csv as pcsv

        safe = _escape(table)
        atomic_write(path, lambda fh: pcsv.write_csv(safe, fh))
    else:
        import pyarrow.parquet as pq

        atomic_write(path, lambda fh: pq.write_table(table, fh))


def csv_bytes(table: pa.Table) -> bytes:
    """``table`` as :func:`write_results` writes a CSV file, in memory."""
    import io

    import pyarrow.csv as pcsv

    buffer = io.BytesIO()
    pcsv.write_csv(_escape(table), buffer)
    return buffer.getvalue()


def _escape(table: pa.Table) -> pa.Table:
    names = [_escape_name(name) for name in table.column_names]
    return pa.Table.from_arrays([_escape_column(col) for col in table.columns], names=names)


def safe_cell(text: str) -> str:
    """One text cell as a CSV ledgerrun writes it: formula-like text gets a leading ``'``."""
    return "'" + text if _RISKY_RE.match(text) else text


def _escape_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pa.types.is_string(column.type):
        return column
    risky = pc.match_substring_regex(column, _RISKY)
    if not pc.any(risky).as_py():
        return column
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def _unescape_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pa.types.is_string(column.type):
        return column
    escaped = pc.match_substring_regex(column, _ESCAPED)
    if not pc.any(escaped).as_py():
        return column
    return pc.if_else(escaped, pc.utf8_slice_codeunits(column, 1), column)


def _escape_name(name: str) -> str:
    return safe_cell(name)


def _unescape_name(name: str) -> str:
    return name[1:] if name.startswith("'") and _RISKY_RE.match(name[1:]) else name


def read_results(path: Path) -> pa.Table:
    """Read a results file back: text columns as text, the integer columns as int64, and the
    formula escape of a CSV undone."""
    if _format(path) == ".xlsx":
        from ledgerrun.output.xlsx import read_xlsx

        return read_xlsx(path)
    if _format(path) == ".parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as parquet:  # not read_table: no dataset layer to import
            return parquet.read()
    import pyarrow.csv as pcsv

    header = _csv_header(path)
    types = {name: pa.string() for name in header}
    types.update(dict.fromkeys(INTEGER_COLUMNS, pa.int64()))
    table = pcsv.read_csv(
        path,
        # One thread: each parsing thread's blocks took 17 MB more for 120,000 rows.
        read_options=pcsv.ReadOptions(use_threads=False),
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


def write_summary(summary: dict[str, Any], results_path: Path) -> Path:
    """Write ``summary`` beside the results file, atomically; return where it went."""
    path = summary_path(results_path)
    data = (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))
    return path
