"""Read a ledger file into a table of text, exactly as a spreadsheet would show it.

Every value is read as text: an amount never passes through a float. CSV is read by pyarrow
(:mod:`~ledgerrun.ingest.csvfile`), xlsx by a streaming reader of its own that applies number
formats the way Excel displays them (:mod:`~ledgerrun.ingest.xlsx`), Parquet by pyarrow with
decimals kept exact (:mod:`~ledgerrun.ingest.parquetfile`).

The header is the first row among the first :data:`HEADER_SCAN_ROWS` that holds every required
column (after the job's ``[columns]`` mapping and ``[ledger]`` settings: :mod:`~ledgerrun.ingest.
layout`); title and blank rows above it are ignored. Canonical columns are matched by name
(case-insensitively) or through the mapping and stripped of surrounding whitespace; every other
column is kept verbatim for the results file. The parts of a composite id are kept, stripped, in
``parts``. Blank rows are dropped. The ledger's totals line (a "Total" line with only footers
below it, or a last row with an amount but no id and no account) is set aside
(:mod:`~ledgerrun.ingest.footing`) for the control-total check and is not a row of the ledger.

Row numbers follow the spreadsheet: the header's own number, data rows below it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.clock import Clock
from ledgerrun.errors import ExitCode, LedgerFileError
from ledgerrun.ingest import footing
from ledgerrun.ingest.footing import TotalsLine
from ledgerrun.ingest.identity import all_printable, byte_range
from ledgerrun.ingest.layout import (
    AMOUNTS,
    HEADER_SCAN_ROWS,
    METADATA_PREFIX,
    Grid,
    Layout,
    amount_columns,
    assign,
    find_header,
    is_header,
    part_columns,
    reject_duplicate_headers,
)
from ledgerrun.ingest.masks import numbering
from ledgerrun.job import LEDGER_SUFFIXES, Job, Reading
from ledgerrun.vocab import Problem

__all__ = [
    "AMOUNTS",
    "CELL_CODES",
    "HEADER_SCAN_ROWS",
    "METADATA_PREFIX",
    "Grid",
    "Layout",
    "Ledger",
    "LedgerNotArrivedError",
    "LedgerPathError",
    "TotalsLine",
    "amount_columns",
    "assign",
    "find_header",
    "is_header",
    "read_ledger",
    "require_ledger",
    "wait_for_ledger",
]

if TYPE_CHECKING:
    from ledgerrun.ingest.cellview import Typed

CELL_CODES = ("bad_value", "formula_not_calculated")  # problems the reader finds in one cell


class LedgerPathError(LedgerFileError):
    """The ledger path names nothing, or a folder: the advice is to check the path."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


class LedgerNotArrivedError(LedgerPathError):
    """The ledger of a job whose path has ``{date}`` is not there yet: the night's file has not
    arrived, so the run is incomplete (exit 3, run again later), not wrong. A fixed path that
    names nothing stays a :class:`LedgerPathError` (exit 2)."""

    exit_code = ExitCode.INCOMPLETE


POLL_S = 1.0  # how often --wait-for-ledger looks for the file


def require_ledger(job: Job) -> Path:
    """The ledger the job reads, when it can be read at all: ConfigError when the job names
    none and none was given; LedgerNotArrivedError (exit 3) when its path has ``{date}`` and no
    file is there yet. Any other problem with the path is left to :func:`read_ledger`."""
    path = job.ledger_file()
    if job.ledger_dated and not path.exists():
        raise LedgerNotArrivedError(
            f"the ledger for {job.run_date} has not arrived yet: no file at {path}. Run the job "
            "again later, or let it wait for the file with --wait-for-ledger 30m",
            "Run the job again later (or give the run --wait-for-ledger 30m to wait for it); "
            "if it should be there by now, ask whoever drops it, or check the job's 'ledger'.",
        )
    return path


def wait_for_ledger(
    job: Job, seconds: float, clock: Clock, *, waiting: Callable[[Path], None] | None = None
) -> bool:
    """Wait up to ``seconds`` for the job's ledger file to be there, looking every
    :data:`POLL_S`; whether it is. A file that appears while waiting is taken once its size
    and modification time stay the same for one look more (a file still being written is not
    read half-way). ``waiting(path)`` is called once if it is not there at first (to say so).
    A job that names no ledger has nothing to wait for (False)."""
    path = job.ledger
    if path is None:
        return False
    if path.exists():
        return True
    if waiting is not None:
        waiting(path)
    deadline = clock.monotonic() + seconds
    seen: tuple[int, int] | None = None
    while True:
        now = _stat(path)
        if now is not None and now == seen:
            return True
        seen = now
        left = deadline - clock.monotonic()
        if left <= 0:
            return now is not None
        clock.sleep(min(POLL_S, left))


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_size, found.st_mtime_ns)


