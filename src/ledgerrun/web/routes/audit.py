"""The audit trail: who did (or was refused) what, when and from where, newest first, a hundred
at a time, found by user, action, batch and dates; and the same as a CSV file.

The CSV is written as every CSV of ledgerrun is (:func:`ledgerrun.output.results.safe_cell`):
a cell a spreadsheet would take for a formula gets a leading ``'``. Each export is itself
recorded in the trail (who exported which events).
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ledgerrun.clock import iso
from ledgerrun.output.results import safe_cell
from ledgerrun.store.web_model import AuditEvent, User
from ledgerrun.web import service
from ledgerrun.web.filters import ACTIONS, AuditFilter
from ledgerrun.web.routes.common import guarded
from ledgerrun.web.views import detail_items

if TYPE_CHECKING:
    from ledgerrun.web.app import App

PAGE = 100
EXPORT_MAX = 100_000  # events in one CSV at most (the newest of those asked for)
CSV_COLUMNS = ("number", "at_utc", "user", "from", "action", "what", "batch", "file_sha256",
               "details")  # fmt: skip


@guarded()
async def audit_page(self: App, request: Request) -> Response:
    raw = request.query_params.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) < 15 else None
    search = AuditFilter.read(request.query_params)
    events = (
        []
        if search.error
        else self.store.audit_events(limit=PAGE, before=before, query=search.query)
    )
    older = events[-1].seq if len(events) == PAGE else None
    return self.render(
        request, "audit.html", events=events, older=older, search=search, actions=ACTIONS,
        users=[u.name for u in self.store.users()],
    )  # fmt: skip


def audit_csv_text(events: list[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in events:
        details = "; ".join(f"{k}: {v}" for k, v in detail_items(e.detail))
        cells = [
            str(e.seq or ""), iso(e.at), e.user, e.address, e.action,
            ACTIONS.get(e.action, e.action.replace("_", " ")), e.batch_id, e.sha256, details,
        ]  # fmt: skip
        writer.writerow([safe_cell(c) for c in cells])
    return out.getvalue()


@guarded(kind="data")
async def audit_csv(self: App, request: Request) -> Response:
    user: User = request.state.user
    search = AuditFilter.read(request.query_params)
    if search.error:
        return Response(search.error + "\n", 400, media_type="text/plain")
    events = self.store.audit_events(limit=EXPORT_MAX, query=search.query)
    text = await run_in_threadpool(audit_csv_text, events)
    service.audit(
        self.store, user.name, self.address(request), "audit_export", rows=len(events),
        search=json.dumps({k: v for k, v in search.values.items() if v and k != "tz"}),
    )  # fmt: skip
    name = f"ledgerrun-audit-{service.now():%Y-%m-%d}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
