"""Judge the xlsx cells the reader set aside by their type and format (``Ledger.typed``).

* A **money cell** (``amount``, ``amount_minor`` and any other amount column) is taken only when
  what the spreadsheet shows is the amount in the row's currency
  (:func:`ledgerrun.ingest.moneyfmt.trouble`); otherwise ``bad_amount``, naming what it shows.
* An **id cell** (``adjustment_id``, ``account``, a ``metadata.`` column) whose number or date
  ledgerrun cannot show as the spreadsheet does (a fraction, a condition, an elapsed time, a date
  without its year) is refused rather than read as a serial number: ``bad_adjustment_id``,
  ``bad_account`` or ``bad_metadata``. Other columns keep the plain number (they move no money
  and name nothing).

Each problem here stands for its cell: validation leaves out what else it would say about the
same cell (a date's serial number would otherwise pass as a fine amount, or as an id).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun.ingest import moneyfmt, numfmt
from ledgerrun.ingest.cellview import Typed, display
from ledgerrun.ingest.read import METADATA_PREFIX, numbered
from ledgerrun.ingest.validation import Collector
from ledgerrun.vocab import Problem

_ID_CODES = {"adjustment_id": "bad_adjustment_id", "account": "bad_account"}
_ID_WORDS = {"adjustment_id": "id", "account": "account"}
_MINOR = "amount_minor"


def check(out: Collector, currency: pa.Array, exps: pa.Array) -> list[Problem]:
    """Judge every typed cell of ``out.ledger`` against its row's currency (lower-case codes)
    and that currency's exponent (null when unknown); record a problem for each refused cell,
    make its row invalid and return the problems."""
    ledger = out.ledger
    if not ledger.typed:
        return []
    where = {row: index for index, row in enumerate(ledger.rows.to_pylist())}
    currencies, exponents = currency.to_pylist(), exps.to_pylist()
    added: list[Problem] = []
    invalid: list[int] = []
    for (row, column), typed in ledger.typed.items():
        index = where.get(row)
        if index is None or column >= len(ledger.order):
            continue  # the totals line, or a row the reader set aside
        part, name = ledger.order[column]
        problem = _judge(typed, name, currencies[index], exponents[index])
        if problem is None:
            continue
        code, message, fix = problem
        value = display(typed.cell, typed.date1904)[0]  # what the spreadsheet shows
        header = ledger.headers.get(name, name) if part == "table" else name
        added.append(Problem.make(row, header, code, value, message, fix=fix))
        invalid.append(index)
    if added:
        out.invalidate(pc.is_in(numbered(0, ledger.num_rows), pa.array(invalid, pa.int64())))
        out.problems.extend(added)
    return added


def _judge(
    typed: Typed, name: str, currency: str | None, exponent: int | None
) -> tuple[str, str, str | None] | None:
    """(code, message, advice or None) for a refused cell; None when it is fine."""
    if typed.money:
        known = currency if exponent is not None else None
        places = 0 if name == _MINOR else exponent
        why = moneyfmt.trouble(typed.cell, typed.date1904, known, places, name == _MINOR)
        return None if why is None else ("bad_amount", why, _MONEY_FIX)
    if name in _ID_CODES:
        code, word = _ID_CODES[name], _ID_WORDS[name]
    elif name.startswith(METADATA_PREFIX):
        code, word = "bad_metadata", "metadata value"
    else:
        return None
    cell = typed.cell
    shows = display(cell, typed.date1904)[0]
    chosen = numfmt.number(cell.text)
    section = None if chosen is None else numfmt.section_for(chosen, cell.fmt)
    dated = None if section is None else section[0].date
    if cell.kind == "d" or (dated is not None and dated.has_date):
        what = f"a date ({shows})"
    else:
        what = f"{'a time' if dated is not None else 'the number'} {shows}"
    return (
        code,
        f"The cell holds {what} shown through the number format {cell.fmt}, which ledgerrun "
        f"cannot write as the spreadsheet shows it; the {word} would not read as you see it.",
        f"Format the column as Text and type the {word} as it should read.",
    )


_MONEY_FIX = (
    "Type the amount as a plain number, formatted as a number (#,##0.00) or in the row's own "
    "currency, showing every decimal it has."
)
