"""The audit page: who did what, when and from where, newest first, a hundred at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from ledgerrun.web.routes.common import guarded

if TYPE_CHECKING:
    from ledgerrun.web.app import App


@guarded()
async def audit_page(self: App, request: Request) -> Response:
    raw = request.query_params.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) < 15 else None
    events = self.store.audit_events(limit=100, before=before)
    older = events[-1].seq if len(events) == 100 else None
    return self.render(request, "audit.html", events=events, older=older)
