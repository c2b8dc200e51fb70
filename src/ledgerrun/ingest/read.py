"""Read a ledger file into a table of text, exactly as a spreadsheet would show it.

Every value is read as text: an amount never passes through a float. Where the file itself stores a
number (an xlsx numeric cell, a Parquet numeric column) it becomes its shortest round-trip decimal
form, which is what a spreadsheet displays (``15.3``, ``1234.56``); Parquet decimals are exact as
stored. Canonical columns are matched by name (case-insensitively) or through the job's
``[columns]`` mapping and stripped of surrounding whitespace; every other column is kept verbatim
for the results file.

Row numbers follow the spreadsheet convention in every format: header row 1, first data row 2.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun.errors import LedgerFileError
from ledgerrun.job import CANONICAL_COLUMNS, LEDGER_SUFFIXES
from ledgerrun.vocab import Problem

METADATA_PREFIX = "metadata."


@dataclass
class Ledger:
    """A ledger read into memory.

    ``table`` holds the canonical columns that were found (and ``metadata.KEY`` columns) as
    non-null, whitespace-stripped strings; ``extras`` holds every other column verbatim.
    ``rows`` gives the spreadsheet row number of each table row. ``headers`` maps each column of
    ``table`` to the header as written in the file, for messages. ``unmapped`` lists the
    ``[columns]`` mappings whose header the file does not have. ``order`` lists every file
    column, left to right, as ``("table", name)`` or ``("extras", name)``.
    """

    path: Path
    table: pa.Table
    extras: pa.Table
    rows: pa.Array
    headers: dict[str, str]
    unmapped: dict[str, str] = field(default_factory=dict)
    read_problems: list[Problem] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list)

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
        raise LedgerFileError(f"ledger file not found: {path}") from None
    except OSError as exc:
        raise LedgerFileError(f"cannot read {path}: {exc.strerror}") from None
    if path.is_dir():
        raise LedgerFileError(f"{path} is a folder, not a ledger file")
    if size == 0:
        raise LedgerFileError(f"{path.name} is empty (0 bytes): it has no header row")
    if suffix == ".csv":
        raw, rows, problems = _read_csv(path)
    elif suffix == ".parquet":
        raw, rows, problems = _read_parquet(path), None, []
    else:
        raw, rows, problems = _read_xlsx(path, sheet)
    if rows is None:
        rows = pa.array(np.arange(2, raw.num_rows + 2, dtype=np.int64))
    return _arrange(path, raw, rows, columns or {}, problems)


# --- header mapping ----------------------------------------------------------------------------


def _arrange(
    path: Path,
    raw: pa.Table,
    rows: pa.Array,
    mapping: Mapping[str, str],
    problems: list[Problem],
) -> Ledger:
    headers = [str(h) for h in raw.column_names]
    stripped = [h.strip() for h in headers]
    _reject_duplicate_headers(path, stripped)
    wanted = _assign(stripped, mapping)
    unmapped = {c: h for c, h in mapping.items() if c not in wanted.values()}
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
        table, extras, rows = table.filter(keep), extras.filter(keep), rows.filter(keep)
    return Ledger(
        path=path,
        table=table,
        extras=extras,
        rows=rows,
        headers=shown,
        unmapped=unmapped,
        read_problems=problems,
        order=order,
    )


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


def _reject_duplicate_headers(path: Path, headers: list[str]) -> None:
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        key = header.lower()
        if key in seen and header:
            raise LedgerFileError(
                f"{path.name}: the header '{header}' appears twice (columns {seen[key] + 1} and "
                f"{index + 1}); every column needs its own name",
                column=header,
            )
        seen[key] = index


def _assign(headers: list[str], mapping: Mapping[str, str]) -> dict[int, str]:
    """Which file column becomes which canonical column: the job's mapping first, then names."""
    lowered = [h.lower() for h in headers]
    taken: dict[int, str] = {}
    for canonical, header in mapping.items():
        if header in headers:
            taken[headers.index(header)] = canonical
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


# --- CSV ---------------------------------------------------------------------------------------


