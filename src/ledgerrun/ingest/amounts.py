"""The checks on amounts: reading them (:mod:`ledgerrun.money`), the limits, the control total.

Every sum is exact (:func:`ledgerrun.money.exact_sum` or Python integers and decimals): an int64
sum could wrap round to a negative number and slip under a limit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun import money
from ledgerrun.ingest.read import Ledger
from ledgerrun.ingest.validation import Collector
from ledgerrun.job import Job
from ledgerrun.money.scalar import MAJOR_GRAMMAR
from ledgerrun.stripe import facts
from ledgerrun.summary import ControlTotal
from ledgerrun.vocab import shown

Parsed = tuple[pa.Array, pa.Array] | None
_STATED = re.compile(MAJOR_GRAMMAR)


@functools.cache
def currency_table() -> tuple[pa.Array, pa.Array]:
    """Currency codes and their exponents as arrays, built on first use (not at import)."""
    codes = sorted(money.CURRENCY_EXPONENTS)
    exponents = [money.CURRENCY_EXPONENTS[c] for c in codes]
    return pa.array(codes, pa.string()), pa.array(exponents, pa.int8())


def parse(
    have: set[str], major: pa.Array, minor: pa.Array, exps: pa.Array
) -> tuple[Parsed, Parsed]:
    """(minor units, codes) for the amount and amount_minor columns the ledger has."""
    return (
        money.parse_major_array(major, exps) if "amount" in have else None,
        money.parse_minor_array(minor, exps) if "amount_minor" in have else None,
    )


def joined(first: tuple[Parsed, Parsed], second: tuple[Parsed, Parsed]) -> tuple[Parsed, Parsed]:
    """Two halves' results as one column each, without copying."""

    def join(a: Parsed, b: Parsed) -> Parsed:
        if a is None or b is None:
            return None
        return tuple(
            pa.chunked_array([*_chunks(x), *_chunks(y)], type=x.type)
            for x, y in zip(a, b, strict=True)
        )

    return join(first[0], second[0]), join(first[1], second[1])


def _chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]


def _largest(exp: int) -> int:
    return money.MAX_MINOR - money.MAX_MINOR % 10 if exp == 3 else money.MAX_MINOR


def _decimals_word(unit: str, exp: int, cur: str, value: str) -> str:
    if unit == "minor":
        return (
            f"'{value}' minor units is not a valid {cur} amount: {cur} moves in steps of 10 minor "
            "units, so the amount in minor units must end in 0."
        )
    if exp == 0:
        return f"'{value}' has decimals, but {cur} has none: write a whole number."
    if exp == 3:
        return (
            f"'{value}' cannot be taken in {cur}: {cur} moves in steps of 0.010 (10 minor units), "
            "so the third decimal must be 0. ledgerrun never rounds."
        )
    return (
        f"'{value}' has more than {exp} decimal places, the most {cur} has; ledgerrun never rounds."
    )


def check_amounts(
    out: Collector,
    have: set[str],
    col: Callable[[str], pa.ChunkedArray],
    currency: pa.Array,
    exps: pa.Array,
    parsed: tuple[Parsed, Parsed],
) -> pa.Array:
    """Report every amount problem; return the amounts in minor units (null where unreadable)."""
    nothing = pa.nulls(len(currency), pa.int64())
    major, minor = col("amount"), col("amount_minor")
    if "amount" in have or "amount_minor" in have:
        out.cells(
            pc.and_(pc.equal(major, ""), pc.equal(minor, "")),
            "amount" if "amount" in have else "amount_minor",
            "empty_value",
            major if "amount" in have else minor,
            lambda v, i: "The amount is empty; every row needs an amount.",
        )

    def report(column: str, unit: str, codes: pa.Array, raw: pa.ChunkedArray) -> None:
        check_text = money.check_major_text if unit == "major" else money.check_minor_text

        def unreadable(v: str, i: int) -> str:
            try:
                check_text(raw[i].as_py())
            except money.AmountError:
                if unit == "minor":
                    return f"'{v}' is not a whole number of minor units (cents): digits only."
                return (
                    f"'{v}' is not a plain amount: write digits with an optional decimal point, "
                    "such as 1500.00 or 1,500.00 (no symbol, sign, spaces or exponent)."
                )
            exp, cur = exps[i].as_py(), currency[i].as_py().upper()
            most = (
                f"{money.MAX_MINOR:,} minor units"
                if unit == "minor"
                else f"{money.format_major(_largest(exp), exp, grouping=True)} {cur}"
            )
            return f"'{v}' is too large to be a real amount: the most a row may hold is {most}."

        def decimals(v: str, i: int) -> str:
            return _decimals_word(unit, exps[i].as_py(), currency[i].as_py().upper(), v)

        words = {
            "bad_amount": unreadable,
            "non_positive_amount": lambda v, i: f"'{v}' is not above zero; an amount must be.",
            "too_many_decimals": decimals,
        }
        for code, word in words.items():
            out.cells(pc.equal(codes, code), column, code, raw, word)

    parsed_major = parsed_minor = nothing
    if parsed[0] is not None:
        parsed_major, codes = parsed[0]
        report("amount", "major", codes, major)
    if parsed[1] is not None:
        parsed_minor, codes = parsed[1]
        report("amount_minor", "minor", codes, minor)
    if "amount" in have and "amount_minor" in have:

        def mismatch(v: str, i: int) -> str:
            return (
                f"amount '{v}' is {parsed_major[i].as_py()} minor units but amount_minor "
                f"says {shown(minor[i].as_py())}."
            )

        differ = pc.not_equal(parsed_major, parsed_minor)
        out.cells(differ, "amount", "amount_mismatch", major, mismatch)
    return pc.coalesce(parsed_major, parsed_minor)


