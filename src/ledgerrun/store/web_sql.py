"""The web application's records in SQL: batches, approvals, the audit trail (append-only:
nothing here updates or deletes it) and the work queue that workers claim from; users, sign-ins
and sessions are :mod:`~ledgerrun.store.web_users_sql`'s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ledgerrun.errors import JournalError
from ledgerrun.store import codec, schema
from ledgerrun.store.web_users_sql import Row, WebUsers, web_record

# The records are imported from web_model when first read or written: every store has these
# tables, but only the web application's commands use them (a run never does).
if TYPE_CHECKING:
    from ledgerrun.store.web_model import (
        Approval,
        AuditEvent,
        AuditQuery,
        Batch,
        BatchQuery,
        WorkItem,
    )

_BATCH_FIELDS = {"status", "rows", "summary", "run_id", "updated_at"}  # a file never changes
_WORK_FIELDS = set(schema.WORK_COLUMNS) - {"work_id"}  # WorkItem's fields (its decoder's columns)

_batch: Callable[[Row], Batch] = codec.decoder(web_record("Batch"), schema.BATCH_COLUMNS)
_approval: Callable[[Row], Approval] = codec.decoder(
    web_record("Approval"), schema.APPROVAL_COLUMNS
)
_audit: Callable[[Row], AuditEvent] = codec.decoder(web_record("AuditEvent"), schema.AUDIT_COLUMNS)
_work: Callable[[Row], WorkItem] = codec.decoder(web_record("WorkItem"), schema.WORK_COLUMNS)


def _select(table: str, columns: tuple[str, ...]) -> str:
    return f"SELECT {codec.cols(columns)} FROM {table}"


def _like(text: str) -> str:
    """A LIKE pattern for text containing ``text`` (its own ``%``, ``_`` and ``\\`` taken
    literally), lower-case: compared with ``LOWER(column)``."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _times(
    where: list[str],
    values: list[Any],
    column: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> tuple[list[str], list[Any]]:
    if since is not None:
        where.append(f"{column} >= ?")
        values.append(codec.ts(since, "since"))
    if until is not None:
        where.append(f"{column} < ?")
        values.append(codec.ts(until, "until"))
    return where, values


def _batch_where(q: BatchQuery) -> tuple[str, list[Any]]:
    where: list[str] = []
    values: list[Any] = []
    if q.statuses:
        where.append(f"status IN ({codec.marks(q.statuses)})")
        values.extend(q.statuses)
    for column, value in (("uploaded_by", q.uploaded_by), ("job", q.job)):
        if value:
            where.append(f"{column} = ?")
            values.append(value)
    if q.file_name:
        where.append("LOWER(file_name) LIKE ? ESCAPE '\\'")
        values.append(_like(q.file_name))
    where, values = _times(where, values, "uploaded_at", q.since, q.until)
    return (f" WHERE {' AND '.join(where)}" if where else ""), values


