"""The batch page's grid: one page of a ledger as the spreadsheet shows it, each problem the
library found on its cell (a problem for a column the file does not have, on its row; one on
the header's row or outside the rows, above the grid)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.vocab import Problem, shown
from ledgerrun.web import hints
from ledgerrun.web.filters import RowFilter
from ledgerrun.web.service import Review

PAGE_ROWS = 100
CELL_CUT = 120


@dataclass
class Cell:
    text: str
    problems: list[Problem] = field(default_factory=list)


@dataclass
class GridRow:
    number: int
    cells: list[Cell]
    other: list[Problem]  # problems on this row for a column the file does not have
    hint: str = ""  # what the row's problems amount to, when they have one cause (a totals line)


@dataclass
class Grid:
    headers: list[str]
    rows: list[GridRow]
    page: int
    pages: int
    shown_rows: int  # rows in the current filter
    total_rows: int
    problem_rows: int
    only_problems: bool
    file_problems: list[Problem]  # on the header's row or outside the rows (the totals line)


AMOUNT_COLUMNS = ("amount", "amount_minor", "debit", "credit")


def grouped(text: str, mark: str = ".") -> str:
    """A plain figure with thousands marks (``1000.50`` -> ``1,000.50``; with the decimal mark
    ``,``: ``1000,50`` -> ``1.000,50``); anything else (a symbol, marks already) as written."""
    found = re.fullmatch(rf"(-?)(\d+)({re.escape(mark)}\d+)?", text.strip())
    if found is None or len(found.group(2)) <= 3 or found.group(2).startswith("0"):
        return text
    sign, whole, fraction = found.groups()
    separator = "." if mark == "," else ","
    return f"{sign}{int(whole):,}".replace(",", separator) + (fraction or "")


_LABEL = re.compile(r"[^\W\d_][^\d]{0,38}", re.UNICODE)


def totals_hint(cells: list[Cell], account: int, amounts: set[int]) -> str:
    """A row whose first cell is a label (words, no digits: "Subtotal", "Sum", "Control
    total"), with no account but a figure, is a totals line ledgerrun did not take for one:
    the hint says so, instead of an "empty value" for each of its cells."""
    if account < 0 or cells[account].text.strip():
        return ""
    if not any(p.code == "empty_value" for c in cells for p in c.problems):
        return ""
    first = next((c.text.strip() for c in cells if c.text.strip()), "")
    if not _LABEL.fullmatch(first) or not any(cells[i].text.strip() for i in amounts):
        return ""
    return (
        f"This looks like a totals line (\u201c{first}\u201d), not an adjustment. ledgerrun "
        "checks the ledger's totals line when it is the last line and its first cell reads "
        "\u201cTotal\u201d (or Totals, Grand total): write that there, or delete the line."
    )


def grid(
    result: Review,
    page: int,
    only_problems: bool,
    per_page: int = PAGE_ROWS,
    rows_wanted: RowFilter | None = None,
) -> Grid:
    """One page of the ledger as the spreadsheet shows it, each problem on its cell: every
    row, or those with problems, or those the search form asks for (``rows_wanted``)."""
    v = result.prepared.validation
    ledger = v.ledger
    columns: list[tuple[str, pa.ChunkedArray]] = []
    amounts: set[int] = set()  # the money columns: their figures shown with thousands marks
    account = -1
    for where, name in ledger.order:
        if where == "table" and name in ledger.table.column_names:
            if name in AMOUNT_COLUMNS:
                amounts.add(len(columns))
            if name == "account":
                account = len(columns)
            columns.append((ledger.headers.get(name, name), ledger.table.column(name)))
        elif where == "extras" and name in ledger.extras.column_names:
            columns.append((name, ledger.extras.column(name)))
    numbers = ledger.rows
    by_row: dict[int, list[Problem]] = {}
    known = hints.registered(result.job.consent_registry) if any(
        p.code == "no_consent" for p in v.problems
    ) else set()  # fmt: skip
    for problem in v.problems:
        by_row.setdefault(problem.row, []).append(hints.mistyped(problem, known))
    row_set = set(numbers.to_pylist()) if only_problems or by_row else set()
    file_problems = [p for p in v.problems if p.row not in row_set]
    problem_numbers = sorted(r for r in by_row if r in row_set)
    searching = rows_wanted is not None and rows_wanted.active and not rows_wanted.error
    if only_problems or searching:
        keep = pa.array([True] * v.rows, pa.bool_())
        if only_problems:
            wanted = pa.array(problem_numbers, pa.int64())
            keep = pc.and_(keep, pc.is_in(numbers, value_set=wanted))
        if searching:
            assert rows_wanted is not None
            found = rows_wanted.mask(v.adjustment_id, v.account, v.amount_minor, v.currency)
            keep = pc.and_(keep, found)
        indices = pc.indices_nonzero(keep)
        total = len(indices)
    else:
        indices = None
        total = v.rows
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    if indices is None:
        take = pa.array(range(start, min(start + per_page, total)), pa.int64())
    else:
        take = indices.slice(start, per_page)
    row_numbers = pc.take(numbers, take).to_pylist() if len(take) else []
    texts = [pc.take(col, take).to_pylist() if len(take) else [] for _, col in columns]
    headers = [h for h, _ in columns]
    mark = result.job.reading.decimal
    rows: list[GridRow] = []
    for i, number in enumerate(row_numbers):
        found = by_row.get(number, [])
        cells = [Cell(shown("" if texts[c][i] is None else str(texts[c][i]), CELL_CUT))
                 for c in range(len(columns))]  # fmt: skip
        other: list[Problem] = []
        for problem in found:
            if problem.column in headers:
                cells[headers.index(problem.column)].problems.append(problem)
            else:
                other.append(problem)
        hint = totals_hint(cells, account, amounts)
        if hint:  # one cause, said once: not an "empty value" on each of its cells
            for cell in cells:
                cell.problems = [p for p in cell.problems if p.code != "empty_value"]
        for c in amounts:
            if not cells[c].problems:  # a figure with a problem is shown exactly as written
                cells[c].text = grouped(cells[c].text, mark)
        rows.append(GridRow(number, cells, other, hint))
    return Grid(
        headers=headers,
        rows=rows,
        page=page,
        pages=pages,
        shown_rows=total,
        total_rows=v.rows,
        problem_rows=len(problem_numbers),
        only_problems=only_problems,
        file_problems=file_problems,
    )
