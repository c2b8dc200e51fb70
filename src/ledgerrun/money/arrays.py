"""The vectorised twins of :mod:`ledgerrun.money.scalar`: the same rules over whole columns.

The scalar functions (``parse_major``, ``parse_minor``) are the specification. The array functions
(``parse_major_array``, ``parse_minor_array``) do the same for a whole ledger column with
``pyarrow.compute`` and must give the same code and value for every input. Where a row's exponent is
unknown (its currency is not recognised) the array functions still report the problems that do not
depend on the currency (``empty_value``, unreadable ``bad_amount``, ``non_positive_amount``: what
``check_major_text`` and ``check_minor_text`` report), never ``too_many_decimals`` or "too large",
and give no value.
"""

from __future__ import annotations

import functools
from typing import Any, Final, NamedTuple

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.money.notation import PLAIN, SPACES, Notation
from ledgerrun.money.scalar import MINOR_GRAMMAR
from ledgerrun.money.table import EXPONENTS, MAX_MINOR_DIGITS, SYMBOLS

# --- the column forms -------------------------------------------------------------------------


def _string_array(values: Any) -> pa.Array | pa.ChunkedArray:
    # Chunked columns stay chunked: every kernel below works chunk by chunk, without a copy.
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        raise TypeError(f"values must be a pyarrow array, got {type(values).__name__}")
    kind = values.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not (
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    ):
        # Never cast numbers to text here: a float column has already lost exactness.
        raise TypeError(f"amounts must be a string array, got {values.type}")
    if values.type != kind or pa.types.is_string_view(kind):
        values = pc.cast(values, pa.string())
    return values


def _exp_array(exps: Any, length: int) -> pa.Array | pa.ChunkedArray:
    if not isinstance(exps, pa.Array | pa.ChunkedArray):
        raise TypeError(f"exps must be a pyarrow array, got {type(exps).__name__}")
    if len(exps) != length:
        raise ValueError(f"values has {length} rows but exps has {len(exps)}")
    if not (pa.types.is_integer(exps.type) or pa.types.is_null(exps.type)):
        raise TypeError(f"exps must be an integer array, got {exps.type}")
    exps = pc.cast(exps, pa.int32())
    known = pc.is_in(exps, value_set=pa.array(EXPONENTS, pa.int32()))
    if pc.all(pc.or_(known, pc.is_null(exps)), min_count=0).as_py() is not True:
        raise ValueError(f"every exponent must be one of {EXPONENTS} or null")
    return exps


def _codes(
    empty: pa.Array,
    unreadable: pa.Array,
    non_positive: pa.Array,
    too_many_decimals: pa.Array,
    too_large: pa.Array,
) -> pa.Array:
    conditions = [empty, unreadable, non_positive, too_many_decimals, too_large]
    conditions = [pc.fill_null(c, False) for c in conditions]
    names = ["empty", "unreadable", "non_positive", "too_many_decimals", "too_large"]
    chosen = pc.case_when(
        pc.make_struct(*conditions, field_names=names),
        "empty_value",
        "bad_amount",
        "non_positive_amount",
        "too_many_decimals",
        "bad_amount",
    )
    return pc.cast(chosen, pa.string())


_I64: Final = pa.int64()
# No pyarrow scalars at import time: the first conversion of a Python value runs pyarrow's
# pandas probe, which the executable answers cheaply only after its imports (ledgerrun.startup).


