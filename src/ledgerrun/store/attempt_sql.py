"""The attempts in SQL, for adjustments and reversals alike: an intent before each request and
the outcome after it, each with its event in the append-only ``events``.

The rules that protect an idempotency key live here, once, for every SQL store: a succeeded
adjustment takes no new intent; an intent cannot swap the key or parameters of its generation;
attempts never go down; an outcome needs an intent. An intent or an outcome is first written as
one guarded write (:mod:`ledgerrun.store.writes`), which the store may commit with other threads'
writes; one the guard kept out is looked at again alone, rule by rule, and refused saying why.

An outcome recorded with ``wait=False`` (the engine's) is committed with the store's next
transaction: see :mod:`ledgerrun.store.commit`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ledgerrun.errors import JournalError
from ledgerrun.store import codec, schema, writes
from ledgerrun.store.model import FAILED, PENDING, SUCCEEDED
from ledgerrun.store.run_sql import RunTables
from ledgerrun.store.sql import Conn

_OBJECT_IDS = {"adjustments": ("transfer_id", "payment_id"), "reversals": ("reversal_object_id",)}


class AttemptTables(RunTables):
    def _intent(self, table: str, entry: Any, columns: tuple[str, ...], written: str) -> None:
        what = f"{'reversal' if table == 'reversals' else 'adjustment'} {written} ({entry.key})"
        if entry.state != PENDING:
            raise JournalError(f"an intent must be {PENDING}, not {entry.state} ({what})")
        values = writes.ENCODE[table](entry)
        self._commit(
            writes.intent(
                table,
                entry,
                values,
                f"record the intent of {what}",
                lambda: self._intent_alone(table, entry, columns, values, what),
            )
        )

    def _intent_alone(
        self, table: str, entry: Any, columns: tuple[str, ...], values: list[Any], what: str
    ) -> None:
        """An intent the guarded upsert did not take, looked at rule by rule: refused with the
        rule it breaks, or written (a request stored by an older version in other JSON)."""
        sent = values[columns.index("request")]
        with self._tx(f"record the intent of {what}", write=True) as conn:
            old = conn.execute(
                f"SELECT state, generation, idempotency_key, request, attempts FROM {table}"
                " WHERE key = ?",
                (entry.key,),
            ).fetchone()
            if old is not None:
                state, generation, key, request, attempts = old
                if state == SUCCEEDED:
                    raise JournalError(f"{what} already succeeded: it must not be sent again")
                if entry.generation < generation or (
                    entry.generation == generation
                    and (key, codec.load(request)) != (entry.idempotency_key, json.loads(sent))
                ):
                    raise JournalError(
                        f"{what}: an intent of generation {entry.generation} (key "
                        f"{entry.idempotency_key}) cannot replace generation {generation} (key "
                        f"{key}); another key or other parameters need a higher generation"
                    )
                values[columns.index("attempts")] = max(int(attempts), entry.attempts)
            conn.execute(codec.upsert(table, columns, ("key",)), values)
            self._event(conn, table, entry.key, "intent", {"run_id": entry.run_id})

    def _success(
        self,
        table: str,
        key: str,
        ids: dict[str, Any],
        run_id: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int,
        wait: bool,
    ) -> None:
        values: dict[str, Any] = {"state": SUCCEEDED, "run_id": run_id, **ids}
        values |= {"request_id": request_id, "completed_at": codec.ts(completed_at, "completed_at")}
        values |= {"error_code": None, "error_message": None}
        self._update(table, "success", key, codec.with_attempts(values, attempts), wait)

    def _failure(
        self,
        table: str,
        key: str,
        run_id: str,
        error: tuple[str, str, str | None],
        completed_at: dt.datetime,
        attempts: int,
        wait: bool,
    ) -> None:
        values = _error_values(run_id, error) | {"state": FAILED}
        values["completed_at"] = codec.ts(completed_at, "completed_at")
        self._update(table, "failure", key, codec.with_attempts(values, attempts), wait)

    def _unknown(
        self,
        table: str,
        key: str,
        run_id: str,
        error: tuple[str, str, str | None],
        attempts: int,
        wait: bool,
    ) -> None:
        values = _error_values(run_id, error)
        self._update(table, "unknown", key, codec.with_attempts(values, attempts), wait)

    def _update(
        self, table: str, kind: str, key: str, values: dict[str, Any], wait: bool = True
    ) -> None:
        """An outcome: committed before this returns, or (``wait=False``) with the store's next
        transaction, its refusal then raised to the store's next writer."""
        label = "unknown outcome" if kind == "unknown" else kind
        noun = "reversal" if table == "reversals" else "adjustment"
        what = f"the {label} of {noun} {key}"
        self._commit(
            writes.outcome(
                table,
                kind,
                key,
                values,
                f"record {what}",
                lambda: self._update_alone(table, kind, key, values, what),
            ),
            wait,
        )

    def _update_alone(
        self, table: str, kind: str, key: str, values: dict[str, Any], what: str
    ) -> None:
        """An outcome for an attempt that was not pending, looked at alone: the same success
        again is nothing to do; anything else is refused, saying why."""
        ids = _OBJECT_IDS[table]
        with self._tx(f"record {what}", write=True, durable=False) as conn:
            row = conn.execute(
                f"SELECT state, {', '.join(ids)} FROM {table} WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                raise JournalError(f"cannot record {what}: the journal holds no intent for it")
            if kind == "success" and tuple(row) == (SUCCEEDED, *(values.get(i) for i in ids)):
                return
            if row[0] != PENDING:
                shown = ", ".join(str(v) for v in row[1:] if v)
                raise JournalError(
                    f"cannot record {what}: it is {row[0]} already"
                    + (f" ({shown})" if row[0] == SUCCEEDED and shown else "")
                )
            sets = ", ".join(f"{k} = {k} + ?" if k == "attempts" else f"{k} = ?" for k in values)
            conn.execute(f"UPDATE {table} SET {sets} WHERE key = ?", (*values.values(), key))
            self._event(conn, table, key, kind, values)

    @staticmethod
    def _event(conn: Conn, table: str, key: str, kind: str, detail: dict[str, Any]) -> None:
        prefix = "reversal_" if table == "reversals" else ""
        conn.execute(
            "INSERT INTO events (at, key, kind, run_id, generation, idempotency_key, detail)"
            f" SELECT ?, key, ?, ?, generation, idempotency_key, ? FROM {table} WHERE key = ?",
            (
                schema.now_text(),
                prefix + kind,
                detail.get("run_id"),
                codec.to_json(detail, "detail"),
                key,
            ),
        )


def _error_values(run_id: str, error: tuple[str, str, str | None]) -> dict[str, Any]:
    """The columns an error sets: its code, message and Stripe request id (of the run)."""
    code, message, request_id = error
    return {
        "run_id": run_id,
        "request_id": request_id,
        "error_code": code,
        "error_message": message,
    }