def _csv_header(path: Path) -> list[str]:
    """The header row, parsed the way the CSV reader will parse it."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    # Undecodable bytes become surrogates, so a bad byte further down cannot fail row 1.
    text = head.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:
        raise LedgerFileError(f"{path.name}: row 1 cannot be read as CSV: {exc}") from None
    if any(ch >= "\udc80" and ch <= "\udcff" for h in header for ch in h):
        raise LedgerFileError(f"{path.name}: row 1 is not UTF-8 text; save the file as 'CSV UTF-8'")
    return header


def _read_csv(path: Path) -> tuple[pa.Table, pa.Array | None, list[Problem]]:
    import pyarrow.csv as pcsv

    header = _csv_header(path)
    if not any(h.strip() for h in header):
        raise LedgerFileError(f"{path.name} has no header row")
    bad_rows: list[Any] = []

    def keep_aside(row: Any) -> str:
        bad_rows.append(row)
        return "skip"

    def read(threads: bool, newlines: bool) -> pa.Table:
        return pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(use_threads=threads, block_size=1 << 22),
            parse_options=pcsv.ParseOptions(
                newlines_in_values=newlines,
                ignore_empty_lines=False,
                invalid_row_handler=keep_aside,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    # First the fast way, which splits the file into blocks at line ends. pyarrow notices when a
    # quoted value holding a line break straddles two blocks (its parser and chunker disagree)
    # and fails; then, as after any row set aside, the file is read again the careful way.
    try:
        table = read(threads=True, newlines=False)
        if not bad_rows:
            return table, None, []
    except pa.ArrowInvalid:
        pass
    try:
        bad_rows.clear()
        table = read(threads=True, newlines=True)
        if not bad_rows:
            return table, None, []
        # Rows set aside shift the numbering: read again on one thread, which numbers them.
        bad_rows.clear()
        table = read(threads=False, newlines=True)
    except pa.ArrowInvalid as exc:
        raise _csv_failure(path, exc) from None
    set_aside = {row.number: row for row in bad_rows}
    total = table.num_rows + len(set_aside)
    numbers = [n for n in range(2, total + 2) if n not in set_aside]
    problems = [
        Problem.make(
            number,
            "",
            "unreadable_file",
            row.text,
            f"row {number} has {row.actual_columns} cells but the header has "
            f"{row.expected_columns}: a stray comma or an unclosed quote?",
        )
        for number, row in sorted(set_aside.items())
        if row.text.strip(", \t")  # a blank line is a blank spreadsheet row, not a problem
    ]
    return table, pa.array(numbers, pa.int64()), problems


def _csv_failure(path: Path, exc: pa.ArrowInvalid) -> LedgerFileError:
    text = str(exc)
    if "UTF8" in text or "UTF-8" in text:
        row = _first_bad_utf8_row(path)
        return LedgerFileError(
            f"{path.name}: row {row} is not UTF-8 text; save the file as 'CSV UTF-8'", row=row
        )
    if "Empty CSV" in text:
        return LedgerFileError(f"{path.name} has no header row")
    return LedgerFileError(f"{path.name} cannot be read as CSV: {text}")


def _first_bad_utf8_row(path: Path) -> int:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8")
        return sum(1 for _ in csv.reader(io.StringIO(prefix, newline=""))) or 1
    return 1


# --- Parquet -----------------------------------------------------------------------------------


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise LedgerFileError(f"{path.name} cannot be read as Parquet: {exc}") from None
    if not table.column_names:
        raise LedgerFileError(f"{path.name} has no columns (no header row)")
    return pa.table({name: _as_text(path, name, table.column(name)) for name in table.column_names})


def _as_text(path: Path, name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_nested(kind):
        raise LedgerFileError(
            f"{path.name}: column '{name}' holds lists or records, not text", column=name
        )
    if pa.types.is_null(kind):
        return pa.chunked_array([pa.array([""] * len(column), pa.string())])
    try:
        # Floats cast to their shortest round-trip form ("15.3"), decimals keep their scale.
        text = column.cast(pa.string())
    except pa.ArrowException as exc:
        raise LedgerFileError(
            f"{path.name}: column '{name}' cannot be read as text: {exc}", column=name
        ) from None
    return text.fill_null("")


# --- xlsx --------------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    """What a spreadsheet shows for a cell, as exact text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)  # the shortest round-trip decimal form
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _read_xlsx(path: Path, sheet: str | None) -> tuple[pa.Table, pa.Array, list[Problem]]:
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise LedgerFileError(f"{path.name} cannot be read as an .xlsx workbook: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise LedgerFileError(
                f"{path.name} has no sheet named '{sheet}'; its sheets are: "
                + ", ".join(book.sheetnames)
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        return _sheet_table(path, ws.iter_rows(values_only=True))
    finally:
        book.close()


def _sheet_table(
    path: Path, cells: Iterable[tuple[object, ...]]
) -> tuple[pa.Table, pa.Array, list[Problem]]:
    header: list[str] | None = None
    columns: list[list[str]] = []
    numbers: list[int] = []
    problems: list[Problem] = []
    for number, values in enumerate(cells, start=1):
        texts = [_cell_text(v) for v in values]
        if header is None:
            if any(t.strip() for t in texts):
                header = texts
                while header and not header[-1].strip():
                    header.pop()
                columns = [[] for _ in header]
            continue
        if not any(t.strip() for t in texts):
            continue  # a blank row: the spreadsheet shows it, but it holds no adjustment
        beyond = [i for i, t in enumerate(texts[len(header) :], len(header)) if t.strip()]
        if beyond:
            problems.append(
                Problem.make(
                    number,
                    "",
                    "unreadable_file",
                    texts[beyond[0]],
                    f"row {number} has a value in column {beyond[0] + 1}, which has no header",
                )
            )
            continue
        texts = (texts + [""] * len(header))[: len(header)]
        for column, text in zip(columns, texts, strict=True):
            column.append(text)
        numbers.append(number)
    if header is None:
        raise LedgerFileError(f"{path.name}: the sheet is empty (no header row)")
    names = [h if h.strip() else f"column {i + 1}" for i, h in enumerate(header)]
    _reject_duplicate_headers(path, [n.strip() for n in names])
    table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)})
    return table, pa.array(numbers, pa.int64()), problems