@dataclass(eq=False)  # Arrow columns have no == that means "equal"
class Ledger:
    """A ledger read into memory.

    ``table`` holds the canonical columns that were found (and ``metadata.KEY`` columns) as
    non-null, whitespace-stripped strings; ``extras`` holds every other column verbatim.
    ``rows`` gives the spreadsheet row number of each table row; ``header_row`` that of the header.
    ``headers`` maps each column of ``table`` to the header as written in the file, for messages.
    ``unmapped`` lists the ``[columns]`` mappings whose header the file does not have. ``order``
    lists every file column, left to right, as ``("table", name)`` or ``("extras", name)``.
    ``read_problems`` are what the reader found (rows it could not read, cells holding a
    spreadsheet error); ``totals`` is the totals line, when the ledger ends with one, and
    ``footers`` the rows of the footer lines below it. ``parts`` holds the columns of a composite
    id (stripped, in the job's order; None when the id is one column). ``layout`` is how the job
    reads the file; ``head`` the first rows the header was looked for in. ``typed``
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
    parts: pa.Table | None = None
    layout: Layout = field(default_factory=Layout)
    head: list[tuple[int, list[str]]] = field(default_factory=list)
    footers: list[int] = field(default_factory=list)
    typed: dict[tuple[int, int], Typed] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return len(self.rows)

    @cached_property
    def sha256(self) -> str:
        import hashlib  # not at import: a validate never asks for the file's digest

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
    path: Path,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    reading: Reading | None = None,
) -> Ledger:
    """Read ``path`` by its extension, under the job's ``[columns]`` (``columns``) and
    ``[ledger]`` (``reading``) settings; LedgerFileError when the file as a whole is unusable."""
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
    layout = Layout.of(columns, reading)
    if suffix == ".csv":
        from ledgerrun.ingest.csvfile import read_csv

        grid = read_csv(path, size, layout)
    elif suffix == ".parquet":
        from ledgerrun.ingest.parquetfile import read_parquet

        grid = read_parquet(path, layout)
    else:
        from ledgerrun.ingest.xlsx import read_xlsx

        grid = read_xlsx(path, sheet, layout)
    give_back()  # the reader's working buffers
    ledger = _arrange(path, grid, layout)
    give_back()
    return ledger


def give_back() -> None:
    """Return the memory Arrow's allocator holds but no longer uses to the system, between a
    command's stages. An allocator keeps freed blocks for reuse (and what a run's sending
    threads freed only those threads reuse), so one stage's working buffers would otherwise stay
    in the process's footprint while the next allocates its own: a million-row read's buffers
    80 MB at validation's peak, a run's sending and keeping of its rows tens of MB at a large
    night's (docs/benchmarks.md, "Memory")."""
    pa.default_memory_pool().release_unused()


# --- from a grid to a ledger -------------------------------------------------------------------


# From this many rows, ingest works in two threads (pyarrow's kernels release the GIL); below,
# a thread and its module's import cost more than they save.
THREADED_FROM = 50_000


def _arrange(path: Path, grid: Grid, layout: Layout) -> Ledger:
    stripped = [h.strip() for h in grid.header]
    reject_duplicate_headers(path, stripped, grid.header_row)
    wanted = assign(stripped, layout)
    unmapped = {c: h for c, h in layout.columns.items() if c not in wanted.values()}
    part_indices = part_columns(stripped, layout) if layout.id_parts else None
    raw = grid.table
    rows = grid.rows
    if rows is None:
        start = grid.header_row + 1
        rows = numbering(start, raw.num_rows)
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
    if raw.num_rows >= THREADED_FROM:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=2) as pool:  # pyarrow kernels release the GIL
            canon_cols = dict(zip(canon_cols, pool.map(strip, canon_cols.values()), strict=True))
    else:
        canon_cols = {name: strip(column) for name, column in canon_cols.items()}
    table, extras = pa.table(canon_cols), pa.table(extra_cols)
    parts = None
    if part_indices is not None:
        parts = pa.table([strip(raw.column(i)) for i in part_indices], names=list(layout.id_parts))
    keep = _not_blank(table, extras, len(rows))
    if keep is not None:
        table, extras, rows = _filter(table, keep), _filter(extras, keep), pc.filter(rows, keep)
        parts = None if parts is None else _filter(parts, keep)
    if parts is not None:
        shown["adjustment_id"] = " + ".join(stripped[i] for i in part_indices or [])
    elif layout.id_parts:
        unmapped["adjustment_id"] = " + ".join(layout.id_parts)
    ledger = Ledger(
        path=path,
        table=table,
        extras=extras,
        rows=rows,
        headers=shown,
        unmapped=unmapped,
        read_problems=list(grid.problems),
        order=order,
        header_row=grid.header_row,
        parts=parts,
        layout=layout,
        head=list(grid.head),
        typed=dict(grid.typed),
    )
    return footing.set_aside(ledger)


def _filter(table: pa.Table, keep: pa.Array) -> pa.Table:
    return pc.filter(table, keep) if table.num_columns else table


def strip(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Remove surrounding whitespace (Unicode whitespace too, such as no-break spaces). A column
    with nothing to remove is returned as it is, not copied (a million-row ledger's columns are
    most of its memory)."""
    found = byte_range(column)
    if all_printable(found):  # no byte that is whitespace or part of one
        return column
    if found is not None:
        only_ascii = found[1] < 0x80
    else:  # not a plain string column, or no text
        only_ascii = pc.all(pc.string_is_ascii(column)).as_py() is not False
    # ASCII's trim is ten times faster than UTF-8's, with the same result on ASCII.
    trim = pc.ascii_trim_whitespace if only_ascii else pc.utf8_trim_whitespace
    stripped = trim(column)
    if pc.sum(pc.binary_length(stripped)).as_py() == pc.sum(pc.binary_length(column)).as_py():
        return column
    return stripped


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
