"""The limits on amounts: Stripe's maximum for one debit (and minimum for one charge), the
job's maximum per row, and the job's maximum per ledger, currency and direction (summed exactly:
an int64 sum could wrap round to a negative number and slip under a limit)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun import money
from ledgerrun.ingest.amounts import Amounts
from ledgerrun.ingest.validation import Collector
from ledgerrun.job import Job
from ledgerrun.stripe import facts


def check_limits(
    job: Job, out: Collector, currency: pa.Array, found: Amounts, method: pa.Array
) -> None:
    """Stripe's maximum per debit and minimum per debit by charge, the job's maximum per row,
    the job's maximum per ledger."""
    direction, minor = found.direction, found.minor
    debit = pc.equal(direction, "debit")

    def flag(over: pa.Array, code: str, word: Callable[[str, int], str]) -> None:
        for column, rows, text in found.sources:
            out.cells(pc.and_(over, rows), column, code, text, word)

    # Each row's ceiling by its currency, in one pass (not one pass per currency of the table).
    ceiling = per_currency(currency, facts.DEBIT_MAXIMUM)
    over = pc.and_(debit, pc.greater(minor, ceiling))

    def stripe_word(v: str, i: int) -> str:
        cur = str(currency[i].as_py())
        exp = money.exponent(cur)
        amount = money.format_major(minor[i].as_py(), exp, grouping=True)
        most = money.format_major(facts.DEBIT_MAXIMUM[cur], exp, grouping=True)
        return (
            f"{amount} {cur.upper()} is above Stripe's maximum for one debit, {most} {cur.upper()}."
        )

    flag(over, "over_stripe_maximum", stripe_word)
    by_charge = pc.and_(debit, pc.equal(method, "charge"))
    if pc.any(by_charge).as_py():
        _charge_minimum(by_charge, currency, minor, flag)
    for cur, limit in sorted(job.limits.max_amount.items()):
        exp = money.exponent(cur)
        over = pc.and_(pc.equal(currency, cur), pc.greater(minor, limit))

        def word(v: str, i: int, cur: str = cur, limit: int = limit, exp: int = exp) -> str:
            amount = money.format_major(minor[i].as_py(), exp, grouping=True)
            ceiling = money.format_major(limit, exp, grouping=True)
            return f"{amount} {cur.upper()} is above the job's limit of {ceiling} per row."

        flag(over, "over_max_amount", word)
    valid = pc.invert(out.invalid)
    for cur, limit in sorted(job.limits.max_total.items()):
        exp = money.exponent(cur)
        for way in ("debit", "credit"):
            chosen = pc.and_(valid, pc.and_(pc.equal(currency, cur), pc.equal(direction, way)))
            total = money.exact_sum(pc.filter(minor, chosen))
            if total > limit:
                out.header(
                    found.sources[0][0],
                    "over_max_total",
                    money.format_major(total, exp),
                    f"The {cur.upper()} {way}s add up to "
                    f"{money.format_major(total, exp, grouping=True)}, above the job's limit of "
                    f"{money.format_major(limit, exp, grouping=True)}.",
                )


def _charge_minimum(
    by_charge: pa.Array,
    currency: pa.Array,
    minor: pa.Array,
    flag: Callable[[pa.Array, str, Callable[[str, int], str]], None],
) -> None:
    """A debit by charge is a charge: Stripe refuses one below its currency's minimum."""
    under = pc.and_(by_charge, pc.less(minor, per_currency(currency, facts.CHARGE_MINIMUM)))

    def word(v: str, i: int) -> str:
        cur = str(currency[i].as_py())
        exp = money.exponent(cur)
        amount = money.format_major(minor[i].as_py(), exp, grouping=True)
        shown = money.format_major(facts.CHARGE_MINIMUM[cur], exp, grouping=True)
        return (
            f"{amount} {cur.upper()} is below Stripe's minimum for a charge, {shown} "
            f"{cur.upper()}: debit it by transfer."
        )

    flag(under, "under_charge_minimum", word)


def per_currency(currency: pa.Array, table: Mapping[str, int]) -> pa.Array:
    """Each row's value in ``table`` by its currency (null where the table has none)."""
    codes = sorted(table)
    found = pc.index_in(currency, value_set=pa.array(codes, pa.string()))
    return pc.take(pa.array([table[c] for c in codes], pa.int64()), found)
