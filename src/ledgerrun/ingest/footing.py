"""The foot of a ledger: its totals line, and the footer lines finance systems write below it.

Two ways a line is the ledger's totals line, never one of its rows:

1. **A "Total" line**: a line whose first non-blank cell (in any column; its figures and
   currency aside, so a label after the amount counts) reads ``Total``
   (``TOTAL``, ``Totals``, ``Grand total``, ``Total:``, ``Total for December``; German exports'
   ``Summe`` and ``Gesamt`` too), with no account, below which come only footer lines. A footer
   line is one that holds neither an account nor an amount ("Accrual Basis Monday, December 1,
   2026 09:41 AM GMT-08:00", a page number, a blank row of a CSV cut short): footers are ignored,
   neither rows nor problems, as are lines of a CSV too short or too long for its header that
   come after the totals line.
2. Otherwise, as before: the **last** row, when it has no adjustment id and no account but an
   amount.

A line with an account is always a row, whatever its first cell says: an adjustment is never
taken for a total.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

import pyarrow as pa

from ledgerrun.ingest.layout import AMOUNT_COLUMNS
from ledgerrun.vocab import Problem

if TYPE_CHECKING:
    from ledgerrun.ingest.read import Ledger

_LABEL = re.compile(r"(grand\s+)?totals?(\s.*)?:?|(gesamt)?summe:?|gesamt:?", re.IGNORECASE)


class TotalsLine(NamedTuple):
    """The ledger's totals line: its row, its cells (canonical name -> text) and whether it was
    found by its label ("Total") rather than by having an amount and nothing else."""

    row: int
    cells: Mapping[str, str]
    labelled: bool = False


def is_label(text: str) -> bool:
    """Whether a cell reads as a totals line's label."""
    return _LABEL.fullmatch(text.strip()) is not None


def set_aside(ledger: Ledger) -> Ledger:
    """The ledger without its totals line and the footers below it (see the module docstring)."""
    n = ledger.num_rows
    if n == 0:
        return ledger
    found = _labelled(ledger)
    if found is None:
        return _last_row_total(ledger)
    index, footers = found
    row = ledger.rows[index].as_py()
    table = ledger.table
    cells = {name: str(table.column(name)[index].as_py()) for name in table.column_names}
    if ledger.parts is not None:
        cells.update(_part_cells(ledger, index))
    problems = [
        p for p in ledger.read_problems if not (p.code == "unreadable_file" and p.row > row)
    ]
    return _kept(ledger, index, TotalsLine(row, cells, labelled=True), problems, footers)


def _labelled(ledger: Ledger) -> tuple[int, list[int]] | None:
    """The index of a "Total" line with only footers below it, and the footers' row numbers."""
    n = ledger.num_rows
    money = [ledger.table.column(c) for c in ledger.table.column_names if c in AMOUNT_COLUMNS]
    account = ledger.table.column("account") if "account" in ledger.table.column_names else None
    footers: list[int] = []
    for index in range(n - 1, -1, -1):
        has_account = account is not None and account[index].as_py() != ""
        has_money = any(column[index].as_py() != "" for column in money)
        if not has_account and is_label(_first_cell(ledger, index)):
            return index, footers[::-1]
        if has_account or has_money:
            return None  # a row: no totals line below it is the last row's
        footers.append(ledger.rows[index].as_py())
    return None


def _first_cell(ledger: Ledger, index: int) -> str:
    """The first non-blank cell of a line, left to right, figures and currency left out (a
    totals line may hold its label after its amount)."""
    for where, name in ledger.order:
        if where == "table" and name in (*AMOUNT_COLUMNS, "currency"):
            continue
        source = ledger.table if where == "table" else ledger.extras
        if name not in source.column_names:
            continue
        text = str(source.column(name)[index].as_py() or "").strip()
        if text:
            return text
    return ""


def _part_cells(ledger: Ledger, index: int) -> dict[str, str]:
    parts = ledger.parts
    assert parts is not None
    joined = "".join(str(parts.column(i)[index].as_py()) for i in range(parts.num_columns))
    return {"adjustment_id": joined}


def _last_row_total(ledger: Ledger) -> Ledger:
    """The last row, when it has no adjustment id and no account but an amount."""
    table, n = ledger.table, ledger.num_rows
    has_id = "adjustment_id" in table.column_names or ledger.parts is not None
    if not has_id or "account" not in table.column_names:
        return ledger
    cells = {name: str(table.column(name)[n - 1].as_py()) for name in table.column_names}
    if ledger.parts is not None:
        cells.update(_part_cells(ledger, n - 1))
    if cells["adjustment_id"] or cells["account"]:
        return ledger
    if not any(cells.get(name) for name in AMOUNT_COLUMNS):
        return ledger
    row = ledger.rows[n - 1].as_py()
    if any(p.row > row for p in ledger.read_problems):
        return ledger  # a row the reader set aside comes after it: it is not the last row
    return _kept(ledger, n - 1, TotalsLine(row, cells), ledger.read_problems, [])


def _kept(
    ledger: Ledger, end: int, line: TotalsLine, problems: list[Problem], footers: list[int]
) -> Ledger:
    """The ledger's first ``end`` rows, with its totals line and footers set aside."""

    def cut(table: pa.Table | None) -> pa.Table | None:
        return table.slice(0, end) if table is not None and table.num_columns else table

    return replace(
        ledger,
        table=cut(ledger.table),
        extras=cut(ledger.extras),
        parts=cut(ledger.parts),
        rows=ledger.rows.slice(0, end),
        totals=line,
        read_problems=problems,
        footers=footers,
    )
