"""How each money cell was read, in words: the problems of a money column, worded from the codes
the parser gave (:mod:`ledgerrun.money`), and the amounts that read two ways.

Kept apart from :mod:`~ledgerrun.ingest.amounts` (where an amount comes from, its sign and its
direction): this module only says what is wrong with a cell, and refuses what could mean two
amounts.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun import money
from ledgerrun.ingest.validation import Collector
from ledgerrun.money.notation import Notation
from ledgerrun.vocab import money_text, shown


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


class Reporter:
    """Words the problems of one money column from the codes the parser returned."""

    def __init__(
        self, out: Collector, currency: pa.Array, exps: pa.Array, written: Notation
    ) -> None:
        self.out, self.currency, self.exps, self.written = out, currency, exps, written

    def codes(
        self, column: str, codes: pa.Array, raw: pa.Array, only: pa.Array | None = None
    ) -> None:
        """bad_amount, non_positive_amount (zero) and too_many_decimals, on ``only``'s rows."""
        unit = "minor" if column == "amount_minor" else "major"
        currency, exps = self.currency, self.exps

        def unreadable(v: str, i: int) -> str:
            text, exp, cur = raw[i].as_py(), exps[i].as_py(), currency[i].as_py()
            try:
                if unit == "minor":
                    money.parse_minor(text, exp if exp is not None else 2, negatives=True)
                elif exp is None:
                    money.check_major_text(text, notation=self.written)
                else:
                    money.parse_major(text, exp, notation=self.written, currency=cur)
            except money.AmountError as exc:
                if "too large" in exc.message and exp is not None:
                    most = (
                        f"{money.MAX_MINOR:,} minor units"
                        if unit == "minor"
                        else f"{money.format_major(_largest(exp), exp, grouping=True)} "
                        f"{cur.upper()}"
                    )
                    return (
                        f"'{v}' is too large to be a real amount: the most a row may hold is "
                        f"{most}."
                    )
                if unit == "minor":
                    return f"'{v}' is not a whole number of minor units (cents): digits only."
                return exc.message
            return f"'{v}' is not an amount ledgerrun can read."  # pragma: no cover

        def decimals(v: str, i: int) -> str:
            return _decimals_word(unit, exps[i].as_py(), currency[i].as_py().upper(), v)

        words: dict[str, Callable[[str, int], str]] = {
            "bad_amount": unreadable,
            "non_positive_amount": lambda v, i: f"'{v}' is zero; an amount must be above zero.",
            "too_many_decimals": decimals,
        }
        for code, word in words.items():
            mask = pc.equal(codes, code)
            self.out.cells(mask if only is None else pc.and_(mask, only), column, code, raw, word)

    def one_reading(self, column: str, value: pa.Array, codes: pa.Array, raw: pa.Array) -> pa.Array:
        """``value`` without the amounts that read two ways. When a column holds amounts written
        with the other decimal mark (unreadable in the job's, readable in the other), an amount
        that also reads in the other (``1,234``: 1,234 or 1.234) could mean either: it is
        refused (bad_amount), never guessed."""
        bad = pc.equal(codes, "bad_amount")
        if column == "amount_minor" or not pc.any(bad).as_py():
            return value
        other = self.written.other()
        other_value, other_codes = money.parse_major_array(
            raw, self.exps, notation=other, currencies=self.currency
        )
        decimals = pc.fill_null(pc.equal(other_codes, "too_many_decimals"), False)
        readable = pc.or_(pc.is_null(other_codes), decimals)
        evidence = pc.indices_nonzero(pc.fill_null(pc.and_(bad, pc.is_null(other_codes)), False))
        if not len(evidence):
            return value
        first = evidence[0].as_py()
        seen = f"row {self.out.ledger.rows[first].as_py()} ('{shown(str(raw[first].as_py()))}')"
        differ = pc.fill_null(pc.not_equal(value, other_value), True)
        valued = pc.and_(pc.is_null(codes), pc.is_valid(value))
        two = pc.fill_null(pc.and_(pc.and_(valued, readable), differ), False)
        currency, written = self.currency, self.written

        def word(v: str, i: int) -> str:
            cur = currency[i].as_py() or ""
            mine = money_text(abs(value[i].as_py()), cur)
            value_there = abs(money.read_total(raw[i].as_py(), notation=other, currency=cur))
            exponent = value_there.normalize().as_tuple().exponent
            places = max(money.exponent(cur), -exponent if isinstance(exponent, int) else 0)
            theirs = f"{value_there:,.{places}f} {cur.upper()}"
            return (
                f"'{v}' reads as {mine} with a decimal '{written.decimal}' (the job's) but as "
                f"{theirs} with a decimal '{other.decimal}', as {seen} of this column is "
                "written. ledgerrun never guesses which."
            )

        fix = (
            "Set [ledger] decimal to the mark the export uses, or write the amount so it reads "
            "one way (with its decimals: 1,234.00 or 1.234,00)."
        )
        self.out.cells(two, column, "bad_amount", raw, word, fix=fix)
        return pc.if_else(two, pa.scalar(None, pa.int64()), value)