def _encode_changes(changes: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    unknown = set(changes) - allowed
    if unknown:
        raise JournalError(f"cannot change {', '.join(sorted(unknown))}")
    out = {}
    for name, value in changes.items():
        if name in schema.TIME_COLUMNS:
            value = codec.ts(value, name)
        elif value is not None and name in schema.JSON_COLUMNS:
            value = codec.to_json(value, name)
        out[name] = value
    return out


class WebTables(WebUsers):
    """The web application's records (users, sign-ins and sessions in :class:`WebUsers`)."""

    # --- batches and approvals ---------------------------------------------------------------

    def add_batch(self, batch: Batch) -> None:
        columns = schema.BATCH_COLUMNS
        with self._tx(f"add the batch {batch.batch_id}", write=True) as conn:
            conn.execute(
                f"INSERT INTO batches ({codec.cols(columns)}) VALUES ({codec.marks(columns)})",
                codec.encode(batch, columns),
            )

    def batch(self, batch_id: str) -> Batch | None:
        with self._tx("read a batch") as conn:
            row = conn.execute(
                _select("batches", schema.BATCH_COLUMNS) + " WHERE batch_id = ?", (batch_id,)
            ).fetchone()
        return None if row is None else _batch(row)

    def batches(self, limit: int = 200, query: BatchQuery | None = None) -> list[Batch]:
        """The newest batches first, those ``query`` asks for."""
        from ledgerrun.store.web_model import BatchQuery

        where, values = _batch_where(query or BatchQuery())
        with self._tx("list batches") as conn:
            sql = _select("batches", schema.BATCH_COLUMNS) + where
            rows = conn.execute(
                sql + " ORDER BY uploaded_at DESC, batch_id LIMIT ?", (*values, limit)
            )
            return [_batch(row) for row in rows]

    def update_batch(self, batch_id: str, **changes: Any) -> None:
        values = _encode_changes(changes, _BATCH_FIELDS)
        if not values:
            return
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx(f"change the batch {batch_id}", write=True) as conn:
            sql = f"UPDATE batches SET {sets} WHERE batch_id = ?"
            if conn.execute(sql, (*values.values(), batch_id)).rowcount != 1:
                raise JournalError(f"there is no batch {batch_id}")

    def add_approval(self, approval: Approval) -> None:
        columns = schema.APPROVAL_COLUMNS
        values = codec.encode(approval, ("batch_id", "job", "decision", "by", "at", "sha256"))
        values += [codec.to_json(approval.totals, "totals"), approval.comment]
        with self._tx(f"record a decision on batch {approval.batch_id}", write=True) as conn:
            conn.execute(
                f"INSERT INTO approvals ({codec.cols(columns)}) VALUES ({codec.marks(columns)})",
                values,
            )

    def approvals(self, batch_id: str) -> list[Approval]:
        with self._tx("read approvals") as conn:
            sql = _select("approvals", schema.APPROVAL_COLUMNS) + " WHERE batch_id = ? ORDER BY at"
            return [_approval(row) for row in conn.execute(sql, (batch_id,))]

    def approval_for(self, job: str, sha256: str) -> Approval | None:
        """The latest decision on exactly this ledger for this job, when it is an approval."""
        with self._tx("read approvals") as conn:
            sql = _select("approvals", schema.APPROVAL_COLUMNS)
            row = conn.execute(
                sql + " WHERE job = ? AND sha256 = ? ORDER BY at DESC LIMIT 1", (job, sha256)
            ).fetchone()
        found = None if row is None else _approval(row)
        return found if found is not None and found.decision == "approved" else None

    def decisions(self, job: str, sha256: str) -> list[Approval]:
        """Every decision on exactly this ledger for this job, oldest first."""
        with self._tx("read approvals") as conn:
            sql = _select("approvals", schema.APPROVAL_COLUMNS)
            rows = conn.execute(sql + " WHERE job = ? AND sha256 = ? ORDER BY at", (job, sha256))
            return [_approval(row) for row in rows]

    # --- audit -----------------------------------------------------------------------------

    def add_audit(self, event: AuditEvent) -> int:
        columns = schema.AUDIT_COLUMNS[:-1]
        values = codec.encode(event, ("at", "user", "address", "action", "batch_id", "sha256"))
        values.append(codec.to_json(event.detail or {}, "detail"))
        with self._tx("record an audit event", write=True) as conn:
            conn.execute(
                f"INSERT INTO audit ({codec.cols(columns)}) VALUES ({codec.marks(columns)})",
                values,
            )
            row = conn.execute("SELECT MAX(seq) FROM audit").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def audit_events(
        self, limit: int = 500, before: int | None = None, query: AuditQuery | None = None
    ) -> list[AuditEvent]:
        """The newest events first (before the event numbered ``before``), those ``query``
        asks for."""
        from ledgerrun.store.web_model import AuditQuery

        q = query or AuditQuery()
        where: list[str] = []
        values: list[Any] = []
        if before is not None:
            where.append("seq < ?")
            values.append(before)
        if q.user:
            where.append("username = ?")
            values.append(q.user)
        if q.batch_id:
            where.append("batch_id = ?")
            values.append(q.batch_id)
        if q.actions:
            where.append(f"action IN ({codec.marks(q.actions)})")
            values.extend(q.actions)
        where, values = _times(where, values, "at", q.since, q.until)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = _select("audit", schema.AUDIT_COLUMNS) + clause + " ORDER BY seq DESC LIMIT ?"
        with self._tx("read the audit trail") as conn:
            return [_audit(row) for row in conn.execute(sql, (*values, limit))]

    # --- work ------------------------------------------------------------------------------

    def enqueue(self, item: WorkItem) -> None:
        columns = schema.WORK_COLUMNS
        with self._tx(f"queue {item.kind} of batch {item.batch_id}", write=True) as conn:
            conn.execute(
                f"INSERT INTO work ({codec.cols(columns)}) VALUES ({codec.marks(columns)})",
                codec.encode(item, columns),
            )

    def claim_work(
        self, worker: str, at: dt.datetime, lease: dt.timedelta = dt.timedelta(seconds=30)
    ) -> WorkItem | None:
        """Take the oldest item that is queued, or running under a lease that ran out (its
        worker died: it is taken over; an item from before leases has none), for ``worker``,
        leased until ``at + lease``; None when nothing waits. Two workers never take the same
        item (the update only succeeds while the item is still as it was read)."""
        now = codec.ts(at, "at")
        with self._tx("claim work", write=True) as conn:
            row = conn.execute(
                "SELECT work_id, state, worker, history FROM work WHERE state = 'queued' OR"
                " (state = 'running' AND (lease_until IS NULL OR lease_until < ?))"
                " ORDER BY requested_at LIMIT 1",
                (now,),
            ).fetchone()
            if row is None:
                return None
            work_id, state, previous, history = row
            events = codec.load(history) if history else []
            event: dict[str, Any] = {"at": now, "worker": worker}
            if state == "running":
                event |= {"event": "taken_over", "from": previous}
            else:
                event["event"] = "started"
            taken = conn.execute(
                "UPDATE work SET state = 'running', worker = ?, started_at = COALESCE(started_at,"
                " ?), lease_until = ?, history = ? WHERE work_id = ? AND state = ? AND worker = ?",
                (
                    worker,
                    now,
                    codec.ts(at + lease, "lease_until"),
                    codec.to_json([*events, event], "history"),
                    work_id,
                    state,
                    previous,
                ),
            ).rowcount
            if taken != 1:
                return None
            found = conn.execute(
                _select("work", schema.WORK_COLUMNS) + " WHERE work_id = ?", (work_id,)
            ).fetchone()
        return None if found is None else _work(found)

    def renew_lease(self, work_id: str, worker: str, until: dt.datetime) -> bool:
        """Extend ``worker``'s lease of a running item; False when it is no longer its own (it
        ended, or another worker took it over)."""
        with self._tx("renew a work lease", write=True, durable=False) as conn:
            return bool(
                conn.execute(
                    "UPDATE work SET lease_until = ? WHERE work_id = ? AND worker = ? AND state"
                    " = 'running'",
                    (codec.ts(until, "lease_until"), work_id, worker),
                ).rowcount
            )

    def update_work(self, work_id: str, **changes: Any) -> None:
        values = _encode_changes(changes, _WORK_FIELDS)
        if not values:
            return
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx("record work progress", write=True, durable=False) as conn:
            sql = f"UPDATE work SET {sets} WHERE work_id = ?"
            if conn.execute(sql, (*values.values(), work_id)).rowcount != 1:
                raise JournalError(f"there is no work item {work_id}")

    def work_item(self, work_id: str) -> WorkItem | None:
        with self._tx("read work") as conn:
            row = conn.execute(
                _select("work", schema.WORK_COLUMNS) + " WHERE work_id = ?", (work_id,)
            ).fetchone()
        return None if row is None else _work(row)

    def work_items(self, batch_id: str) -> list[WorkItem]:
        with self._tx("read work") as conn:
            sql = _select("work", schema.WORK_COLUMNS) + " WHERE batch_id = ?"
            return [_work(row) for row in conn.execute(sql + " ORDER BY requested_at", (batch_id,))]
