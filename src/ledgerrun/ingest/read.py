"""Read a ledger file into a table of text, exactly as a spreadsheet would show it.

Every value is read as text: an amount never passes through a float. CSV is read by pyarrow
(:mod:`~ledgerrun.ingest.csvfile`), xlsx by a streaming reader of its own that applies number
formats the way Excel displays them (:mod:`~ledgerrun.ingest.xlsx`), Parquet by pyarrow with
decimals kept exact (:mod:`~ledgerrun.ingest.parquetfile`).

The header is the first row among the first :data:`HEADER_SCAN_ROWS` that holds every required
column (after the job's ``[columns]`` mapping); title and blank rows above it are ignored. Canonical
columns are matched by name (case-insensitively) or through the mapping and stripped of surrounding
whitespace; every other column is kept verbatim for the results file. Blank rows are dropped.
A last row with no adjustment id and no account but an amount is the ledger's totals line: it is
set aside (:class:`TotalsLine`) for the control-total check and is not a row of the ledger.

Row numbers follow the spreadsheet: the header's own number, data rows below it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun.errors import LedgerFileError
from ledgerrun.job import CANONICAL_COLUMNS, LEDGER_SUFFIXES
from ledgerrun.vocab import Problem

if TYPE_CHECKING:
    from ledgerrun.ingest.cellview import Typed

METADATA_PREFIX = "metadata."
HEADER_SCAN_ROWS = 20
REQUIRED = ("adjustment_id", "account", "currency")
AMOUNTS = ("amount", "amount_minor")
CELL_CODES = ("bad_value", "formula_not_calculated")  # problems the reader finds in one cell


class LedgerPathError(LedgerFileError):
    """The ledger path names nothing, or a folder: the advice is to check the path."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class TotalsLine:
    """The ledger's totals line: its row and its cells (canonical name -> text)."""

    row: int
    cells: Mapping[str, str]


@dataclass
class Grid:
    """A file's header and the text of its data rows, before columns are matched to names.

    ``table`` has one string column per header cell, in order; ``rows`` numbers its rows (None:
    consecutive from the row below the header)."""

    header: list[str]
    header_row: int
    table: pa.Table
    rows: pa.Array | None = None
    problems: list[Problem] = field(default_factory=list)
    typed: dict[tuple[int, int], Typed] = field(default_factory=dict)  # (row, column index)


@dataclass
class Ledger:
    """A ledger read into memory.

    ``table`` holds the canonical columns that were found (and ``metadata.KEY`` columns) as
    non-null, whitespace-stripped strings; ``extras`` holds every other column verbatim.
    ``rows`` gives the spreadsheet row number of each table row; ``header_row`` that of the header.
    ``headers`` maps each column of ``table`` to the header as written in the file, for messages.
    ``unmapped`` lists the ``[columns]`` mappings whose header the file does not have. ``order``
    lists every file column, left to right, as ``("table", name)`` or ``("extras", name)``.
    ``read_problems`` are what the reader found (rows it could not read, cells holding a
    spreadsheet error); ``totals`` is the totals line, when the ledger ends with one. ``typed``
    holds the xlsx cells validation must judge by their type and format, by (row number, file
    column index as in ``order``).
    """

    path: Path
    table: pa.Table
    extras: pa.Table
    rows: pa.Array
    headers: dict[str, str]
    unmapped: dict[str, str] = field(default_factory=dict)
    read_problems: list[Problem] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list)
    header_row: int = 1
    totals: TotalsLine | None = None
    typed: dict[tuple[int, int], Typed] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return len(self.rows)

    @cached_property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def column(self, name: str) -> pa.ChunkedArray:
        return self.table.column(name)

    @classmethod
    def empty(cls, path: Path) -> Ledger:
        """A ledger with no rows and no columns (for a file that could not be read)."""
        none = pa.table({})
        return cls(path, none, none, pa.array([], pa.int64()), {})


