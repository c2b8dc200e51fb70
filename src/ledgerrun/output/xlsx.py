"""The results table as an Excel workbook finance can sort, filter and sum.

Amounts are real number cells shown with the currency's decimals (``#,##0.00`` for USD, ``#,##0``
for JPY, ``#,##0.000`` for KWD); the major-unit amount is exact because it is computed from the
integer minor units, and a number of 15 significant digits or fewer is stored exactly by Excel.
Ids, accounts and every other text are text cells (never turned into numbers, so ``00456`` stays
``00456``); the header row is frozen and filterable. A text that Excel would take for a formula
is stored as text (a cell type, not an escape). XML holds no bare carriage return (one reads
back as a line feed) and none of the other control characters: those are written escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from ledgerrun import money

NUMBER_FORMATS = {0: "#,##0", 2: "#,##0.00", 3: "#,##0.000"}
INTEGER_COLUMNS = ("row", "amount_minor", "attempts")


def write_xlsx(
    table: pa.Table, path: Path, atomic_write: Callable[[Path, Callable[[IO[bytes]], object]], None]
) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Results")
    sheet.freeze_panes = "A2"
    names = table.column_names
    widths = [max(10, min(40, len(n) + 2)) for n in names]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for name in names:
        cell = _text_cell(sheet, name, WriteOnlyCell)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    columns = {name: table.column(name).to_pylist() for name in names}
    currencies = columns.get("currency") or [""] * table.num_rows
    minors = columns.get("amount_minor") or [None] * table.num_rows
    for i in range(table.num_rows):
        row: list[Any] = []
        for name in names:
            value = columns[name][i]
            if name == "amount":
                row.append(_amount_cell(sheet, minors[i], str(currencies[i] or ""), WriteOnlyCell))
            elif name in INTEGER_COLUMNS:
                row.append(value)
            else:
                row.append(_text_cell(sheet, "" if value is None else str(value), WriteOnlyCell))
        sheet.append(row)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{table.num_rows + 1}"
    atomic_write(path, book.save)


def _text_cell(sheet: Any, text: str, cell_type: Any) -> Any:
    """A text cell, never a formula, with the characters XML cannot hold escaped."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = cell_type(sheet, value=None)
    cell.value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
    cell.data_type = "s"
    return cell


def _amount_cell(sheet: Any, minor: int | None, currency: str, cell_type: Any) -> Any:
    if minor is None:
        return None
    try:
        exp = money.exponent(currency)
    except KeyError:
        return None
    value = Decimal(int(minor)).scaleb(-exp)
    cell = cell_type(sheet, value=float(value) if exp else int(minor))
    cell.number_format = NUMBER_FORMATS.get(exp, "0.00")
    return cell


def read_xlsx(path: Path) -> pa.Table:
    """A results workbook read back as the table it was written from (amount as text)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(book["Results"].iter_rows(values_only=True))
    finally:
        book.close()
    names = [str(n) for n in rows[0]] if rows else []
    data = rows[1:]
    arrays = []
    currency_at = names.index("currency") if "currency" in names else -1
    minor_at = names.index("amount_minor") if "amount_minor" in names else -1
    for j, name in enumerate(names):
        values = [r[j] for r in data]
        if name in INTEGER_COLUMNS:
            arrays.append(
                pa.array([None if v in (None, "") else int(v) for v in values], pa.int64())
            )
        elif name == "amount" and minor_at >= 0:
            arrays.append(
                pa.array(
                    [_major(r[minor_at], r[currency_at] if currency_at >= 0 else "") for r in data],
                    pa.string(),
                )
            )
        else:
            arrays.append(pa.array(["" if v is None else str(v) for v in values], pa.string()))
    return pa.Table.from_arrays(arrays, names=names)


def _major(minor: object, currency: object) -> str:
    if minor in (None, ""):
        return ""
    try:
        exp = money.exponent(str(currency or ""))
    except KeyError:
        return ""
    return money.format_major(int(str(minor)), exp)
