"""Amounts of money: reading them from a ledger, converting them to minor units, printing them.

Every amount ledgerrun sends to Stripe is an integer count of the currency's minor unit (cents for
USD, yen for JPY, fils/1000 of a dinar for BHD). This module is the only place where text becomes
such an integer, and it follows one principle: an amount is either read exactly as written or it is
rejected with a reason. Nothing is ever rounded, and text never passes through a float.

Currencies
    ``CURRENCY_EXPONENTS`` maps every active ISO 4217 alphabetic code (lower-case) to the number of
    decimal places the product uses for it. These follow Stripe, not ISO's minor-unit column:

    * 0 for BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF;
    * 3 for BHD JOD KWD OMR TND;
    * 2 for every other code (including ISK, HUF, CLF, IQD and LYD, and the funds, metals and
      special codes such as BOV, XAU, XDR and XTS, and the code for "no currency").

    Codes are matched without regard to case, but only plain ASCII letters count (so a look-alike
    such as the Kelvin sign in "\\u212aWD" is not KWD).

Amounts written in major units (``amount``, e.g. dollars)
    A plain positive decimal number: ASCII digits, optionally one ``.`` followed by at least one
    digit. ``15``, ``15.5``, ``15.00``, ``015.50`` are fine. The whole-number part may use commas
    between thousands, but only in correct groups of three (``1,500``, ``12,345,678.90``); a grouped
    number may not start with 0, so ``0,500`` (a European way to write one half) is refused rather
    than read as five hundred. Refused outright (``bad_amount``): currency symbols, spaces,
    exponents (``1e3``), a ``+`` sign, ``.5``, ``5.``, two dots, wrong comma groups, non-ASCII
    digits, anything else. A leading ``-`` on an otherwise readable number, and any amount equal to
    zero, is ``non_positive_amount``: a debit must be for more than nothing.

Amounts written in minor units (``amount_minor``, e.g. cents)
    A plain positive whole number: ASCII digits only. A leading ``-`` on digits, or zero, is
    ``non_positive_amount``; anything else that is not just digits is ``bad_amount``.

Conversion to minor units
    An amount with more decimal places than its currency allows is ``too_many_decimals``; it is
    never rounded. Extra zeros at the end are harmless (``15.500`` USD is 1550, ``1200.00`` JPY is
    1200). Stripe only takes three-decimal currencies in multiples of 10 minor units, so for those
    the last minor digit must be 0: ``12.34`` and ``12.340`` BHD are 12340, ``12.345`` BHD is
    ``too_many_decimals``, and so is an ``amount_minor`` of ``12345`` in BHD. Anything above
    ``MAX_MINOR`` (10**15 - 1) minor units is ``bad_amount``: it is not a real amount, and it would
    risk overflowing a 64-bit integer downstream.

When several problems apply, the first of these is reported: ``empty_value``, ``bad_amount``
(unreadable), ``non_positive_amount``, ``too_many_decimals``, ``bad_amount`` (too large).

The scalar functions (``parse_major``, ``parse_minor``) are the specification. The array functions
(``parse_major_array``, ``parse_minor_array``) do the same for a whole ledger column with
``pyarrow.compute`` and must give the same code and value for every input. Where a row's exponent is
unknown (its currency is not recognised) the array functions still report the problems that do not
depend on the currency (``empty_value``, unreadable ``bad_amount``, ``non_positive_amount``: what
``check_major_text`` and ``check_minor_text`` report), never ``too_many_decimals`` or "too large",
and give no value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CODES",
    "CURRENCY_EXPONENTS",
    "MAX_MINOR",
    "MESSAGES",
    "AmountError",
    "check_major_text",
    "check_minor_text",
    "exponent",
    "format_major",
    "is_currency",
    "parse_major",
    "parse_major_array",
    "parse_minor",
    "parse_minor_array",
]

# --- currencies --------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_ZERO_DECIMAL: Final = frozenset(
    _words("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf")
)
_THREE_DECIMAL: Final = frozenset(_words("bhd jod kwd omr tnd"))

# Active ISO 4217 alphabetic codes (list one), as of late 2026. Withdrawn codes are left out on
# purpose: HRK (Croatia, euro since 2023), ZWL (replaced by ZWG in 2024), ANG (replaced by XCG in
# 2025), BGN (Bulgaria, euro since 2026).
_ACTIVE_CODES: Final = _words("""
    aed afn all amd aoa ars aud awg azn bam bbd bdt bhd bif bmd bnd bob bov brl bsd btn bwp byn bzd
    cad cdf che chf chw clf clp cny cop cou crc cuc cup cve czk djf dkk dop dzd egp ern etb eur fjd
    fkp gbp gel ghs gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr iqd irr isk jmd jod jpy kes kgs
    khr kmf kpw krw kwd kyd kzt lak lbp lkr lrd lsl lyd mad mdl mga mkd mmk mnt mop mru mur mvr mwk
    mxn mxv myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar
    sbd scr sdg sek sgd shp sle sll sos srd ssp stn svc syp szl thb tjs tmt tnd top try ttd twd tzs
    uah ugx usd usn uyi uyu uyw uzs ved ves vnd vuv wst xaf xag xau xba xbb xbc xbd xcd xcg xdr xof
    xpd xpf xpt xsu xts xua xxx yer zar zmw zwg
