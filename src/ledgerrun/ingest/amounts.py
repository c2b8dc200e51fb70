"""The checks on amounts: reading them as the job says they are written, their sign and their
column, and the limits.

A row's amount comes from ``amount`` (major units) and/or ``amount_minor``, or from an
accounting journal's pair of columns, ``debit`` and ``credit``: exactly one of them is filled on
each row and gives both the amount and the direction (both filled is ``debit_and_credit``,
neither is ``empty_value``; a zero or a lone dash counts as empty beside an amount).

Amounts are read in the job's notation (:mod:`ledgerrun.money.notation`): the row's own currency
symbol, accounting negatives and the job's decimal mark. What a negative amount means is the
job's to say (``[ledger] negative``): ``refuse`` (the default) makes it ``non_positive_amount``,
naming the setting; ``credit`` makes it a credit of its absolute value, unless the row says
it is a debit (its direction, or the Debit column), which is a contradiction and refused.

Every sum is exact (:func:`ledgerrun.money.exact_sum` or Python integers and decimals): an int64
sum could wrap round to a negative number and slip under a limit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import NamedTuple

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun import money
from ledgerrun.ingest.readings import Reporter
from ledgerrun.ingest.validation import Collector
from ledgerrun.job import Job
from ledgerrun.money.notation import Notation
from ledgerrun.vocab import money_text, shown

Parsed = tuple[pa.Array, pa.Array]
Sources = dict[str, Parsed]
NEGATIVE_FIX = (
    'If this export writes credits as negative amounts, set [ledger] negative = "credit" in the '
    "job; otherwise correct the amount."
)


@functools.cache
def currency_table() -> tuple[pa.Array, pa.Array]:
    """Currency codes and their exponents as arrays, built on first use (not at import)."""
    codes = sorted(money.CURRENCY_EXPONENTS)
    exponents = [money.CURRENCY_EXPONENTS[c] for c in codes]
    return pa.array(codes, pa.string()), pa.array(exponents, pa.int8())


def notation(job: Job) -> Notation:
    """How the job's ledgers write amounts: as finance systems write them, signed."""
    return Notation(job.reading.decimal, written=True, negatives=True)


def parse(
    columns: Mapping[str, pa.ChunkedArray], exps: pa.Array, currency: pa.Array, job: Job
) -> Sources:
    """(signed minor units, codes) for each money column the ledger has."""
    written = notation(job)
    out: Sources = {}
    for name, values in columns.items():
        if name == "amount_minor":
            out[name] = money.parse_minor_array(values, exps, negatives=True)
        else:
            out[name] = money.parse_major_array(values, exps, notation=written, currencies=currency)
    return out


def joined(first: Sources, second: Sources) -> Sources:
    """Two halves' results as one column each, without copying."""
    return {
        name: tuple(
            pa.chunked_array([*_chunks(x), *_chunks(y)], type=x.type)
            for x, y in zip(first[name], second[name], strict=True)
        )
        for name in first
    }


def _chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]


def _flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


class Amounts(NamedTuple):
    """Each row's amount (absolute minor units; null where it was refused) and direction
    (``debit``/``credit``, or a bad direction's own text), and where each amount came from:
    (column, rows, texts) for the messages of the limits."""

    minor: pa.Array
    direction: pa.Array
    sources: list[tuple[str, pa.Array, pa.Array]]


def check_amounts(
    out: Collector,
    have: set[str],
    col: Callable[[str], pa.ChunkedArray],
    currency: pa.Array,
    exps: pa.Array,
    parsed: Sources,
    stated: pa.Array,
    job: Job,
) -> Amounts:
    """Report every amount problem; return the amounts and the directions they give."""
    report = Reporter(out, currency, exps, notation(job))
    if "debit" in have and "credit" in have:
        signed, direction, sources, says_debit = _pair(out, col, parsed, stated, report)
    else:
        signed, sources = _single(out, have, col, parsed, report)
        direction = pc.if_else(pc.equal(stated, ""), job.direction, stated)
        says_debit = pc.equal(stated, "debit")
    # A negative amount whose currency is unknown has no value, but is negative all the same.
    hidden = pa.repeat(False, len(currency))
    for column, rows, text in sources if pc.any(pc.is_null(exps)).as_py() else []:
        if column not in parsed:
            continue
        marked = pc.or_(pc.match_substring(text, "-"), pc.match_substring(text, "("))
        unvalued = pc.and_(pc.is_null(parsed[column][1]), pc.is_null(exps))
        hidden = pc.or_(hidden, pc.and_(rows, pc.and_(unvalued, marked)))
    return _signs(out, signed, direction, says_debit, sources, currency, job, hidden)


