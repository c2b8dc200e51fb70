"""Reversals in SQL: intents and outcomes kept exactly like adjustments (same rules, same events),
keyed by the canonical reversal id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from ledgerrun.store import codec, schema
from ledgerrun.store.journal_sql import JournalTables
from ledgerrun.store.model import ReversalEntry

_decode = codec.decoder(ReversalEntry, schema.REVERSAL_COLUMNS)
_SELECT = f"SELECT {codec.cols(schema.REVERSAL_COLUMNS)} FROM reversals"


class ReversalTables(JournalTables):
    def reversal_entries(self, keys: Iterable[str]) -> dict[str, ReversalEntry]:
        found: dict[str, ReversalEntry] = {}
        with self._tx("read reversals") as conn:
            for batch in codec.batches(keys):
                for row in conn.execute(f"{_SELECT} WHERE key IN ({codec.marks(batch)})", batch):
                    found[str(row[0])] = _decode(row)
        return found

    def reversals_of(self, adjustment_keys: Iterable[str]) -> dict[str, list[ReversalEntry]]:
        found: dict[str, list[ReversalEntry]] = {}
        with self._tx("read reversals") as conn:
            for batch in codec.batches(adjustment_keys):
                sql = f"{_SELECT} WHERE adjustment_key IN ({codec.marks(batch)}) ORDER BY key"
                for row in conn.execute(sql, batch):
                    entry = _decode(row)
                    found.setdefault(entry.adjustment_key, []).append(entry)
        return found

    def iter_reversals(self, job: str | None = None) -> Iterator[ReversalEntry]:
        sql = _SELECT + (" WHERE job = ?" if job is not None else "") + " ORDER BY key"
        with self._tx("read reversals") as conn:
            rows = list(conn.execute(sql, (job,) if job is not None else ()))
        for row in rows:
            yield _decode(row)

    def record_reversal_intent(self, entry: ReversalEntry) -> None:
        self._intent("reversals", entry, schema.REVERSAL_COLUMNS, entry.reversal_id)

    def record_reversal_success(
        self,
        key: str,
        *,
        run_id: str,
        reversal_object_id: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int = 0,
        refund_id: str | None = None,
        refund_status: str | None = None,
        wait: bool = True,
    ) -> None:
        ids: dict[str, object] = {"reversal_object_id": reversal_object_id}
        if refund_id is not None:
            ids |= {"refund_id": refund_id, "refund_status": refund_status}
        self._success("reversals", key, ids, run_id, request_id, completed_at, attempts, wait)

    def settle_refund(
        self, key: str, *, status: str, reversal_object_id: str | None, at: dt.datetime
    ) -> None:
        """A refund that was pending ended: ``succeeded`` (the money went back), or ``failed``
        or ``canceled``, when the reversal is FAILED: nothing went back, and a later reverse
        may try again under a new key."""
        values: dict[str, object] = {"refund_status": status}
        if reversal_object_id:
            values["reversal_object_id"] = reversal_object_id
        if status in ("failed", "canceled"):
            values |= {
                "state": "failed",
                "error_code": f"refund_{status}",
                "error_message": f"Stripe's refund ended {status}: nothing was reversed",
                "completed_at": codec.ts(at, "at"),
            }
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx(f"settle the refund of reversal {key}", write=True) as conn:
            changed = conn.execute(
                f"UPDATE reversals SET {sets} WHERE key = ? AND method = 'refund'",
                (*values.values(), key),
            ).rowcount
            if changed:  # the trail says what happened, and a reversal by transfer has no refund
                self._event(conn, "reversals", key, "refund_settled", {"status": status})

    def record_reversal_failure(
        self,
        key: str,
        *,
        run_id: str,
        error_code: str,
        error_message: str,
        request_id: str | None,
        completed_at: dt.datetime,
        attempts: int = 0,
        wait: bool = True,
    ) -> None:
        error = (error_code, error_message, request_id)
        self._failure("reversals", key, run_id, error, completed_at, attempts, wait)

    def record_reversal_unknown(
        self,
        key: str,
        *,
        run_id: str,
        error_code: str,
        error_message: str,
        request_id: str | None,
        attempts: int = 0,
        wait: bool = True,
    ) -> None:
        error = (error_code, error_message, request_id)
        self._unknown("reversals", key, run_id, error, attempts, wait)