""")


def _build_table() -> Mapping[str, int]:
    table: dict[str, int] = {}
    for code in sorted(_ACTIVE_CODES):
        if code in table:  # pragma: no cover - guards against an edit that repeats a code
            raise AssertionError(f"currency {code} listed twice")
        table[code] = 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2
    if not table.keys() >= _ZERO_DECIMAL | _THREE_DECIMAL:  # pragma: no cover
        raise AssertionError("an exponent class names a code missing from the table")
    return MappingProxyType(table)


CURRENCY_EXPONENTS: Final[Mapping[str, int]] = _build_table()
"""Lower-case ISO 4217 code -> number of decimal places (0, 2 or 3). Read-only."""

_EXPONENTS: Final = (0, 2, 3)
_SCALE: Final[Mapping[int, int]] = MappingProxyType({exp: 10**exp for exp in _EXPONENTS})

MAX_MINOR: Final = 10**15 - 1
"""The largest amount, in minor units, ledgerrun accepts."""

_MAX_MINOR_DIGITS: Final = len(str(MAX_MINOR))  # 15


def _normal_code(code: object) -> str | None:
    if isinstance(code, str) and code.isascii():
        return code.lower()
    return None


def is_currency(code: str) -> bool:
    """True if ``code`` is an active ISO 4217 code, in any letter case."""
    normal = _normal_code(code)
    return normal is not None and normal in CURRENCY_EXPONENTS


def exponent(code: str) -> int:
    """Decimal places of ``code`` (any letter case); ``KeyError`` if it is not a known currency."""
    normal = _normal_code(code)
    if normal is None or normal not in CURRENCY_EXPONENTS:
        raise KeyError(code)
    return CURRENCY_EXPONENTS[normal]


# --- errors ------------------------------------------------------------------------------------

CODES: Final = ("empty_value", "bad_amount", "non_positive_amount", "too_many_decimals")
"""Every value ``AmountError.code`` can take (and every non-null code the array forms return)."""

MESSAGES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "empty_value": "The amount is empty.",
        "bad_amount": (
            "The amount is not a number ledgerrun can read, or it is too large to be a real "
            "amount. Write plain digits such as 1500, 1500.00 or 1,500.00, with no currency "
            "symbol, sign, spaces or exponent."
        ),
        "non_positive_amount": "The amount is zero or negative; a debit must be more than zero.",
        "too_many_decimals": (
            "The amount has more decimal places than its currency allows; ledgerrun never rounds "
            "an amount, so please correct it."
        ),
    }
)
"""A general sentence per code, for reporting the codes the array forms return."""


class AmountError(ValueError):
    """An amount that cannot be debited as written. ``code`` is one of ``CODES``."""

    code: str
    message: str

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in CODES:
            raise ValueError(f"unknown amount error code {code!r}")
        text = MESSAGES[code] if message is None else message
        super().__init__(code, text)
        self.code = code
        self.message = text

    def __str__(self) -> str:
        return self.message


def _show(text: str) -> str:
    """The offending text, quoted and shortened, safe to put in a message or a log line."""
    if len(text) > 40:
        text = text[:37] + "..."
    return repr(text)


def _check_exp(exp: object) -> int:
    if type(exp) is not int or exp not in _EXPONENTS:
        raise ValueError(f"exponent must be one of {_EXPONENTS}, got {exp!r}")
    return exp


def _max_places(exp: int) -> int:
    """Significant decimal places allowed in a major amount (3-decimal currencies: only 2)."""
    return 2 if exp == 3 else exp


def _too_large(text: str, exp: int, *, minor_units: bool) -> AmountError:
    if minor_units:
        limit = f"{MAX_MINOR} minor units"
    else:
        largest = MAX_MINOR - MAX_MINOR % 10 if exp == 3 else MAX_MINOR
        limit = format_major(largest, exp, grouping=True)
    return AmountError(
        "bad_amount",
        f"The amount {_show(text)} is too large to be a real amount: the most ledgerrun accepts "
        f"is {limit}.",
    )


# --- scalar parsing (the specification) ---------------------------------------------------------

# Shared by the scalar (Python ``re``) and array (RE2) forms so both read the same grammar. The
# whole-number part is either plain digits (leading zeros allowed) or comma-grouped thousands that
# start with a non-zero digit. ``[0-9]`` rather than ``\d`` so that only ASCII digits count.
_MAJOR_GRAMMAR: Final = (
    r"(?P<sign>-?)(?P<int>[0-9]+|[1-9][0-9]{0,2}(?:,[0-9]{3})+)(?:\.(?P<frac>[0-9]+))?"
)
_MINOR_GRAMMAR: Final = r"(?P<sign>-?)(?P<digits>[0-9]+)"
_MAJOR_RE: Final = re.compile(_MAJOR_GRAMMAR)
_MINOR_RE: Final = re.compile(_MINOR_GRAMMAR)


def _require_str(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"an amount must be read from text, got {type(text).__name__}")
    return text


def _major_digits(text: str) -> tuple[str, str]:
    """Check everything about a major amount that does not depend on the currency.

    Returns the whole-number digits without commas or leading zeros, and the decimal digits
    without trailing zeros. Either may be empty, but not both (that would be zero).
    """
    text = _require_str(text)
    if text == "":
        raise AmountError("empty_value")
    match = _MAJOR_RE.fullmatch(text)
    if match is None:
        raise AmountError(
            "bad_amount",
            f"The amount {_show(text)} is not a number ledgerrun can read. Write plain digits "
            "such as 1500, 1500.00 or 1,500.00 (commas only between groups of three), with no "
            "currency symbol, sign, spaces or exponent, and at least one digit on each side of "
            "the decimal point.",
        )
    whole = match["int"].replace(",", "").lstrip("0")
    fraction = (match["frac"] or "").rstrip("0")
    if match["sign"] or (whole == "" and fraction == ""):
        raise AmountError(
            "non_positive_amount",
            f"The amount {_show(text)} is not positive; a debit must be more than zero.",
        )
    return whole, fraction


def _minor_digits(text: str) -> str:
    """Check a minor amount's text; return its digits without leading zeros (never empty)."""
    text = _require_str(text)
    if text == "":
        raise AmountError("empty_value")
    match = _MINOR_RE.fullmatch(text)
    if match is None:
        raise AmountError(
            "bad_amount",
            f"The minor-unit amount {_show(text)} is not a whole number. Write the amount in the "
            "currency's smallest unit (e.g. cents) as plain digits, such as 150000, with no "
            "separators, decimal point, sign or spaces.",
        )
    digits = match["digits"].lstrip("0")
    if match["sign"] or digits == "":
        raise AmountError(
            "non_positive_amount",
            f"The amount {_show(text)} is not positive; a debit must be more than zero.",
        )
    return digits