def parse_major_array(
    values: Any, exps: Any, *, notation: Notation = PLAIN, currencies: Any = None
) -> tuple[pa.Array, pa.Array]:
    """``parse_major`` over a column: returns ``(minor int64, code string)`` (chunked when the
    input is chunked).

    ``minor`` is null wherever ``code`` is not null or the exponent is null. A null in ``values``
    is treated as an empty cell. ``currencies`` (lower-case codes, one per row) are what a symbol
    is checked against with a written ``notation``.
    """
    text = _string_array(values)
    exp = _exp_array(exps, len(text))
    text = pc.fill_null(text, "")
    if currencies is not None:
        currencies = _string_array(currencies)
        if len(currencies) != len(text):
            raise ValueError(f"values has {len(text)} rows but currencies has {len(currencies)}")

    empty = pc.equal(text, "")
    # One regex pass validates plain text (RE2 is fast when it need not extract groups); only the
    # rows a written notation adds (symbols, parentheses, a trailing minus) are taken apart with
    # their groups. What is left of every row is its number, its sign and its symbol.
    matched = pc.match_substring_regex(text, pattern=f"^{notation.plain()}$")
    negative = pc.and_(matched, pc.starts_with(text, pattern="-"))
    # (a copy of the column only when some amount has a minus to take off)
    number = pc.ascii_ltrim(text, characters="-") if pc.any(negative).as_py() else text
    foreign = None
    if notation.written:
        rest = pc.invert(pc.or_(matched, empty))
        if pc.any(rest).as_py():
            rest = _flat(rest)
            chosen = None if currencies is None else pc.filter(_flat(currencies), rest)
            parts = _written(pc.filter(_flat(text), rest), notation, chosen)

            def put(values: pa.Array | pa.ChunkedArray, written: pa.Array) -> pa.Array:
                return pc.replace_with_mask(_flat(values), rest, written)

            matched = put(matched, parts.readable)
            negative = put(negative, parts.negative)
            number = put(number, parts.number)
            foreign = put(pa.repeat(False, len(rest)), parts.foreign)
            empty, exp = _flat(empty), _flat(exp)
    # For a row that matched, its number without separators is found with cheap kernels and
    # integer arithmetic, in a way independent of the scalar code, which the tests check the two
    # against:
    #   digits   all its digits, without separators or mark:  "1,500.50" -> "150050"
    #   places   how many of them come after the decimal mark: 2
    #   zeros    how many of them are trailing zeros:          1
    #   core     digits without leading and trailing zeros:    "15005"
    # so the amount is core * 10**(zeros - places) major units, and in minor units
    #   minor = core * 10**shift  with  shift = zeros - places + exp.
    # That is a whole number iff shift >= 0, and (as core does not end in 0) a multiple of 10
    # iff shift >= 1: the rule for three-decimal currencies. It has len(core) + shift digits.
    # (Only ASCII digits follow the decimal mark, so counting bytes counts them.)
    point = pc.find_substring(number, pattern=notation.decimal)
    places = pc.if_else(
        pc.less(point, 0), 0, pc.subtract(pc.subtract(pc.binary_length(number), point), 1)
    )
    digits = number
    for mark in _SEPARATORS[notation.decimal]:
        digits = pc.replace_substring(digits, pattern=mark, replacement="")
    if foreign is None:
        plain = _plainly(matched, negative, digits, places, exp, notation)
        if plain is not None:
            return plain
    right_trimmed = pc.ascii_rtrim(digits, characters="0")
    zeros = pc.subtract(pc.binary_length(digits), pc.binary_length(right_trimmed))
    core = pc.ascii_ltrim(right_trimmed, characters="0")
    zero = pc.equal(core, "")

    exp64 = pc.cast(exp, _I64)
    shift = pc.add(pc.subtract(pc.cast(zeros, _I64), pc.cast(places, _I64)), exp64)
    refused = zero if notation.negatives else pc.or_(negative, zero)
    readable = pc.and_(matched, pc.invert(refused))
    too_many = pc.and_(readable, pc.less(shift, pc.if_else(pc.equal(exp64, 3), 1, 0)))
    too_large = pc.and_(
        readable,
        pc.greater(pc.add(pc.cast(pc.binary_length(core), _I64), shift), MAX_MINOR_DIGITS),
    )
    unreadable = pc.invert(pc.or_(matched, empty))
    if foreign is not None:  # a symbol of another currency, judged where the currency is known
        unreadable = pc.or_(unreadable, pc.and_(foreign, pc.is_valid(exp)))
    non_positive = pc.and_(matched, refused)
    codes = _codes(empty, unreadable, non_positive, too_many, too_large)

    # For a row that passed, core has at most 15 digits and 0 <= shift <= 15 - len(core).
    good = pc.fill_null(pc.and_(pc.is_null(codes), pc.is_valid(exp)), False)
    core_value = pc.cast(pc.if_else(good, core, "0"), _I64)
    ten = pa.scalar(10, _I64)
    minor = pc.multiply_checked(core_value, pc.power(ten, pc.if_else(good, shift, 0)))
    if notation.negatives:
        minor = pc.if_else(negative, pc.negate(minor), minor)
    return pc.if_else(good, minor, pa.scalar(None, _I64)), codes


