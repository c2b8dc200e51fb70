"""Turning records into row values and back, the same way for every SQL store.

Times are stored as ISO 8601 text in UTC with microseconds (and must be timezone-aware going
in); dictionaries as compact JSON; booleans as 0/1. Column order is the dataclass's field order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from ledgerrun.errors import JournalError
from ledgerrun.store import schema

T = TypeVar("T")
CHUNK = 500  # values per IN (...) query: well below every engine's limit on bound parameters


def ts(value: dt.datetime | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise JournalError(f"{what} must be a timezone-aware datetime, got {value!r}")
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat(timespec="microseconds")


def to_json(value: object, what: str) -> str:
    try:
        return schema.dumps(value)
    except (TypeError, ValueError) as exc:
        raise JournalError(f"{what} cannot be stored as JSON: {exc}") from exc


def encode(obj: Any, columns: Sequence[str] | None = None) -> list[Any]:
    """A record's values in column order, ready to bind."""
    names = columns or [f.name for f in dataclasses.fields(obj)]
    label = getattr(obj, "key", None) or getattr(obj, "run_id", None) or type(obj).__name__
    values = []
    for name in names:
        value = getattr(obj, name)
        if name in schema.TIME_COLUMNS:
            value = ts(value, name)
        elif value is not None and name in schema.JSON_COLUMNS:
            value = to_json(value, f"{name} of {label}")
        elif isinstance(value, bool):
            value = int(value)
        values.append(value)
    return values


def encoder(columns: Sequence[str]) -> Callable[[Any], list[Any]]:
    """A fast record -> row values converter for one table's columns (what :func:`encode` does,
    for records without booleans: an intent is encoded once, on every send's path)."""
    get = operator.attrgetter(*columns)
    times = [(i, name) for i, name in enumerate(columns) if name in schema.TIME_COLUMNS]
    documents = [(i, name) for i, name in enumerate(columns) if name in schema.JSON_COLUMNS]

    def encode_record(obj: Any) -> list[Any]:
        values = list(get(obj))
        for i, name in times:
            values[i] = ts(values[i], name)
        for i, name in documents:
            if values[i] is not None:
                try:
                    values[i] = schema.dumps(values[i])
                except (TypeError, ValueError) as exc:
                    label = getattr(obj, "key", type(obj).__name__)
                    message = f"{name} of {label} cannot be stored as JSON: {exc}"
                    raise JournalError(message) from exc
        return values

    return encode_record


def decoder(
    cls: Callable[..., T], columns: Sequence[str], booleans: Iterable[str] = ()
) -> Callable[[Sequence[Any]], T]:
    """A fast row -> dataclass converter (a re-run may decode a million entries)."""
    convert: dict[str, Callable[[Any], Any]] = dict.fromkeys(schema.JSON_COLUMNS, load)
    convert |= dict.fromkeys(schema.TIME_COLUMNS, _time)
    convert |= dict.fromkeys(booleans, bool)
    plan = [(i, convert[name]) for i, name in enumerate(columns) if name in convert]

    def decode(row: Sequence[Any]) -> T:
        values = list(row)
        for i, function in plan:
            if values[i] is not None:
                values[i] = function(values[i])
        return cls(*values)

    return decode


def load(value: Any) -> Any:
    """A JSON column's value as Python (PostgreSQL may hand it over decoded already)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return dt.datetime.fromisoformat(str(value))


def cols(columns: Sequence[str]) -> str:
    return ", ".join(columns)


def marks(values: Iterable[object]) -> str:
    return ", ".join("?" for _ in values)


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """INSERT that replaces the row with the same key (SQLite and PostgreSQL alike)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({cols(columns)}) VALUES ({marks(columns)})"
        f" ON CONFLICT ({cols(key)}) DO UPDATE SET {updates}"
    )


def batches(values: Iterable[str]) -> Iterator[list[str]]:
    items = iter(values)
    return iter(lambda: list(itertools.islice(items, CHUNK)), [])


def with_attempts(values: dict[str, Any], attempts: int) -> dict[str, Any]:
    if attempts < 0:
        raise JournalError(f"attempts cannot go down (count {attempts})")
    return {**values, "attempts": attempts} if attempts else values
