"""xlsx ledgers, the way Excel shows them.

The sheet read is the one the job names (hidden or not), else the workbook's active sheet (the
first visible sheet when the active one is hidden). Number cells are shown through their number
format (:mod:`~ledgerrun.ingest.numfmt`), except amounts, which are their stored number at 15
significant digits (written with the job's decimal mark, so that a decimal-comma job reads a
number cell as the number it is). Money cells that are not plain numbers or text (a date, TRUE,
a number with a format to check against the row's currency) and cells that cannot be shown as
the spreadsheet does are set aside in the grid's ``typed`` for validation to judge
(:mod:`~ledgerrun.ingest.typed`). A cell holding a spreadsheet error (``#N/A``, ``#REF!``, ...) is a
``bad_value`` problem and a formula never calculated (no value saved with it) is
``formula_not_calculated``; both make their row invalid. The workbook itself is read by
:mod:`~ledgerrun.ingest.workbook`, which refuses zip bombs and oversized cells.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from ledgerrun.errors import LedgerFileError
from ledgerrun.ingest import numfmt
from ledgerrun.ingest.cellview import Typed, display
from ledgerrun.ingest.layout import (
    HEADER_SCAN_ROWS,
    Grid,
    Layout,
    amount_columns,
    find_header,
    is_header,
)
from ledgerrun.ingest.workbook import BROKEN, Cell, Refused, Workbook
from ledgerrun.vocab import Problem


def read_xlsx(path: Path, sheet: str | None, layout: Layout) -> Grid:
    try:
        with zipfile.ZipFile(path) as book:
            workbook = Workbook(book)
            part = workbook.choose(sheet)
            return _grid(path, workbook.rows(part), layout, workbook.date1904)
    except Refused as exc:
        raise LedgerFileError(f"{path.name}: {exc}") from None
    except BROKEN as exc:
        raise LedgerFileError(f"{path.name} cannot be read as an .xlsx workbook: {exc}") from None


# --- from rows of cells to a grid --------------------------------------------------------------


def _text(cell: Cell, amount: bool, date1904: bool, mark: str = ".") -> str:
    if amount:
        return numfmt.exact(cell.text).replace(".", mark) if cell.kind == "n" else cell.text
    return display(cell, date1904)[0]


def _grid(
    path: Path,
    rows: Iterator[tuple[int, dict[int, Cell]]],
    layout: Layout,
    date1904: bool,
) -> Grid:
    first: list[tuple[int, dict[int, Cell]]] = []
    for number, cells in rows:
        first.append((number, cells))
        if number >= HEADER_SCAN_ROWS:
            break
    candidates = [
        (n, _row_texts(cells, max(cells) + 1, set(), date1904))
        for n, cells in first
        if cells and n <= HEADER_SCAN_ROWS
    ]
    found = find_header(candidates, layout)
    if found is None:
        raise Refused("the sheet is empty (no header row)")
    header_row, header = found
    while header and not header[-1].strip():
        header.pop()
    shown = [h.strip() or f"column {i + 1}" for i, h in enumerate(header)]
    amounts = amount_columns(header, layout)
    columns: list[list[str]] = [[] for _ in header]
    numbers: list[int] = []
    problems: list[Problem] = []
    typed: dict[tuple[int, int], Typed] = {}

    def later() -> Iterator[tuple[int, dict[int, Cell]]]:
        yield from (row for row in first if row[0] > header_row)
        yield from rows

    for number, cells in later():
        texts = _row_texts(cells, len(header), amounts, date1904, typed, number, layout.decimal)
        beyond = [i for i in sorted(cells) if i >= len(header) and _text(cells[i], False, date1904)]
        if not any(t.strip() for t in texts) and not beyond:
            continue  # a blank row: the spreadsheet shows it, but it holds no adjustment
        if beyond:
            problems.append(
                Problem.make(
                    number,
                    "",
                    "unreadable_file",
                    _text(cells[beyond[0]], False, date1904),
                    f"row {number} has a value in column {beyond[0] + 1}, which has no header",
                )
            )
            continue
        problems.extend(_cell_problems(number, cells, shown))
        for column, text in zip(columns, texts, strict=True):
            column.append(text)
        numbers.append(number)
    if not is_header(header, layout):  # the header lacks required columns: that is the problem
        problems = [p for p in problems if p.code != "unreadable_file"]
    table = pa.table(
        [pa.array(c, pa.string()) for c in columns], names=[f"c{i}" for i in range(len(header))]
    )
    return Grid(
        header,
        header_row,
        table,
        pa.array(numbers, pa.int64()),
        problems,
        typed=typed,
        head=candidates,
    )


def _row_texts(
    cells: dict[int, Cell],
    width: int,
    amounts: set[int],
    date1904: bool,
    typed: dict[tuple[int, int], Typed] | None = None,
    number: int = 0,
    mark: str = ".",
) -> list[str]:
    """The row's texts; cells validation must judge go into ``typed`` (when given): money cells
    other than plain numbers and text, and cells that cannot be shown faithfully."""
    texts = [""] * width
    for index, cell in cells.items():
        if index >= width:
            continue
        if index in amounts:
            texts[index] = _text(cell, True, date1904, mark)
            judged = cell.kind in ("b", "d") or (
                cell.kind == "n" and numfmt.parse(cell.fmt) is not None
            )
        else:
            texts[index], faithful = display(cell, date1904)
            judged = not faithful
        if judged and typed is not None:
            typed[(number, index)] = Typed(cell, date1904, index in amounts)
    return texts


def _cell_problems(number: int, cells: dict[int, Cell], shown: list[str]) -> list[Problem]:
    found = []
    for index in sorted(cells):
        cell = cells[index]
        if index >= len(shown) or cell.kind not in ("e", "f"):
            continue
        if cell.kind == "e":
            found.append(
                Problem.make(
                    number,
                    shown[index],
                    "bad_value",
                    cell.text,
                    f"The cell shows the spreadsheet error {cell.text}, not a value.",
                )
            )
        else:
            found.append(
                Problem.make(
                    number,
                    shown[index],
                    "formula_not_calculated",
                    cell.text,
                    "The cell holds a formula that has never been calculated, so it has no "
                    "value: open and save the workbook in Excel.",
                )
            )
    return found
