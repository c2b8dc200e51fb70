"""Does an xlsx money cell show the amount it holds, in the row's currency?

An amount is read as the number the cell holds (:func:`ledgerrun.ingest.numfmt.exact`), but a
person checks a ledger by what the spreadsheet *shows*. A money cell is taken only when the two
agree: what the number format shows is that amount, in the row's currency. So it is refused
(``bad_amount``, with a message naming what the cell shows) when:

* the cell is a date, a time or a logical value (TRUE/FALSE), or its format shows it as one: a
  date's serial number (2026-01-05 is 46027) is never money;
* its format shows a percentage, a fraction, scientific notation, or something ledgerrun cannot
  render (conditions, scaling by thousands, text between the digits);
* its format adds text that is not the row's own currency (``€`` on a USD row, ``kg``), or any
  currency to minor units (``$1,500.00`` for 1500 cents);
* its format shows fewer decimals than the amount has, so it shows another amount (1234.56 under
  ``#,##0`` shows ``1,235``). An amount with more decimals than its currency allows is left to
  ``too_many_decimals``, which says exactly that.

Plain, thousands-separator, accounting and currency formats in the row's own currency are fine:
``#,##0.00``, ``_("$"* #,##0.00_)``, ``[$€-407] #,##0.00``, ``"USD "0.00``.
"""

from __future__ import annotations

from decimal import Decimal

from ledgerrun.ingest import numfmt
from ledgerrun.ingest.cellview import display
from ledgerrun.ingest.workbook import Cell
from ledgerrun.money.table import symbol_owners

_AROUND = " \u00a0\u202f()-+"  # spacing, accounting parentheses and signs: not text


def _owner(text: str) -> str | None:
    """The currency whose symbol or code ``text`` is, when only one has it."""
    owners = symbol_owners(text)
    if len(owners) == 1:
        return next(iter(owners)).upper()
    if len(text) == 3 and text.isalpha() and text.isascii():
        return text.upper()
    return None


def trouble(
    cell: Cell,
    date1904: bool,
    currency: str | None,
    exponent: int | None,
    minor: bool = False,
) -> str | None:
    """Why the money cell cannot be taken as an amount in ``currency``, as a sentence naming what
    the cell shows; None when it can (or when the validation of its text will say why not).

    ``currency`` is the row's (lower-case; None when the row has none ledgerrun knows), and
    ``exponent`` the decimals an amount in this column may have (None: unknown). A ``minor``
    column holds minor units (cents): a currency symbol there shows a hundred times the amount.
    Without a currency, only what is wrong in any currency is judged."""
    if cell.kind == "b":
        return f"The cell holds the logical value {cell.text}, not an amount."
    if cell.kind == "d":
        return f"The cell holds a date ({display(cell, date1904)[0]}), not an amount."
    if cell.kind != "n":
        return None
    value = numfmt.number(cell.text)
    if value is None or not value:
        return None  # not a number at all, or zero: the amount's own checks say so
    chosen = numfmt.section_for(value, cell.fmt)
    if chosen is None:
        return None  # General
    section, signed = chosen
    shows = section.render(signed, date1904)
    held = numfmt.exact(cell.text)
    fmt = cell.fmt
    if section.kind == "date":
        assert section.date is not None
        what = section.date.kind
        seen = f" ({shows})" if shows else ""
        return (
            f"The cell shows a {what}{seen}, not an amount: it holds the {what}'s serial number "
            f"{held} (number format {fmt})."
        )
    named = {
        "percent": "a percentage",
        "scientific": "scientific notation",
        "fraction": "a fraction",
    }.get(section.kind)
    if named is not None:
        seen = f" ({shows})" if shows else ""
        return f"The cell shows {named}{seen}, not the amount {held}: its number format is {fmt}."
    if section.kind == "exotic":
        return (
            f"The cell's number format ({fmt}) does not show the amount {held} as a plain number "
            "(a condition, a scaling or text inside the digits)."
        )
    text = section.text.strip(_AROUND)
    if text and minor:
        return (
            f"The cell shows {shows}, an amount in major units, but the column holds minor "
            f"units (cents): {held} minor units."
        )
    if text and currency is not None and currency not in symbol_owners(text):
        other = _owner(text)
        if other is not None and other != currency.upper():
            why = f"in another currency ({other}), not in the row's {currency.upper()}"
        else:
            why = f"with '{text}', which is not {currency.upper()}'s symbol or code"
        return f"The cell shows {shows}: its number format shows the amount {why}."
    if section.kind == "number" and exponent is not None:
        places = _places(held)
        if section.dec_max < places <= exponent:
            return (
                f"The cell shows {shows} but holds {held}: its number format ({fmt}) hides "
                f"decimals, so it shows another amount (show {places} decimal places)."
            )
    return None


def _places(text: str) -> int:
    exponent = Decimal(text).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
