"""The control total: the ledger's totals line checked against its rows.

The rows are added exactly, debits and credits apart, in major units (of the line's currency when
it gives one, or the job's when the file has no currency column; otherwise of every row, as a
spreadsheet's SUM adds them). What the line states is read in the job's notation (symbol,
accounting negatives, decimal mark).

- **One total** (in ``amount`` or ``amount_minor``): it matches when it equals the rows' net
  (debits less credits) or their gross (debits plus credits); the summary says which. When
  every row goes one way the two are the same: its ``sum``.
- **A pair of totals** (in the ``debit`` and ``credit`` columns): each is compared with its own
  column's rows; a blank one is not compared.

While some rows cannot be counted (their amount or direction could not be read), the line is not
checked: how many rows were left out is said instead of a sum that means nothing.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun import money
from ledgerrun.control_total import ControlTotal
from ledgerrun.ingest.amounts import Amounts, notation
from ledgerrun.ingest.read import Ledger
from ledgerrun.ingest.validation import Collector
from ledgerrun.job import Job
from ledgerrun.vocab import shown


def control_total(
    ledger: Ledger, out: Collector, currency: pa.Array, found: Amounts, job: Job
) -> ControlTotal | None:
    """Check the ledger's totals line (if it has one) against the sum of its rows."""
    line = ledger.totals
    if line is None:
        return None
    cells = line.cells
    pair = [name for name in ("debit", "credit") if cells.get(name)]
    single = next((name for name in ("amount", "amount_minor") if cells.get(name)), None)
    if not pair and single is None:
        return None  # a "Total" label with no figure: nothing to compare
    code = (cells.get("currency") or "").lower() or (job.reading.currency or "")
    named = code if money.is_currency(code) else None
    direction = found.direction
    known = pc.is_in(direction, value_set=pa.array(["debit", "credit"]))
    scope = pc.equal(currency, named) if named else pa.repeat(True, len(currency))
    counted = pc.and_(scope, pc.and_(pc.is_valid(found.minor), known))
    uncounted = int(pc.sum(pc.cast(pc.and_(scope, pc.invert(counted)), pa.int64())).as_py() or 0)
    debits, credits = (
        _sums(currency, found.minor, direction, counted, "debit"),
        _sums(currency, found.minor, direction, counted, "credit"),
    )
    kept = pc.unique(pc.filter(currency, counted)).to_pylist()
    places = (
        money.exponent(named)
        if named
        else max((money.exponent(c) for c in kept if money.is_currency(c)), default=2)
    )
    only = named or (kept[0] if len(kept) == 1 else None)
    debit_sum, credit_sum = _total(debits), _total(credits)
    figures = {"debits": _written(debit_sum, places), "credits": _written(credit_sum, places)}
    if pair:
        column = pair[0]
        stated = {n: _stated(cells.get(n, ""), False, places, job, only) for n in pair}
        wanted = {"debit": debit_sum, "credit": credit_sum}
        result = ControlTotal(
            row=line.row,
            stated=_show(cells.get("debit", ""), stated.get("debit"), places),
            computed=figures["debits"],
            currency=named or only,
            matches=uncounted == 0 and all(stated[n] == wanted[n] for n in pair),
            basis="columns",
            stated_credits=_show(cells.get("credit", ""), stated.get("credit"), places),
            uncounted=uncounted,
            **figures,
        )
        if result.matches or uncounted:
            return result
        wrong = [n for n in pair if stated[n] != wanted[n]]
        for name in wrong:
            _mismatch(out, line.row, name, cells[name], stated[name], wanted[name], places, named)
        return result
    assert single is not None
    column = single
    value = _stated(cells[single], single == "amount_minor", places, job, only)
    net, gross = debit_sum - credit_sum, debit_sum + credit_sum
    if not credit_sum:
        alternatives = [("sum", debit_sum)]
    elif not debit_sum:  # only credits: their total may be written as it is, or as a net
        alternatives = [("sum", credit_sum), ("net", net)]
    else:
        alternatives = [("net", net), ("gross", gross)]
    matched = next(((b, v) for b, v in alternatives if value == v), None)
    basis, computed = matched or alternatives[0]
    result = ControlTotal(
        row=line.row,
        stated=_show(cells[single], value, places),
        computed=_written(computed, places),
        currency=named or only,
        matches=uncounted == 0 and matched is not None,
        basis=basis,
        uncounted=uncounted,
        **figures,
    )
    flagged = {(p.row, p.column) for p in ledger.read_problems}
    if result.matches or uncounted or (line.row, ledger.headers.get(column, column)) in flagged:
        return result  # a cell error on the line is reported as such, not as a mismatch
    scope_words = f"{named.upper()} rows" if named else "rows"
    if value is None:
        message = (
            f"The totals line's amount '{result.stated}' is not a number ledgerrun can read; the "
            f"{scope_words} above add up to {result.computed}."
        )
    elif len(alternatives) == 1:
        difference = _written(abs(value - computed), places)
        message = (
            f"The totals line says {result.stated} but the {scope_words} above add up to "
            f"{result.computed} (a difference of {difference}): a row is missing, extra or "
            "mistyped, or the total is out of date."
        )
    else:
        message = (
            f"The totals line says {result.stated} but the {scope_words} above come to "
            f"{_written(net, places)} net (debits {figures['debits']} less credits "
            f"{figures['credits']}) or {_written(gross, places)} gross: a row is missing, extra "
            "or mistyped, or the total is out of date."
        )
    out.at(line.row, column, "control_total_mismatch", cells[single], message)
    return result


