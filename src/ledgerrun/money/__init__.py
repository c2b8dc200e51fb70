"""Amounts of money: see :mod:`ledgerrun.money.scalar` for the rules (the specification)."""

from __future__ import annotations

from ledgerrun.money.scalar import (
    CODES,
    CURRENCY_EXPONENTS,
    MAX_MINOR,
    MESSAGES,
    AmountError,
    check_major_text,
    check_minor_text,
    exponent,
    format_major,
    is_currency,
    parse_major,
    parse_major_array,
    parse_minor,
    parse_minor_array,
)

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
