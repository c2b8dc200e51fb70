"""Amounts of money: reading them from a ledger, converting them to minor units, printing them.

Every amount ledgerrun sends to Stripe is an integer count of the currency's minor unit (cents for
USD, yen for JPY, fils/1000 of a dinar for BHD). This module is the only place where text becomes
such an integer, and it follows one principle: an amount is either read exactly as written or it is
rejected with a reason. Nothing is ever rounded, and text never passes through a float.

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

Amounts as finance systems write them
    With a written :class:`~ledgerrun.money.notation.Notation` (how a job reads a ledger), an
    amount may also carry the row's own currency symbol or code (``$1,681.21``, ``1.234,56 €``)
    and be negative by a leading or trailing minus or accounting parentheses (``($50.00)``); the
    decimal mark may be a comma. A symbol of another currency, or no symbol at all, is
    ``bad_amount`` (never converted). With ``negatives``, a negative amount is read as a negative
    number of minor units (the job then decides what it means); zero is still
    ``non_positive_amount``.

When several problems apply, the first of these is reported: ``empty_value``, ``bad_amount``
(unreadable, or a symbol that is not the row's currency's), ``non_positive_amount``,
``too_many_decimals``, ``bad_amount`` (too large).

The scalar functions here are the specification; :mod:`ledgerrun.money.arrays` applies the
same rules to whole columns, and the currencies live in :mod:`ledgerrun.money.table`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final, NamedTuple

from ledgerrun.money.notation import PLAIN, Notation
from ledgerrun.money.table import EXPONENTS, MAX_MINOR, MAX_MINOR_DIGITS, SCALE, symbol_owners

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
    if type(exp) is not int or exp not in EXPONENTS:
        raise ValueError(f"exponent must be one of {EXPONENTS}, got {exp!r}")
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

# Shared by the scalar (Python ``re``) and array (RE2) forms so both read the same grammar (see
# :mod:`ledgerrun.money.notation`). The whole-number part is either plain digits (leading zeros
# allowed) or grouped thousands that start with a non-zero digit. ``[0-9]`` rather than ``\d``
# so that only ASCII digits count.
MAJOR_GRAMMAR: Final = PLAIN.plain()
MINOR_GRAMMAR: Final = r"(?P<sign>-?)(?P<digits>[0-9]+)"
_MINOR_RE: Final = re.compile(MINOR_GRAMMAR)


@functools.cache
def _compiled(notation: Notation) -> re.Pattern[str]:
    return re.compile(notation.pattern())


def _require_str(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"an amount must be read from text, got {type(text).__name__}")
    return text


class _Read(NamedTuple):
    """What a major amount's text says: digits (whole without leading zeros, decimals without
    trailing zeros), whether it is negative, and its symbol (empty when none)."""

    whole: str
    fraction: str
    negative: bool
    symbol: str


def _unreadable(text: str, notation: Notation, why: str = "") -> AmountError:
    if not notation.written:
        advice = (
            "Write plain digits such as 1500, 1500.00 or 1,500.00 (commas only between groups "
            "of three), with no currency symbol, sign, spaces or exponent, and at least one digit "
            "on each side of the decimal point."
        )
    elif notation.decimal == ".":
        advice = (
            "Write digits such as 1500.00 or 1,500.00, with the row's currency symbol if you "
            "like ($1,500.00) and a minus or parentheses for a negative ((50.00)); no exponent."
        )
    else:
        advice = (
            "Write digits with a decimal comma such as 1500,00, 1.500,00 or 1 500,00, with the "
            "row's currency symbol if you like (1.500,00 €) and a minus or parentheses for a "
            "negative ((50,00)); no exponent."
        )
    other = notation.other()
    if not why and notation.written and _compiled(other).fullmatch(text):
        if other.decimal == ",":
            why = (
                "It is written with a decimal comma; ledgerrun never guesses the decimal mark: if "
                'this export writes decimal commas, set [ledger] decimal = "," in the job.'
            )
        else:
            why = (
                'It is written with a decimal point, but the job says [ledger] decimal = ",": '
                "correct the amount, or the job's setting if the whole export uses points."
            )
    head = f"The amount {_show(text)} is not a number ledgerrun can read."
    return AmountError("bad_amount", " ".join(part for part in (head, why, advice) if part))


def _read_major(text: str, notation: Notation) -> _Read:
    """Everything about a major amount that does not depend on the currency, except the sign
    rule (:func:`_signed`)."""
    text = _require_str(text)
    if text == "":
        raise AmountError("empty_value")
    match = _compiled(notation).fullmatch(text)
    if match is None:
        raise _unreadable(text, notation)
    groups = match.groupdict("")
    if notation.written:
        opens = len(groups["o1"]) + len(groups["o2"])
        closes = len(groups["c1"]) + len(groups["c2"])
        minuses = sum(len(groups[g]) for g in ("s1", "s2", "s3", "s4"))
        if opens != closes:
            raise _unreadable(text, notation, "Its parentheses do not pair up.")
        if opens + minuses > 1:
            raise _unreadable(
                text,
                notation,
                "It is marked negative twice (a minus and parentheses, or two minus signs), "
                "which could mean either sign.",
            )
        if groups["pre"] and groups["post"]:
            raise _unreadable(text, notation, "It has two currency symbols.")
        negative = opens + minuses == 1
        symbol = groups["pre"] or groups["post"]
        if symbol and not symbol_owners(symbol):
            raise AmountError(
                "bad_amount",
                f"The amount {_show(text)} carries {_show(symbol)}, which is not a currency "
                "symbol or code ledgerrun knows. Write the number with the row's own currency "
                "symbol, or none.",
            )
    else:
        negative, symbol = bool(groups["sign"]), ""
    whole, fraction = notation.digits(groups["num"])
    return _Read(whole.lstrip("0"), fraction.rstrip("0"), negative, symbol)


def _signed(text: str, read: _Read, notation: Notation) -> _Read:
    """The sign rule: zero is never an amount; a negative one only with ``notation.negatives``.
    After it, the whole and decimal digits may each be empty, but not both."""
    if (read.negative and not notation.negatives) or (read.whole == "" and read.fraction == ""):
        raise AmountError(
            "non_positive_amount",
            f"The amount {_show(text)} is not positive; a debit must be more than zero.",
        )
    return read


_MAJOR_CURRENCIES: Final = frozenset(("usd", "eur", "gbp", "jpy", "cad", "aud", "chf", "cny"))


def _check_symbol(text: str, symbol: str, currency: str | None) -> None:
    """Refuse a symbol that is not the currency's own: an amount is never converted."""
    owners = symbol_owners(symbol)
    code = (currency or "").lower()
    if code in owners:
        return
    ordered = sorted(owners, key=lambda c: (c not in _MAJOR_CURRENCIES, c))
    named = ", ".join(c.upper() for c in ordered[:3]) + (" and others" * (len(owners) > 3))
    row = f"the row's currency is {code.upper()}" if code else "the row has no currency to match"
    raise AmountError(
        "bad_amount",
        f"The amount {_show(text)} is written in {_show(symbol)} ({named}), but {row}: "
        "ledgerrun never converts an amount. Correct the amount or the currency.",
    )