def check_major_text(text: str) -> None:
    """Raise ``AmountError`` for the problems of a major amount that hold in any currency."""
    _major_digits(text)


def check_minor_text(text: str) -> None:
    """Raise ``AmountError`` for the problems of a minor amount that hold in any currency."""
    _minor_digits(text)


def parse_major(text: str, exp: int) -> int:
    """Read a major-unit amount (``"1,500.00"``) as an exact count of minor units (``150000``).

    ``exp`` is the currency's exponent (0, 2 or 3). Raises ``AmountError`` for anything that is not
    exactly representable, positive and at most ``MAX_MINOR``; never rounds.
    """
    exp = _check_exp(exp)
    whole, fraction = _major_digits(text)
    if len(fraction) > _max_places(exp):
        if exp == 0:
            detail = "this currency has no decimal places; write a whole number"
        elif exp == 3:
            detail = (
                "this currency can only be debited in steps of 0.01 (the third decimal must be 0)"
            )
        else:
            detail = f"this currency has {exp} decimal places"
        raise AmountError(
            "too_many_decimals",
            f"The amount {_show(text)} has too many decimal places: {detail}. "
            "ledgerrun never rounds an amount, so please correct it.",
        )
    # ``whole`` has no leading zeros, so its length says how big the amount is; checking the
    # length first also keeps ``int`` away from absurdly long strings.
    if len(whole) + exp > _MAX_MINOR_DIGITS:
        raise _too_large(text, exp, minor_units=False)
    minor = int(whole or "0") * _SCALE[exp] + int(fraction.ljust(exp, "0") or "0")
    if minor > MAX_MINOR:  # pragma: no cover - implied by the length check above
        raise _too_large(text, exp, minor_units=False)
    return minor


