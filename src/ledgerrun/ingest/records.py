"""Small side files read as text, exactly as a spreadsheet shows them: a reversal request, a
consent registry. CSV, XLSX (the active sheet, hidden sheets never) or Parquet, with the same
rules as ledgers where they apply: values as text (amount columns at Excel's 15 significant
digits, never through a float, and refused when the cell shows something else; a date cell is
the date, or date and time, it shows, in ISO form), surrounding whitespace stripped, the header
the first row of the first 20 holding every required column, blank rows skipped, row numbers as
the spreadsheet shows them. Problems of the file as a whole raise
:class:`~ledgerrun.errors.LedgerFileError`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledgerrun.errors import LedgerFileError

if TYPE_CHECKING:
    from ledgerrun.ingest.workbook import Cell

MAX_BYTES = 64 << 20
SCAN = 20
SUFFIXES = (".csv", ".xlsx", ".parquet")


@dataclass(frozen=True)
class Records:
    path: Path
    header_row: int
    columns: list[str]  # lower-cased header names, as found
    rows: list[tuple[int, dict[str, str]]]  # (row number, column -> text)


def read_records(
    path: Path, required: Sequence[str], what: str, amounts: Iterable[str] = ("amount",)
) -> Records:
    """Read ``path``; ``required`` columns must be in the header (any letter case)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise LedgerFileError(
            f"{path.name}: a {what} must be .csv, .xlsx or .parquet", code="unsupported_format"
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise LedgerFileError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise LedgerFileError(f"cannot read the {what} {path}: {exc.strerror}") from None
    if path.is_dir():
        raise LedgerFileError(f"{path} is a folder, not a {what}")
    if size > MAX_BYTES:
        raise LedgerFileError(f"{path.name} is larger than {MAX_BYTES >> 20} MiB")
    wanted = {a.lower() for a in amounts}
    if suffix == ".csv":
        rows = _csv(path)
    elif suffix == ".xlsx":
        rows = _xlsx(path, wanted)
    else:
        rows = _parquet(path)
    return _arrange(path, rows, [r.lower() for r in required], what)


def _arrange(
    path: Path, rows: Iterator[tuple[int, list[str]]], required: list[str], what: str
) -> Records:
    header: list[str] | None = None
    header_row = 0
    scanned = 0
    out: list[tuple[int, dict[str, str]]] = []
    for number, raw in rows:
        cells = [c.strip() for c in raw]
        if header is None:
            scanned += 1
            names = [c.lower() for c in cells]
            if all(r in names for r in required):
                header, header_row = names, number
            elif scanned >= SCAN:
                break
            continue
        if not any(cells):
            continue
        values = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
        out.append((number, values))
    if header is None:
        shown = ", ".join(required)
        raise LedgerFileError(
            f"{path.name}: no header row with the columns {shown} in the first {SCAN} rows of "
            f"this {what}",
            code="missing_column",
        )
    return Records(path, header_row, [h for h in header if h], out)


def _csv(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LedgerFileError(f"{path.name} is not UTF-8 text; save it as 'CSV UTF-8'") from None
    try:
        yield from enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
    except csv.Error as exc:
        raise LedgerFileError(f"{path.name} cannot be read as CSV: {exc}") from None


def _xlsx(path: Path, amounts: set[str]) -> Iterator[tuple[int, list[str]]]:
    from ledgerrun.ingest.workbook import Refused, Workbook

    try:
        with zipfile.ZipFile(path) as book:
            workbook = Workbook(book)
            header: list[str] | None = None
            for number, cells in workbook.rows(workbook.choose(None)):
                names = [h.strip().lower() for h in header] if header else []
                texts = _xlsx_row(path, number, cells, names, amounts, workbook.date1904)
                if header is None and any(t.strip() for t in texts):
                    header = texts
                yield number, texts
    except Refused as exc:
        raise LedgerFileError(f"{path.name}: {exc}") from None
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LedgerFileError(f"{path.name} cannot be read as an .xlsx workbook: {exc}") from None


def _xlsx_row(
    path: Path,
    number: int,
    cells: dict[int, Cell],
    names: list[str],
    amounts: set[str],
    date1904: bool,
) -> list[str]:
    """One row's texts as the spreadsheet shows them: a date is the date (and time) it shows,
    an amount the number it holds, refused when it shows something else (a date, another
    currency, hidden decimals: :mod:`~ledgerrun.ingest.moneyfmt`)."""
    from ledgerrun import money
    from ledgerrun.ingest import moneyfmt, numfmt
    from ledgerrun.ingest.cellview import display

    texts = [""] * (max(cells) + 1 if cells else 0)
    currency_at = names.index("currency") if "currency" in names else None
    for index, cell in cells.items():
        name = names[index] if index < len(names) else ""
        if cell.kind in ("e", "f"):
            shown = cell.text or "a formula with no value: save it in Excel"
            raise LedgerFileError(
                f"{path.name}: row {number} holds a spreadsheet error ({shown})", row=number
            )
        if name not in amounts:
            texts[index] = display(cell, date1904)[0]
            continue
        code = cells[currency_at].text.strip().lower() if currency_at in cells else ""
        known = money.is_currency(code)
        why = moneyfmt.trouble(
            cell, date1904, code if known else None, money.exponent(code) if known else None
        )
        if why is not None:
            raise LedgerFileError(
                f"{path.name}, row {number}, column {name}: {why}", row=number, column=name
            )
        texts[index] = numfmt.exact(cell.text) if cell.kind == "n" else cell.text
    return texts


def _parquet(path: Path) -> Iterator[tuple[int, list[str]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ledgerrun import compute as pc

    try:
        with pq.ParquetFile(path) as parquet:  # not read_table: no dataset layer to import
            table = parquet.read()
    except (pa.ArrowException, OSError) as exc:
        raise LedgerFileError(f"{path.name} cannot be read as Parquet: {exc}") from None
    yield 1, list(table.column_names)
    columns = [pc.cast(table.column(i), pa.string()).to_pylist() for i in range(table.num_columns)]
    for index in range(table.num_rows):
        yield index + 2, ["" if c[index] is None else str(c[index]) for c in columns]