def _single(
    out: Collector,
    have: set[str],
    col: Callable[[str], pa.ChunkedArray],
    parsed: Sources,
    report: Reporter,
) -> tuple[pa.Array, list[tuple[str, pa.Array, pa.Array]]]:
    """The amount of each row from ``amount`` and/or ``amount_minor`` (signed)."""
    major, minor = col("amount"), col("amount_minor")
    n = len(major)
    nothing = pa.nulls(n, pa.int64())
    if "amount" in have or "amount_minor" in have:
        out.cells(
            pc.and_(pc.equal(major, ""), pc.equal(minor, "")),
            "amount" if "amount" in have else "amount_minor",
            "empty_value",
            major if "amount" in have else minor,
            lambda v, i: "The amount is empty; every row needs an amount.",
        )
    parsed_major = parsed_minor = nothing
    if "amount" in parsed:
        parsed_major, codes = parsed["amount"]
        report.codes("amount", codes, major)
        parsed_major = report.one_reading("amount", _flat(parsed_major), codes, _flat(major))
    if "amount_minor" in parsed:
        parsed_minor, codes = parsed["amount_minor"]
        report.codes("amount_minor", codes, minor)
    if "amount" in have and "amount_minor" in have:

        def mismatch(v: str, i: int) -> str:
            return (
                f"amount '{v}' is {parsed_major[i].as_py()} minor units but amount_minor "
                f"says {shown(minor[i].as_py())}."
            )

        differ = pc.not_equal(parsed_major, parsed_minor)
        out.cells(differ, "amount", "amount_mismatch", major, mismatch)
    column = "amount" if "amount" in have else "amount_minor"
    every = pa.repeat(True, n)
    return _flat(pc.coalesce(parsed_major, parsed_minor)), [(column, every, _flat(col(column)))]