def check_limits(
    job: Job,
    out: Collector,
    currency: pa.Array,
    direction: pa.Array,
    minor: pa.Array,
    column: str,
    text: pa.Array,
) -> None:
    """Stripe's maximum per debit, the job's maximum per row, the job's maximum per ledger."""
    debit = pc.equal(direction, "debit")
    for cur, ceiling in sorted(facts.DEBIT_MAXIMUM.items()):
        exp = money.exponent(cur)
        over = pc.and_(pc.and_(debit, pc.equal(currency, cur)), pc.greater(minor, ceiling))

        def stripe_word(
            v: str, i: int, cur: str = cur, ceiling: int = ceiling, exp: int = exp
        ) -> str:
            amount = money.format_major(minor[i].as_py(), exp, grouping=True)
            most = money.format_major(ceiling, exp, grouping=True)
            return (
                f"{amount} {cur.upper()} is above Stripe's maximum for one debit, {most} "
                f"{cur.upper()}."
            )

        out.cells(over, column, "over_stripe_maximum", text, stripe_word)
    for cur, limit in sorted(job.limits.max_amount.items()):
        exp = money.exponent(cur)
        over = pc.and_(pc.equal(currency, cur), pc.greater(minor, limit))

        def word(v: str, i: int, cur: str = cur, limit: int = limit, exp: int = exp) -> str:
            amount = money.format_major(minor[i].as_py(), exp, grouping=True)
            ceiling = money.format_major(limit, exp, grouping=True)
            return f"{amount} {cur.upper()} is above the job's limit of {ceiling} per row."

        out.cells(over, column, "over_max_amount", text, word)
    valid = pc.invert(out.invalid)
    for cur, limit in sorted(job.limits.max_total.items()):
        exp = money.exponent(cur)
        for way in ("debit", "credit"):
            chosen = pc.and_(valid, pc.and_(pc.equal(currency, cur), pc.equal(direction, way)))
            total = money.exact_sum(pc.filter(minor, chosen))
            if total > limit:
                out.header(
                    "amount",
                    "over_max_total",
                    money.format_major(total, exp),
                    f"The {cur.upper()} {way}s add up to "
                    f"{money.format_major(total, exp, grouping=True)}, above the job's limit of "
                    f"{money.format_major(limit, exp, grouping=True)}.",
                )


# --- the control total -------------------------------------------------------------------------


def control_total(
    ledger: Ledger, out: Collector, currency: pa.Array, minor: pa.Array
) -> ControlTotal | None:
    """Check the ledger's totals line (if it has one) against the sum of its rows."""
    line = ledger.totals
    if line is None:
        return None
    in_minor = not line.cells.get("amount")
    column = "amount_minor" if in_minor else "amount"
    stated_text = line.cells.get(column) or ""
    code = (line.cells.get("currency") or "").lower()
    named = code if money.is_currency(code) else None
    counted = (
        pc.is_valid(minor)
        if named is None
        else pc.and_(pc.equal(currency, named), pc.is_valid(minor))
    )
    sums: dict[str, int] = {}
    kept = pc.filter(currency, counted)
    amounts = pc.filter(minor, counted)
    for cur in pc.unique(kept).to_pylist():
        sums[cur] = money.exact_sum(pc.filter(amounts, pc.equal(kept, cur)))
    exps = {cur: money.exponent(cur) for cur in sums if money.is_currency(cur)}
    places = money.exponent(named) if named else max(exps.values(), default=2)
    computed = sum(
        (Decimal(total).scaleb(-exps.get(cur, 0)) for cur, total in sums.items()), Decimal(0)
    )
    stated = _stated(stated_text, in_minor, places)
    result = ControlTotal(
        row=line.row,
        stated=shown(stated_text) if stated is None else _written(stated, places),
        computed=_written(computed, places),
        currency=named,
        matches=stated is not None and stated == computed,
    )
    flagged = {(p.row, p.column) for p in ledger.read_problems}
    if result.matches or (line.row, ledger.headers.get(column, column)) in flagged:
        return result  # a cell error on the line is reported as such, not as a mismatch
    scope = f"{named.upper()} rows" if named else "rows"
    if stated is None:
        message = (
            f"The totals line's amount '{result.stated}' is not a number ledgerrun can read; the "
            f"{scope} above add up to {result.computed}."
        )
    else:
        difference = _written(abs(stated - computed), places)
        message = (
            f"The totals line says {result.stated} but the {scope} above add up to "
            f"{result.computed} (a difference of {difference}): a row is missing, extra or "
            "mistyped, or the total is out of date."
        )
    out.at(line.row, column, "control_total_mismatch", stated_text, message)
    return result


def _stated(text: str, in_minor: bool, places: int) -> Decimal | None:
    """The totals line's amount as a decimal in major units; None when it cannot be read."""
    if in_minor:
        if not re.fullmatch(r"-?[0-9]+", text):
            return None
        return Decimal(int(text)).scaleb(-places)
    match = _STATED.fullmatch(text)
    if match is None:
        return None
    return Decimal(text.replace(",", ""))


def _written(value: Decimal, places: int) -> str:
    """``12,345.67``: thousands separated, at least the currency's decimals."""
    exponent = value.normalize().as_tuple().exponent
    shown_places = max(places, -exponent if isinstance(exponent, int) else 0)
    return f"{value:,.{shown_places}f}"