def read_ledger(
    path: Path, columns: Mapping[str, str] | None = None, sheet: str | None = None
) -> Ledger:
    """Read ``path`` by its extension; LedgerFileError when the file as a whole is unusable."""
    suffix = path.suffix.lower()
    if suffix not in LEDGER_SUFFIXES:
        raise LedgerFileError(
            f"{path.name}: ledgers must be .csv, .parquet or .xlsx, "
            f"not '{suffix or 'no extension'}'",
            code="unsupported_format",
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise LedgerPathError(
            f"ledger file not found: {path}",
            "Check the ledger's path (the job's 'ledger' setting or --ledger): no file is there.",
        ) from None
    except OSError as exc:
        raise LedgerFileError(f"cannot read {path}: {exc.strerror}") from None
    if path.is_dir():
        raise LedgerPathError(
            f"{path} is a folder, not a ledger file",
            "Give the path of the ledger file itself, not of the folder that holds it.",
        )
    if size == 0:
        raise LedgerFileError(f"{path.name} is empty (0 bytes): it has no header row")
    mapping = columns or {}
    if suffix == ".csv":
        from ledgerrun.ingest.csvfile import read_csv

        grid = read_csv(path, size, mapping)
    elif suffix == ".parquet":
        from ledgerrun.ingest.parquetfile import read_parquet

        grid = read_parquet(path)
    else:
        from ledgerrun.ingest.xlsx import read_xlsx

        grid = read_xlsx(path, sheet, mapping)
    return _arrange(path, grid, mapping)


# --- the header --------------------------------------------------------------------------------


def assign(headers: Sequence[str], mapping: Mapping[str, str]) -> dict[int, str]:
    """Which file column becomes which canonical column: the job's mapping first, then names.

    ``headers`` are stripped of surrounding whitespace."""
    lowered = [h.lower() for h in headers]
    taken: dict[int, str] = {}
    for canonical, header in mapping.items():
        if header in headers:
            taken[list(headers).index(header)] = canonical
        elif header.lower() in lowered:
            taken[lowered.index(header.lower())] = canonical
    mapped = set(taken.values())
    for index, header in enumerate(headers):
        if index in taken:
            continue
        low = header.lower()
        if low in CANONICAL_COLUMNS and low not in mapped and low not in mapping:
            taken[index] = low
        elif low.startswith(METADATA_PREFIX) and header not in mapped:
            name = METADATA_PREFIX + header[len(METADATA_PREFIX) :]
            if name not in mapped:
                taken[index] = name
    return taken


def is_header(cells: Sequence[str], mapping: Mapping[str, str]) -> bool:
    """True when ``cells`` hold every required column, under ``mapping``."""
    found = set(assign([c.strip() for c in cells], mapping).values())
    return all(name in found for name in REQUIRED) and any(name in found for name in AMOUNTS)


def find_header(
    candidates: Sequence[tuple[int, Sequence[str]]], mapping: Mapping[str, str]
) -> tuple[int, list[str]] | None:
    """The header among the first rows (``(row number, cells)``): the first that holds every
    required column; failing that the first non-blank row (judged later: missing columns); None
    when every candidate is blank."""
    first: tuple[int, list[str]] | None = None
    for number, cells in candidates[:HEADER_SCAN_ROWS]:
        if not any(c.strip() for c in cells):
            continue
        if is_header(cells, mapping):
            return number, list(cells)
        if first is None:
            first = (number, list(cells))
    return first


def amount_columns(header: Sequence[str], mapping: Mapping[str, str]) -> set[int]:
    """Positions of the header's amount and amount_minor columns."""
    taken = assign([h.strip() for h in header], mapping)
    return {index for index, name in taken.items() if name in AMOUNTS}


def reject_duplicate_headers(path: Path, headers: Sequence[str], row: int = 1) -> None:
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        key = header.lower()
        if key in seen and header:
            raise LedgerFileError(
                f"{path.name}: the header '{header}' appears twice in row {row} (columns "
                f"{seen[key] + 1} and {index + 1}); every column needs its own name",
                row=row,
                column=header,
            )
        seen[key] = index


# --- from a grid to a ledger -------------------------------------------------------------------


def _arrange(path: Path, grid: Grid, mapping: Mapping[str, str]) -> Ledger:
    stripped = [h.strip() for h in grid.header]
    reject_duplicate_headers(path, stripped, grid.header_row)
    wanted = assign(stripped, mapping)
    unmapped = {c: h for c, h in mapping.items() if c not in wanted.values()}
    raw = grid.table
    rows = grid.rows
    if rows is None:
        start = grid.header_row + 1
        rows = pa.array(np.arange(start, start + raw.num_rows, dtype=np.int64))
    canon_cols: dict[str, pa.ChunkedArray] = {}
    extra_cols: dict[str, pa.ChunkedArray] = {}
    shown: dict[str, str] = {}
    order: list[tuple[str, str]] = []
    for index, header in enumerate(stripped):
        column = raw.column(index)
        name = wanted.get(index)
        if name is None:
            extra = header or f"column {index + 1}"
            extra_cols[extra] = column
            order.append(("extras", extra))
        else:
            canon_cols[name] = column
            shown[name] = header
            order.append(("table", name))
    with ThreadPoolExecutor(max_workers=2) as pool:  # pyarrow kernels release the GIL
        canon_cols = dict(zip(canon_cols, pool.map(strip, canon_cols.values()), strict=True))
    table, extras = pa.table(canon_cols), pa.table(extra_cols)
    keep = _not_blank(table, extras, len(rows))
    if keep is not None:
        table, extras, rows = _filter(table, keep), _filter(extras, keep), rows.filter(keep)
    ledger = Ledger(
        path=path,
        table=table,
        extras=extras,
        rows=rows,
        headers=shown,
        unmapped=unmapped,
        read_problems=grid.problems,
        order=order,
        header_row=grid.header_row,
        typed=grid.typed,
    )
    return _set_totals_aside(ledger)


def _filter(table: pa.Table, keep: pa.Array) -> pa.Table:
    return table.filter(keep) if table.num_columns else table


def strip(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Remove surrounding whitespace (Unicode whitespace too, such as no-break spaces)."""
    if pc.all(pc.string_is_ascii(column)).as_py() is not False:
        return pc.ascii_trim_whitespace(column)  # ten times faster, same result on ASCII
    return pc.utf8_trim_whitespace(column)


def _not_blank(table: pa.Table, extras: pa.Table, count: int) -> pa.Array | None:
    """Rows with at least one non-blank cell, or None when no row is blank (the usual case).

    Spreadsheets export trailing rows of empty cells (",,,,"); they hold no adjustment.
    """
    columns = [*table.columns, *(strip(c) for c in extras.columns)]
    if not columns or count == 0:
        return None
    blank = pc.equal(columns[0], "")
    for index, column in enumerate(columns[1:], start=1):
        if index == table.num_columns and not pc.any(blank).as_py():
            return None  # checked every canonical column: no blank row, extras need no look
        blank = pc.and_(blank, pc.equal(column, ""))
    return None if not pc.any(blank).as_py() else pc.invert(blank)


def _set_totals_aside(ledger: Ledger) -> Ledger:
    """Take the totals line off the end of the ledger, when it has one: the last row, with no
    adjustment id and no account, but an amount."""
    table, n = ledger.table, ledger.num_rows
    if n == 0 or "adjustment_id" not in table.column_names or "account" not in table.column_names:
        return ledger
    cells = {name: table.column(name)[n - 1].as_py() for name in table.column_names}
    if cells["adjustment_id"] or cells["account"]:
        return ledger
    if not any(cells.get(name) for name in AMOUNTS):
        return ledger
    row = ledger.rows[n - 1].as_py()
    if any(p.row > row for p in ledger.read_problems):
        return ledger  # a row the reader set aside comes after it: it is not the last row
    ledger.totals = TotalsLine(row, cells)
    ledger.table = table.slice(0, n - 1)
    ledger.extras = ledger.extras.slice(0, n - 1) if ledger.extras.num_columns else ledger.extras
    ledger.rows = ledger.rows.slice(0, n - 1)
    return ledger
