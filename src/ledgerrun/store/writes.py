"""The journal's two writes on every send's path, an intent and an outcome, each as one
:class:`~ledgerrun.store.commit.Write` of two statements that SQLite and PostgreSQL both speak.

Each write keeps the journal's rules in its own statements, so that it can be committed with other
threads' writes without being read first:

* **an intent** is an upsert that changes an existing row only if the rules allow it (not
  succeeded; a higher generation, or the same generation with the same key and the same request
  text), then its event, written only if the row now holds this very intent;
* **an outcome** is its event, then the update, both only while the row is ``pending``.

Both statements of a write see the same row (writes are serialised), so the event is written
exactly when the change is. PostgreSQL takes each write as one statement instead
(:func:`single`: the change, and its event from the row the change returned). The last
statement's row count says whether the write applied; one that did not is looked at again by its
caller, alone, with the rules one by one (:mod:`ledgerrun.store.attempt_sql`): that is where its
error is made, or where a request written differently but meaning the same (an older version's
JSON) is let through.

Every statement's text is made once per table and shape, so each is prepared once by the
driver (SQLite's statement cache, psycopg's prepared statements).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ledgerrun.store import codec, schema
from ledgerrun.store.commit import Write
from ledgerrun.store.model import PENDING, SUCCEEDED

COLUMNS = {"adjustments": schema.ENTRY_COLUMNS, "reversals": schema.REVERSAL_COLUMNS}
ENCODE = {table: codec.encoder(columns) for table, columns in COLUMNS.items()}
REQUEST = {table: columns.index("request") for table, columns in COLUMNS.items()}
_EVENT = "INSERT INTO events (at, key, kind, run_id, generation, idempotency_key, detail)"


@functools.cache
def intent_sql(table: str) -> tuple[str, str]:
    """The upsert of an intent, guarded by the rules, and its event."""
    columns = COLUMNS[table]
    sets = ", ".join(
        f"attempts = CASE WHEN excluded.attempts > {table}.attempts THEN excluded.attempts"
        f" ELSE {table}.attempts END"
        if c == "attempts"
        else f"{c} = excluded.{c}"
        for c in columns
        if c != "key"
    )
    upsert = (
        f"INSERT INTO {table} ({codec.cols(columns)}) VALUES ({codec.marks(columns)})"
        f" ON CONFLICT (key) DO UPDATE SET {sets} WHERE {table}.state <> '{SUCCEEDED}' AND"
        f" (excluded.generation > {table}.generation OR (excluded.generation ="
        f" {table}.generation AND excluded.idempotency_key = {table}.idempotency_key AND"
        f" excluded.request = {table}.request))"
    )
    event = (
        f"{_EVENT} SELECT ?, key, ?, ?, generation, idempotency_key, ? FROM {table} WHERE key = ?"
        f" AND state = '{PENDING}' AND generation = ? AND idempotency_key = ? AND request = ?"
    )
    return upsert, event


@functools.cache
def outcome_sql(table: str, names: tuple[str, ...]) -> tuple[str, str]:
    """An outcome's event and its update of the columns ``names``, both while pending."""
    sets = ", ".join(f"{k} = {k} + ?" if k == "attempts" else f"{k} = ?" for k in names)
    event = (
        f"{_EVENT} SELECT ?, key, ?, ?, generation, idempotency_key, ? FROM {table}"
        f" WHERE key = ? AND state = '{PENDING}'"
    )
    return event, f"UPDATE {table} SET {sets} WHERE key = ? AND state = '{PENDING}'"


@functools.cache
def single(change: str) -> str:
    """``change`` (an upsert or update) and its event as one statement, for PostgreSQL, which
    takes a data-modifying ``WITH``: the event is written from the row the change returned, so
    exactly when it applied. Parameters: the change's, then the event's (at, kind, run_id,
    detail)."""
    return (
        f"WITH written AS ({change} RETURNING key, generation, idempotency_key)"
        f" {_EVENT} SELECT ?, key, ?, ?, generation, idempotency_key, ? FROM written"
    )


def intent(
    table: str, entry: Any, values: Sequence[Any], doing: str, otherwise: Callable[[], None]
) -> Write:
    """``entry``'s intent (``values``: its row, encoded), durable."""
    upsert, event = intent_sql(table)
    sent = values[REQUEST[table]]
    detail = codec.to_json({"run_id": entry.run_id}, "detail")
    kind = "reversal_intent" if table == "reversals" else "intent"
    noted = (schema.now_text(), kind, entry.run_id, detail)
    guard = (entry.key, entry.generation, entry.idempotency_key, sent)
    statements = ((upsert, values), (event, noted + guard))
    one = (single(upsert), (*values, *noted))
    return Write(doing, f"{table}:{entry.key}", statements, True, otherwise, one)


def outcome(
    table: str,
    kind: str,
    key: str,
    values: dict[str, Any],
    doing: str,
    otherwise: Callable[[], None],
) -> Write:
    """An outcome of ``kind`` (``values``: the columns it sets): not durable, and its caller
    need not wait for a commit under way."""
    detail = codec.to_json(values, "detail")
    changes = values if "attempts" in values else {**values, "attempts": 0}
    event, update = outcome_sql(table, tuple(changes))
    prefix = "reversal_" if table == "reversals" else ""
    noted = (schema.now_text(), prefix + kind, values.get("run_id"), detail)
    changed = (*changes.values(), key)
    statements = ((event, (*noted, key)), (update, changed))
    one = (single(update), (*changed, *noted))
    return Write(doing, f"{table}:{key}", statements, False, otherwise, one)
