"""The limits on amounts: Stripe's maximum for one debit (and minimum for one charge), the
job's maximum per row, and the job's maximum per ledger, currency and direction (summed exactly:
an int64 sum could wrap round to a negative number and slip under a limit)."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

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
    for cur, least in sorted(facts.CHARGE_MINIMUM.items()):
        exp = money.exponent(cur)
        under = pc.and_(pc.and_(by_charge, pc.equal(currency, cur)), pc.less(minor, least))

        def word(v: str, i: int, cur: str = cur, least: int = least, exp: int = exp) -> str:
            amount = money.format_major(minor[i].as_py(), exp, grouping=True)
            shown = money.format_major(least, exp, grouping=True)
            return (
                f"{amount} {cur.upper()} is below Stripe's minimum for a charge, {shown} "
                f"{cur.upper()}: debit it by transfer."
            )

        flag(under, "under_charge_minimum", word)
