"""Reading a job file's ``[columns]`` and ``[ledger]`` tables: how the job reads its ledger.

``[columns]`` maps ledgerrun's names to the export's headers (a composite id as a list of
headers; a debit/credit pair of amount columns); ``[ledger]`` says how the export writes what is
in them: its currency when it has no currency column, what a negative amount means, the CSV
delimiter, the decimal mark and the format of dates in id parts. Every mistake is a
:class:`~ledgerrun.errors.ConfigError` naming its key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ledgerrun import money
from ledgerrun.errors import ConfigError
from ledgerrun.job import (
    AMOUNT_PAIR,
    CANONICAL_COLUMNS,
    DATE_FORMAT_PATTERN,
    DECIMAL_MARKS,
    DELIMITERS,
    NEGATIVES,
    Reading,
)


def unknown_key(key: str, known: list[str]) -> ConfigError:
    near = [k for k in known if k.replace("_", "") == key.replace("_", "").lower()]
    hint = f" (did you mean '{near[0]}'?)" if near else f"; known keys: {', '.join(known)}"
    return ConfigError(f"unknown key '{key}'{hint}")


def columns_of(doc: Mapping[str, Any]) -> tuple[dict[str, str], tuple[str, ...]]:
    """The ``[columns]`` mapping (canonical name -> header), and the headers of a composite id
    (``adjustment_id = ["Date", "Connected Account"]``), empty when the id is one column."""
    raw = doc.get("columns", {})
    if not isinstance(raw, dict):
        raise ConfigError("'columns' must be a table ([columns])")
    out: dict[str, str] = {}
    parts: tuple[str, ...] = ()
    for canonical, header in raw.items():
        if canonical not in CANONICAL_COLUMNS and not canonical.startswith("metadata."):
            known = [f"columns.{c}" for c in CANONICAL_COLUMNS] + ['columns."metadata.KEY"']
            raise unknown_key(f"columns.{canonical}", known)
        if canonical == "adjustment_id" and isinstance(header, list):
            parts = _id_parts(header)
            continue
        if not isinstance(header, str) or not header.strip():
            raise ConfigError(f"'columns.{canonical}' must be the header text in quotes")
        out[canonical] = header.strip()
    headers = list(out.values())
    for header in headers:
        if headers.count(header) > 1:
            raise ConfigError(f"[columns] maps the header '{header}' to more than one column")
    pair = [name for name in AMOUNT_PAIR if name in out]
    if len(pair) == 1:
        other = next(name for name in AMOUNT_PAIR if name not in out)
        raise ConfigError(
            f"'columns.{pair[0]}' needs 'columns.{other}' too: a debit and a credit column "
            "make a pair (one of them filled on each row)"
        )
    if pair and ("amount" in out or "amount_minor" in out):
        raise ConfigError(
            "[columns] maps both a debit/credit pair and an amount column: a row's amount "
            "comes from one or the other"
        )
    return out, parts


def _id_parts(value: list[Any]) -> tuple[str, ...]:
    if not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(
            "'columns.adjustment_id' must be a header in quotes, or a list of headers whose "
            'values make the id together, such as ["Date", "Connected Account"]'
        )
    parts = tuple(v.strip() for v in value)
    lowered = [p.lower() for p in parts]
    if len(set(lowered)) != len(lowered):
        raise ConfigError("'columns.adjustment_id' names the same header twice")
    return parts


def reading_of(raw: Mapping[str, Any], parts: tuple[str, ...]) -> Reading:
    """The ``[ledger]`` table (its values' types already checked): how the export writes
    currencies, signs, numbers and dates; ``parts`` are a composite id's headers."""
    currency = raw.get("currency")
    if currency is not None:
        if not money.is_currency(currency.strip()):
            raise ConfigError(f"'ledger.currency': '{currency}' is not an ISO 4217 currency code")
        currency = currency.strip().lower()
    negative = raw.get("negative", "refuse")
    if negative not in NEGATIVES:
        raise ConfigError(
            f"'ledger.negative' must be 'refuse' or 'credit' (a negative amount is a credit of "
            f"its absolute value), not '{negative}'"
        )
    delimiter = raw.get("delimiter")
    if delimiter is not None:
        if delimiter.lower() not in DELIMITERS:
            raise ConfigError(
                "'ledger.delimiter' must be one of ',', ';', '\\t' (tab) or '|' (or comma, "
                f"semicolon, tab, pipe), not {delimiter!r}"
            )
        delimiter = DELIMITERS[delimiter.lower()]
    decimal = raw.get("decimal", ".")
    if decimal not in DECIMAL_MARKS:
        raise ConfigError(f'\'ledger.decimal\' must be "." or ",", not {decimal!r}')
    date_format = raw.get("date_format")
    if date_format is not None:
        date_format = _date_format(date_format)
    return Reading(
        currency=currency,
        negative=negative,
        delimiter=delimiter,
        decimal=decimal,
        date_format=date_format,
        id_parts=parts,
    )


def _date_format(text: str) -> str:
    found = re.fullmatch(DATE_FORMAT_PATTERN, text.strip().upper())
    kinds = sorted(found[k][0] for k in "abc") if found else []
    if kinds != ["D", "M", "Y"]:
        raise ConfigError(
            f"'ledger.date_format' must name the day, month and year once each with one "
            f'separator, such as "MM/DD/YYYY", "DD.MM.YYYY" or "D-MMM-YYYY": {text!r}'
        )
    return text.strip().upper()