def parse_minor(text: str, exp: int) -> int:
    """Read a minor-unit amount (``"150000"``) as an integer, checked against the currency."""
    exp = _check_exp(exp)
    digits = _minor_digits(text)
    if exp == 3 and not digits.endswith("0"):
        raise AmountError(
            "too_many_decimals",
            f"The minor-unit amount {_show(text)} does not end in 0: this currency can only be "
            "debited in steps of 10 minor units. ledgerrun never rounds an amount, so please "
            "correct it.",
        )
    if len(digits) > _MAX_MINOR_DIGITS:
        raise _too_large(text, exp, minor_units=True)
    return int(digits)


def format_major(minor: int, exp: int, *, grouping: bool = False) -> str:
    """Write ``minor`` units as a major amount with exactly ``exp`` decimals.

    ``format_major(150000, 2) == "1500.00"``, with ``grouping=True`` ``"1,500.00"``;
    ``format_major(12340, 3) == "12.340"``. A negative amount gets a leading ``-``.
    """
    if type(minor) is not int:
        raise TypeError(f"minor must be an int, got {type(minor).__name__}")
    exp = _check_exp(exp)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), _SCALE[exp])
    whole_text = f"{whole:,}" if grouping else str(whole)
    if exp == 0:
        return sign + whole_text
    return f"{sign}{whole_text}.{fraction:0{exp}d}"


# --- array parsing -----------------------------------------------------------------------------


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
        values = values.cast(pa.string())
    return values


def _exp_array(exps: Any, length: int) -> pa.Array | pa.ChunkedArray:
    if not isinstance(exps, pa.Array | pa.ChunkedArray):
        raise TypeError(f"exps must be a pyarrow array, got {type(exps).__name__}")
    if len(exps) != length:
        raise ValueError(f"values has {length} rows but exps has {len(exps)}")
    if not (pa.types.is_integer(exps.type) or pa.types.is_null(exps.type)):
        raise TypeError(f"exps must be an integer array, got {exps.type}")
    exps = exps.cast(pa.int32())
    known = pc.is_in(exps, value_set=pa.array(_EXPONENTS, pa.int32()))
    if pc.all(pc.or_(known, pc.is_null(exps)), min_count=0).as_py() is not True:
        raise ValueError(f"every exponent must be one of {_EXPONENTS} or null")
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
    return pc.case_when(
        pc.make_struct(*conditions, field_names=names),
        "empty_value",
        "bad_amount",
        "non_positive_amount",
        "too_many_decimals",
        "bad_amount",
    ).cast(pa.string())


_I64: Final = pa.int64()
# No pyarrow scalars at import time: the first conversion of a Python value runs pyarrow's
# pandas probe, which the executable answers cheaply only after its imports (ledgerrun.startup).


