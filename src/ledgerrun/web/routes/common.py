"""What the route modules share: the roles, the guard every handler stands behind (sign-in,
role and, for a POST, CSRF checks), reading forms, and the batch or page an address names."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ledgerrun.store.web_model import Batch
from ledgerrun.web import security, service

if TYPE_CHECKING:
    from ledgerrun.web.app import App

UPLOAD = frozenset({"preparer", "admin"})
DECIDE = frozenset({"approver", "admin"})
ANYONE = frozenset({"preparer", "approver", "admin"})
ADMIN = frozenset({"admin"})
ID_RE = re.compile(r"[0-9A-Za-z_-]{1,80}")


def guarded(
    roles: frozenset[str] = ANYONE, kind: str = "page"
) -> Callable[[Callable[[App, Request], Awaitable[Response]]], Callable[[App, Request], Any]]:
    """Sign-in, role and (for POST) CSRF checks before the handler runs. ``kind``: ``page``
    (signed out: redirect to sign in) or ``data`` (a download or JSON: 401)."""

    def wrap(fn: Callable[[App, Request], Awaitable[Response]]) -> Callable[[App, Request], Any]:
        @functools.wraps(fn)
        async def endpoint(self: App, request: Request) -> Response:
            user = await run_in_threadpool(self.current_user, request)
            if user is None:
                if kind == "data":
                    return Response("Sign in first.\n", 401, media_type="text/plain")
                if self.config.auth == "proxy":
                    return self.message(
                        request, 403, "Not signed in",
                        "This server signs people in through the organisation's single sign-on, "
                        "and it did not name a known, enabled user. Ask an administrator.",
                    )  # fmt: skip
                target = request.url.path
                if request.url.query and request.method == "GET":
                    target += "?" + request.url.query
                status = 302 if request.method == "GET" else 303
                return RedirectResponse(f"/signin?next={quote(target)}", status)
            request.state.user = user
            if user.role not in roles:
                return refuse(
                    self, request, 403, "Not allowed",
                    f"Your role ({user.role}) does not allow this.",
                    why=f"the role {user.role} may not do this",
                )  # fmt: skip
            if request.method == "POST":
                form = await read_form(request)
                if not security.csrf_ok(request.session, form.get(security.CSRF_FIELD)):
                    return refuse(
                        self, request, 403, "Form expired",
                        "This form was not sent from this application's page, or your session "
                        "ended. Go back, reload the page and try again.",
                        why="the form's security token (CSRF) was missing or wrong",
                    )  # fmt: skip
                request.state.form = form
            return await fn(self, request)

        return endpoint

    return wrap


def attempted(request: Request) -> str:
    """What a request tried to do, in the audit trail's words: ``approve``, ``run``, ``upload``
    (its address's last part, or the page for a GET)."""
    path = request.url.path.rstrip("/")
    if request.method == "GET":
        return "view " + (path or "/")[:200]
    last = path.rsplit("/", 1)[-1]
    if last == "batches":
        return "upload"
    return last.replace("-", "_")[:60] or "post"


def refuse(
    self: App,
    request: Request,
    status: int,
    title: str,
    text: str,
    *,
    why: str,
    batch: Batch | None = None,
    action: str = "",
    user: str | None = None,
) -> HTMLResponse:
    """Refuse a request with a page saying why, and record the refusal in the audit trail:
    who, from where, what they tried (``action``, by default from the address) and why."""
    who = getattr(request.state, "user", None)
    name = user if user is not None else (who.name if who is not None else "")
    if batch is None and "batch_id" in request.path_params:
        batch = batch_of(self, request)
    service.audit(
        self.store, name, self.address(request), "refused", batch=batch,
        attempted=action or attempted(request), status=status, why=why,
        path=request.url.path[:200],
    )  # fmt: skip
    return self.message(request, status, title, text)


async def read_form(request: Request) -> FormData:
    return await request.form(max_files=1, max_fields=50)


def text_field(form: FormData, name: str, limit: int = 500) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def batch_of(self: App, request: Request) -> Batch | None:
    """The batch the address names, if there is one."""
    batch_id = request.path_params["batch_id"]
    if not ID_RE.fullmatch(batch_id):
        return None
    return self.store.batch(batch_id)


def page_number(request: Request, name: str = "page") -> int:
    """The page number a query asks for (1 unless it names a sensible one)."""
    raw = request.query_params.get(name, "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 9 else 1