def _minor_digits(text: str, negatives: bool = False) -> tuple[str, bool]:
    """Check a minor amount's text; return its digits without leading zeros (never empty) and
    whether it is negative (only with ``negatives``)."""
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
    if (match["sign"] and not negatives) or digits == "":
        raise AmountError(
            "non_positive_amount",
            f"The amount {_show(text)} is not positive; a debit must be more than zero.",
        )
    return digits, bool(match["sign"])


def check_major_text(text: str, *, notation: Notation = PLAIN) -> None:
    """Raise ``AmountError`` for the problems of a major amount that hold in any currency."""
    _signed(text, _read_major(text, notation), notation)


def check_minor_text(text: str, *, negatives: bool = False) -> None:
    """Raise ``AmountError`` for the problems of a minor amount that hold in any currency."""
    _minor_digits(text, negatives)


def parse_major(
    text: str, exp: int, *, notation: Notation = PLAIN, currency: str | None = None
) -> int:
    """Read a major-unit amount (``"1,500.00"``) as an exact count of minor units (``150000``).

    ``exp`` is the currency's exponent (0, 2 or 3). Raises ``AmountError`` for anything that is not
    exactly representable, positive and at most ``MAX_MINOR``; never rounds. With a written
    ``notation``, ``currency`` is the row's (a symbol must be its own), and with
    ``notation.negatives`` a negative amount gives a negative result.
    """
    exp = _check_exp(exp)
    read = _read_major(text, notation)
    if read.symbol:
        _check_symbol(text, read.symbol, currency)
    read = _signed(text, read, notation)
    whole, fraction = read.whole, read.fraction
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
    if len(whole) + exp > MAX_MINOR_DIGITS:
        raise _too_large(text, exp, minor_units=False)
    minor = int(whole or "0") * SCALE[exp] + int(fraction.ljust(exp, "0") or "0")
    if minor > MAX_MINOR:  # pragma: no cover - implied by the length check above
        raise _too_large(text, exp, minor_units=False)
    return -minor if read.negative else minor


def parse_minor(text: str, exp: int, *, negatives: bool = False) -> int:
    """Read a minor-unit amount (``"150000"``) as an integer, checked against the currency.
    With ``negatives``, ``-150000`` is read as a negative amount rather than refused."""
    exp = _check_exp(exp)
    digits, negative = _minor_digits(text, negatives)
    if exp == 3 and not digits.endswith("0"):
        raise AmountError(
            "too_many_decimals",
            f"The minor-unit amount {_show(text)} does not end in 0: this currency can only be "
            "debited in steps of 10 minor units. ledgerrun never rounds an amount, so please "
            "correct it.",
        )
    if len(digits) > MAX_MINOR_DIGITS:
        raise _too_large(text, exp, minor_units=True)
    return -int(digits) if negative else int(digits)


def read_total(text: str, *, notation: Notation = PLAIN, currency: str | None = None) -> Decimal:
    """A totals line's figure: the exact value of a major amount as written, zero and negative
    ones included (a net total may be either). ``AmountError`` when it cannot be read, or
    carries a symbol that is not ``currency``'s."""
    read = _read_major(text, notation)
    if read.symbol:
        _check_symbol(text, read.symbol, currency)
    value = Decimal(f"{read.whole or '0'}.{read.fraction or '0'}")
    return -value if read.negative else value


def format_major(minor: int, exp: int, *, grouping: bool = False) -> str:
    """Write ``minor`` units as a major amount with exactly ``exp`` decimals.

    ``format_major(150000, 2) == "1500.00"``, with ``grouping=True`` ``"1,500.00"``;
    ``format_major(12340, 3) == "12.340"``. A negative amount gets a leading ``-``.
    """
    if type(minor) is not int:
        raise TypeError(f"minor must be an int, got {type(minor).__name__}")
    exp = _check_exp(exp)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), SCALE[exp])
    whole_text = f"{whole:,}" if grouping else str(whole)
    if exp == 0:
        return sign + whole_text
    return f"{sign}{whole_text}.{fraction:0{exp}d}"