def _plainly(
    matched: pa.Array | pa.ChunkedArray,
    negative: pa.Array | pa.ChunkedArray,
    digits: pa.Array | pa.ChunkedArray,
    places: pa.Array | pa.ChunkedArray,
    exp: pa.Array | pa.ChunkedArray,
    notation: Notation,
) -> tuple[pa.Array, pa.Array] | None:
    """``parse_major_array``'s result for the usual column, or None when it is not one: every
    row plain (matched, so none empty), its currency known and not of three decimals, at most
    as many decimals as the currency has, and at most 15 digits in minor units. Then no row can
    be too precise or too large, and each amount is simply its digits times
    ``10 ** (exp - places)``: no trailing zeros to count, no digits to trim, no per-row choices
    (a third of the work of the general form, which gives the same for these rows)."""
    if len(exp) == 0 or exp.null_count or not pc.all(matched).as_py():
        return None
    if pc.max(exp).as_py() >= 3:
        return None
    spare = pc.subtract(exp, places)  # decimals the amount leaves out (0 for "1.50" in usd)
    least, most = _bounds(spare)
    if least < 0:
        return None
    if _bounds(pc.add(pc.binary_length(digits), spare))[1] > MAX_MINOR_DIGITS:
        return None
    minor = pc.cast(digits, _I64)
    if least == most:
        minor = pc.multiply(minor, 10**least) if least else minor
    else:
        minor = pc.multiply(minor, pc.power(pa.scalar(10, _I64), pc.cast(spare, _I64)))
    refused = pc.equal(minor, 0)
    if not notation.negatives:
        refused = pc.or_(refused, negative)
    elif pc.any(negative).as_py():
        minor = pc.if_else(negative, pc.negate(minor), minor)
    none = pa.scalar(None, pa.string())
    codes = pc.if_else(refused, pa.scalar("non_positive_amount", pa.string()), none)
    if pc.any(refused).as_py():
        minor = pc.if_else(refused, pa.scalar(None, _I64), minor)
    return minor, codes


def _bounds(values: pa.Array | pa.ChunkedArray) -> tuple[int, int]:
    found = pc.min_max(values).as_py()
    return int(found["min"]), int(found["max"])


class _Parts(NamedTuple):
    readable: pa.Array  # matched the written grammar, one sign at most, a known symbol
    negative: pa.Array
    number: pa.Array
    foreign: pa.Array  # a symbol that is not the row's currency's


def _flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def _written(text: pa.Array, notation: Notation, currencies: pa.Array | None) -> _Parts:
    """The written notation's groups for every row (rows that do not match: not readable)."""
    found = pc.extract_regex(text, pattern=f"^{notation.pattern()}$")
    matched = pc.is_valid(found)
    found = pc.fill_null(found, {name: "" for name in _GROUPS}) if found.null_count else found

    def length_of(*names: str) -> pa.Array:
        total = pc.binary_length(pc.struct_field(found, names[0]))
        for name in names[1:]:
            total = pc.add(total, pc.binary_length(pc.struct_field(found, name)))
        return total

    opens, closes = length_of("o1", "o2"), length_of("c1", "c2")
    signs = pc.add(opens, length_of("s1", "s2", "s3", "s4"))
    pre, post = pc.struct_field(found, "pre"), pc.struct_field(found, "post")
    symbol = pc.binary_join_element_wise(pre, post, "")
    key = pc.ascii_upper(symbol)
    known = pc.or_(pc.equal(symbol, ""), pc.is_in(key, value_set=_symbol_keys()))
    one_symbol = pc.or_(pc.equal(pre, ""), pc.equal(post, ""))
    readable = pc.and_(
        pc.and_(matched, pc.equal(opens, closes)),
        pc.and_(pc.and_(pc.less_equal(signs, 1), one_symbol), known),
    )
    if currencies is None:
        owned = pc.equal(symbol, "")
    else:
        codes = pc.fill_null(_string_array(currencies), "")
        pairs = pc.binary_join_element_wise(key, codes, "\x00")
        owned = pc.or_(pc.equal(symbol, ""), pc.is_in(pairs, value_set=_owned_pairs()))
    return _Parts(
        readable=readable,
        negative=pc.equal(signs, 1),
        number=pc.struct_field(found, "num"),
        foreign=pc.and_(readable, pc.invert(owned)),
    )


