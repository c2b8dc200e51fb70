"""Amounts of money, exact to the minor unit.

Four modules, one rule book: :mod:`~ledgerrun.money.table` (currencies, their exponents and
symbols), :mod:`~ledgerrun.money.notation` (how amounts may be written: the grammars),
:mod:`~ledgerrun.money.scalar` (the parse and format functions: the specification) and
:mod:`~ledgerrun.money.arrays` (the same rules over whole columns, which a hypothesis test holds
to the scalar forms). Import from here: ``from ledgerrun import money``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledgerrun.money.notation import PLAIN, Notation
from ledgerrun.money.scalar import (
    CODES,
    MESSAGES,
    AmountError,
    check_major_text,
    check_minor_text,
    format_major,
    parse_major,
    parse_minor,
    read_total,
)
from ledgerrun.money.table import CURRENCY_EXPONENTS, MAX_MINOR, exponent, is_currency

if TYPE_CHECKING:
    from ledgerrun.money.arrays import exact_sum, parse_major_array, parse_minor_array

_ARRAYS = ("exact_sum", "parse_major_array", "parse_minor_array")


def __getattr__(name: str) -> Any:
    """The column functions import pyarrow: only when first used (a job file, a message or the
    ``--help`` of a command needs only the scalar rules)."""
    if name in _ARRAYS:
        from ledgerrun.money import arrays

        return getattr(arrays, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CODES",
    "CURRENCY_EXPONENTS",
    "MAX_MINOR",
    "MESSAGES",
    "PLAIN",
    "AmountError",
    "Notation",
    "check_major_text",
    "check_minor_text",
    "exact_sum",
    "exponent",
    "format_major",
    "is_currency",
    "parse_major",
    "parse_major_array",
    "parse_minor",
    "parse_minor_array",
    "read_total",
]