def parse_major_array(values: Any, exps: Any) -> tuple[pa.Array, pa.Array]:
    """``parse_major`` over a column: returns ``(minor int64, code string)`` (chunked when the
    input is chunked).

    ``minor`` is null wherever ``code`` is not null or the exponent is null. A null in ``values``
    is treated as an empty cell.
    """
    text = _string_array(values)
    exp = _exp_array(exps, len(text))
    text = pc.fill_null(text, "")

    empty = pc.equal(text, "")
    # One regex pass validates the text (RE2 is fast when it need not extract groups). The value
    # is then found with cheap kernels and integer arithmetic, in a way independent of the
    # scalar code, which the tests check the two against. For a row that matched:
    #   digits   all its digits, without sign, commas or point: "1,500.50" -> "150050"
    #   places   how many of them come after the point:          2
    #   zeros    how many of them are trailing zeros:            1
    #   core     digits without leading and trailing zeros:      "15005"
    # so the amount is core * 10**(zeros - places) major units, and in minor units
    #   minor = core * 10**shift  with  shift = zeros - places + exp.
    # That is a whole number iff shift >= 0, and (as core does not end in 0) a multiple of 10
    # iff shift >= 1: the rule for three-decimal currencies. It has len(core) + shift digits.
    matched = pc.match_substring_regex(text, pattern=f"^{_MAJOR_GRAMMAR}$")
    negative = pc.and_(matched, pc.starts_with(text, pattern="-"))
    unsigned = pc.ascii_ltrim(text, characters="-")
    point = pc.find_substring(unsigned, pattern=".")
    places = pc.if_else(
        pc.less(point, 0), 0, pc.subtract(pc.subtract(pc.binary_length(unsigned), point), 1)
    )
    digits = pc.replace_substring(
        pc.replace_substring(unsigned, pattern=",", replacement=""), pattern=".", replacement=""
    )
    right_trimmed = pc.ascii_rtrim(digits, characters="0")
    zeros = pc.subtract(pc.binary_length(digits), pc.binary_length(right_trimmed))
    core = pc.ascii_ltrim(right_trimmed, characters="0")
    zero = pc.equal(core, "")

    exp64 = pc.cast(exp, _I64)
    shift = pc.add(pc.subtract(pc.cast(zeros, _I64), pc.cast(places, _I64)), exp64)
    readable = pc.and_(matched, pc.invert(pc.or_(negative, zero)))
    too_many = pc.and_(readable, pc.less(shift, pc.if_else(pc.equal(exp64, 3), 1, 0)))
    too_large = pc.and_(
        readable,
        pc.greater(pc.add(pc.cast(pc.binary_length(core), _I64), shift), _MAX_MINOR_DIGITS),
    )
    unreadable = pc.invert(pc.or_(matched, empty))
    non_positive = pc.and_(matched, pc.or_(negative, zero))
    codes = _codes(empty, unreadable, non_positive, too_many, too_large)

    # For a row that passed, core has at most 15 digits and 0 <= shift <= 15 - len(core).
    good = pc.fill_null(pc.and_(pc.is_null(codes), pc.is_valid(exp)), False)
    core_value = pc.cast(pc.if_else(good, core, "0"), _I64)
    ten = pa.scalar(10, _I64)
    minor = pc.multiply_checked(core_value, pc.power(ten, pc.if_else(good, shift, 0)))
    return pc.if_else(good, minor, pa.scalar(None, _I64)), codes


def parse_minor_array(values: Any, exps: Any) -> tuple[pa.Array, pa.Array]:
    """``parse_minor`` over a column: returns ``(minor int64, code string)`` as for
    ``parse_major_array``."""
    text = _string_array(values)
    exp = _exp_array(exps, len(text))
    text = pc.fill_null(text, "")

    empty = pc.equal(text, "")
    matched = pc.match_substring_regex(text, pattern=f"^{_MINOR_GRAMMAR}$")
    negative = pc.and_(matched, pc.starts_with(text, pattern="-"))
    # For a row that matched: its digits without the sign and leading zeros.
    digits = pc.ascii_ltrim(text, characters="-0")
    zero = pc.equal(digits, "")

    readable = pc.and_(matched, pc.invert(pc.or_(negative, zero)))
    too_many = pc.and_(
        readable, pc.and_(pc.equal(exp, 3), pc.invert(pc.ends_with(digits, pattern="0")))
    )
    too_large = pc.and_(
        pc.and_(readable, pc.is_valid(exp)),
        pc.greater(pc.binary_length(digits), _MAX_MINOR_DIGITS),
    )
    unreadable = pc.invert(pc.or_(matched, empty))
    non_positive = pc.and_(matched, pc.or_(negative, zero))
    codes = _codes(empty, unreadable, non_positive, too_many, too_large)

    good = pc.fill_null(pc.and_(pc.is_null(codes), pc.is_valid(exp)), False)
    minor = pc.cast(pc.if_else(good, digits, "0"), _I64)
    return pc.if_else(good, minor, pa.scalar(None, _I64)), codes