def _sums(
    currency: pa.Array, minor: pa.Array, direction: pa.Array, counted: pa.Array, way: str
) -> dict[str, int]:
    chosen = pc.and_(counted, pc.equal(direction, way))
    kept, amounts = pc.filter(currency, chosen), pc.filter(minor, chosen)
    return {
        cur: money.exact_sum(pc.filter(amounts, pc.equal(kept, cur)))
        for cur in pc.unique(kept).to_pylist()
    }


def _total(sums: dict[str, int]) -> Decimal:
    """Minor units per currency, added in major units as a spreadsheet adds them."""
    return sum(
        (
            Decimal(total).scaleb(-(money.exponent(cur) if money.is_currency(cur) else 0))
            for cur, total in sums.items()
        ),
        Decimal(0),
    )


def _stated(
    text: str, in_minor: bool, places: int, job: Job, currency: str | None
) -> Decimal | None:
    """The totals line's figure as a decimal in major units; None when it cannot be read."""
    if in_minor:
        if not re.fullmatch(r"-?[0-9]+", text):
            return None
        return Decimal(int(text)).scaleb(-places)
    try:
        return money.read_total(text, notation=notation(job), currency=currency)
    except money.AmountError:
        return None


def _mismatch(
    out: Collector,
    row: int,
    column: str,
    text: str,
    stated: Decimal | None,
    computed: Decimal,
    places: int,
    named: str | None,
) -> None:
    rows = f"the {named.upper()} {column}s" if named else f"the {column}s"
    header = out.ledger.headers.get(column, column)
    if stated is None:
        message = (
            f"The totals line's {header} '{shown(text)}' is not a number ledgerrun can read; "
            f"{rows} above add up to {_written(computed, places)}."
        )
    else:
        message = (
            f"The totals line's {header} says {_written(stated, places)} but {rows} above add up "
            f"to {_written(computed, places)} (a difference of "
            f"{_written(abs(stated - computed), places)}): a row is missing, extra or mistyped, "
            "or the total is out of date."
        )
    out.at(row, column, "control_total_mismatch", text, message)


def _show(text: str, value: Decimal | None, places: int) -> str:
    return shown(text) if value is None else _written(value, places)


def _written(value: Decimal, places: int) -> str:
    """``12,345.67``: thousands separated, at least the currency's decimals."""
    exponent = value.normalize().as_tuple().exponent
    shown_places = max(places, -exponent if isinstance(exponent, int) else 0)
    return f"{value:,.{shown_places}f}"
