"""What one xlsx cell shows, and the cells the reader sets aside for validation to judge.

:func:`display` is a cell (other than an amount) as the spreadsheet shows it, through its number
format (:mod:`~ledgerrun.ingest.numfmt`, dates by :mod:`~ledgerrun.ingest.datefmt`), with
whether ledgerrun could show it faithfully. :class:`Typed` is a cell kept for
:mod:`~ledgerrun.ingest.typed` to judge once the row's currency is known.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledgerrun.ingest import datefmt, numfmt
from ledgerrun.ingest.workbook import Cell


@dataclass(frozen=True, slots=True)
class Typed:
    """A cell set aside for validation to judge (:mod:`~ledgerrun.ingest.typed`): a money cell
    that is not a plain number (a date, a logical value, a number with a format to check against
    the row's currency), or another cell ledgerrun could not show as the spreadsheet does."""

    cell: Cell
    date1904: bool
    money: bool


def display(cell: Cell, date1904: bool) -> tuple[str, bool]:
    """A cell (not an amount) as the spreadsheet shows it, and whether that is faithful
    (:func:`ledgerrun.ingest.numfmt.display`). A date cell stored as ISO text (type ``d``) goes
    through its number format like a serial; without a date format it is its ISO date."""
    if cell.kind == "n":
        return numfmt.display(cell.text, cell.fmt, date1904)
    if cell.kind == "d":
        serial = datefmt.serial(cell.text, date1904)
        chosen = None if serial is None else numfmt.section_for(serial, cell.fmt)
        if serial is None or chosen is None or chosen[0].kind != "date":
            return cell.text[:10], serial is not None
        return numfmt.display(str(serial), cell.fmt, date1904)
    return cell.text, True