def _pair(
    out: Collector,
    col: Callable[[str], pa.ChunkedArray],
    parsed: Sources,
    stated: pa.Array,
    report: Reporter,
) -> tuple[pa.Array, pa.Array, list[tuple[str, pa.Array, pa.Array]], pa.Array]:
    """The amount and direction of each row from a Debit and a Credit column: exactly one filled
    (a zero or a lone dash beside an amount counts as empty)."""
    debit_text, credit_text = _flat(col("debit")), _flat(col("credit"))
    (debit, debit_codes), (credit, credit_codes) = parsed["debit"], parsed["credit"]

    def filled(text: pa.Array, codes: pa.Array) -> pa.Array:
        dash = pc.match_substring_regex(text, r"^[^0-9]{0,4}-[^0-9]{0,4}$")
        zero = pc.equal(codes, "non_positive_amount")
        return pc.invert(pc.or_(pc.or_(pc.equal(text, ""), dash), pc.fill_null(zero, False)))

    in_debit, in_credit = filled(debit_text, debit_codes), filled(credit_text, credit_codes)
    both, neither = pc.and_(in_debit, in_credit), pc.invert(pc.or_(in_debit, in_credit))
    headers = (out.ledger.headers.get("debit", "debit"), out.ledger.headers.get("credit", "credit"))
    out.cells(
        both,
        "debit",
        "debit_and_credit",
        debit_text,
        lambda v, i: (
            f"{headers[0]} holds '{v}' and {headers[1]} holds '{shown(credit_text[i].as_py())}': "
            "a row is a debit or a credit, not both."
        ),
    )
    blank = pc.and_(pc.equal(debit_text, ""), pc.equal(credit_text, ""))
    out.cells(
        pc.and_(neither, blank),
        "debit",
        "empty_value",
        debit_text,
        lambda v, i: f"Neither {headers[0]} nor {headers[1]} holds an amount; fill one of them.",
    )
    out.cells(
        pc.and_(neither, pc.invert(blank)),
        "debit",
        "non_positive_amount",
        debit_text,
        lambda v, i: (
            f"{headers[0]} and {headers[1]} hold no amount above zero "
            f"('{v}', '{shown(credit_text[i].as_py())}'); an amount must be above zero."
        ),
    )
    one_debit = pc.and_(in_debit, pc.invert(in_credit))
    one_credit = pc.and_(in_credit, pc.invert(in_debit))
    report.codes("debit", debit_codes, debit_text, only=one_debit)
    report.codes("credit", credit_codes, credit_text, only=one_credit)
    debit = report.one_reading("debit", _flat(debit), debit_codes, debit_text)
    credit = report.one_reading("credit", _flat(credit), credit_codes, credit_text)
    direction = pc.if_else(one_credit, "credit", "debit")
    says = pc.and_(
        pc.not_equal(stated, ""), pc.is_in(stated, value_set=pa.array(["debit", "credit"]))
    )
    out.cells(
        pc.and_(says, pc.and_(pc.or_(one_debit, one_credit), pc.not_equal(stated, direction))),
        "direction",
        "bad_direction",
        _flat(col("direction")),
        lambda v, i: (
            f"'{v}' says {stated[i].as_py()}, but the amount is in the "
            f"{headers[0] if direction[i].as_py() == 'debit' else headers[1]} column."
        ),
    )
    signed = pc.if_else(
        one_debit, debit, pc.if_else(one_credit, credit, pa.scalar(None, pa.int64()))
    )
    sources = [("debit", one_debit, debit_text), ("credit", one_credit, credit_text)]
    return signed, direction, sources, one_debit


def _signs(
    out: Collector,
    signed: pa.Array,
    direction: pa.Array,
    says_debit: pa.Array,
    sources: list[tuple[str, pa.Array, pa.Array]],
    currency: pa.Array,
    job: Job,
    hidden: pa.Array,
) -> Amounts:
    """Negative amounts, as the job says: refused, or credits of their absolute value (unless
    the row says it is a debit). ``hidden`` are negatives in a currency not known."""
    negative = pc.or_(pc.fill_null(pc.less(signed, 0), False), hidden)
    if not pc.any(negative).as_py():
        return Amounts(signed, direction, sources)

    def amount(i: int) -> str:
        value = signed[i].as_py()
        if value is None:
            return "in a currency ledgerrun does not know"
        return money_text(value, currency[i].as_py() or "")

    refused = negative
    if job.reading.negative == "credit":
        refused = pc.and_(negative, says_debit)
    for column, rows, text in sources:
        if job.reading.negative == "credit":
            out.cells(
                pc.and_(refused, rows),
                column,
                "non_positive_amount",
                text,
                lambda v, i: (
                    f"'{v}' is negative ({amount(i)}) but the row says it is a debit: under "
                    '[ledger] negative = "credit" a negative amount is a credit. Write a debit '
                    "as a positive amount, or mark the row as a credit."
                ),
                fix="Make the amount positive for a debit, or mark the row as a credit.",
            )
        else:
            out.cells(
                pc.and_(negative, rows),
                column,
                "non_positive_amount",
                text,
                lambda v, i: (
                    f"'{v}' is negative ({amount(i)}). If this export writes credits as negative "
                    'amounts, set [ledger] negative = "credit" in the job to read it as a credit.'
                ),
                fix=NEGATIVE_FIX,
            )
    credit = pc.and_(negative, pc.invert(refused))
    direction = pc.if_else(credit, "credit", direction)
    signed = pc.if_else(refused, pa.scalar(None, pa.int64()), pc.abs(signed))
    return Amounts(signed, direction, sources)