# What is not a digit in a matched number: the decimal mark and the thousands separators.
_SEPARATORS: Final = {".": (",", "."), ",": (".", *SPACES, ",")}
_GROUPS: Final = ("o1", "s1", "pre", "o2", "s2", "num", "s3", "c2", "post", "s4", "c1")


@functools.cache
def _symbol_keys() -> pa.Array:
    return pa.array(sorted(SYMBOLS), pa.string())


@functools.cache
def _owned_pairs() -> pa.Array:
    """``KEY\x00currency`` for every symbol and each currency it is written for."""
    return pa.array(
        sorted(f"{key}\x00{code}" for key, codes in SYMBOLS.items() for code in codes), pa.string()
    )


def parse_minor_array(
    values: Any, exps: Any, *, negatives: bool = False
) -> tuple[pa.Array, pa.Array]:
    """``parse_minor`` over a column: returns ``(minor int64, code string)`` as for
    ``parse_major_array``."""
    text = _string_array(values)
    exp = _exp_array(exps, len(text))
    text = pc.fill_null(text, "")

    empty = pc.equal(text, "")
    matched = pc.match_substring_regex(text, pattern=f"^{MINOR_GRAMMAR}$")
    negative = pc.and_(matched, pc.starts_with(text, pattern="-"))
    # For a row that matched: its digits without the sign and leading zeros.
    digits = pc.ascii_ltrim(text, characters="-0")
    zero = pc.equal(digits, "")

    refused = zero if negatives else pc.or_(negative, zero)
    readable = pc.and_(matched, pc.invert(refused))
    too_many = pc.and_(
        readable, pc.and_(pc.equal(exp, 3), pc.invert(pc.ends_with(digits, pattern="0")))
    )
    too_large = pc.and_(
        pc.and_(readable, pc.is_valid(exp)),
        pc.greater(pc.binary_length(digits), MAX_MINOR_DIGITS),
    )
    unreadable = pc.invert(pc.or_(matched, empty))
    non_positive = pc.and_(matched, refused)
    codes = _codes(empty, unreadable, non_positive, too_many, too_large)

    good = pc.fill_null(pc.and_(pc.is_null(codes), pc.is_valid(exp)), False)
    minor = pc.cast(pc.if_else(good, digits, "0"), _I64)
    if negatives:
        minor = pc.if_else(negative, pc.negate(minor), minor)
    return pc.if_else(good, minor, pa.scalar(None, _I64)), codes


def exact_sum(values: pa.Array | pa.ChunkedArray) -> int:
    """The exact sum of an integer column (nulls left out), as a Python int.

    Arrow's own ``sum`` of an int64 column wraps around past 2**63 - 1: 9,224 rows of
    9,999,999,999,999.99 would add up to a negative number and slip under any limit. Each value is
    split into its high and low 32 bits; neither part's sum can overflow below 2**31 rows, and the
    two are joined in Python's unbounded integers.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    total = 0
    for chunk in chunks:
        if len(chunk) == 0 or chunk.null_count == len(chunk):
            continue
        numbers = pc.cast(pc.drop_null(chunk), pa.int64())
        high = pc.sum(pc.shift_right(numbers, _LOW_BITS)).as_py()
        low = pc.sum(pc.bit_wise_and(numbers, _LOW_MASK)).as_py()
        total += (high << _LOW_BITS) + low
    return total


_LOW_BITS: Final = 32
_LOW_MASK: Final = (1 << _LOW_BITS) - 1
