"""The routes: every page, form and download, each behind a sign-in and a role check.

Roles: a *preparer* uploads ledgers; an *approver* approves or rejects them (never a batch they
uploaded themselves); an *admin* may do both (still never approving their own upload). Anyone
signed in may look at batches, run an approved batch, reconcile it and download its results.
Every POST carries the session's CSRF token; a signed-out visitor is sent to the sign-in page (a
download or a progress request gets 401); an action beyond the user's role gets 403, whatever
the page showed.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ledgerrun.errors import ConfigError, LedgerrunError
from ledgerrun.store import open_store
from ledgerrun.store.model import Approval, Batch, Store, User, WorkItem
from ledgerrun.vocab import STATUSES
from ledgerrun.web import security, service, views
from ledgerrun.web.config import ServeConfig
from ledgerrun.web.worker import Worker

UPLOAD = frozenset({"preparer", "admin"})
DECIDE = frozenset({"approver", "admin"})
ANYONE = frozenset({"preparer", "approver", "admin"})
ID_RE = re.compile(r"[0-9A-Za-z_-]{1,80}")
RESULT_ROWS = 100
REPORT_CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

Handler = Callable[[Request], Awaitable[Response]]


class App:
    """The application's state: configuration, store, templates and (optionally) a worker."""

    def __init__(
        self,
        config: ServeConfig,
        store: Store,
        env: Mapping[str, str] | None = None,
        *,
        worker: bool | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.env = os.environ if env is None else env
        self.templates = views.environment()
        self.worker = Worker(config, store, self.env) if (
            config.worker_thread if worker is None else worker
        ) else None  # fmt: skip
        self.results_cache: OrderedDict[str, pa.Table] = OrderedDict()
        self.cache_lock = threading.Lock()

    # --- who is asking -------------------------------------------------------------------------

    def address(self, request: Request) -> str:
        host = request.client.host if request.client else "?"
        if self.config.auth == "proxy" and host in self.config.proxy_addresses:
            forwarded = request.headers.get("x-forwarded-for", "")
            if forwarded.strip():
                return forwarded.split(",")[-1].strip()[:100]
        return host

    def current_user(self, request: Request) -> User | None:
        session = request.session
        if self.config.auth == "proxy":
            host = request.client.host if request.client else ""
            name = request.headers.get(self.config.proxy_header, "").strip()
            if host not in self.config.proxy_addresses or not name:
                return None
            user = self.store.user(name)
            if user is None or user.disabled:
                return None
            if session.get("user") != name:
                session.clear()
                session.update(user=name, since=time.time(), csrf=secrets.token_urlsafe(32))
                service.audit(self.store, name, self.address(request), "sign_in", via="proxy")
            return user
        signed = session.get("user")
        since = session.get("since")
        if not isinstance(signed, str) or not isinstance(since, int | float):
            return None
        if time.time() - since > self.config.session_minutes * 60:
            session.pop("user", None)
            return None
        user = self.store.user(signed)
        if user is None or user.disabled:
            session.pop("user", None)
            return None
        return user

    # --- responses -----------------------------------------------------------------------------

    def render(
        self, request: Request, name: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        session = request.session
        flash = session.pop("flash", []) if "flash" in session else []
        user = getattr(request.state, "user", None)
        context = {"error": "", "username": "", **context}
        html = self.templates.get_template(name).render(
            request=request,
            user=user,
            csrf=security.csrf_token(session),
            csrf_field=security.CSRF_FIELD,
            flash=flash,
            auth=self.config.auth,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def message(self, request: Request, status: int, title: str, text: str) -> HTMLResponse:
        return self.render(request, "message.html", status, title=title, text=text)

    def flash(self, request: Request, text: str, kind: str = "info") -> None:
        request.session.setdefault("flash", [])
        request.session["flash"] = [*request.session["flash"], [kind, text]]

    # --- lifecycle -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self.worker is not None:
            self.worker.start()
        try:
            yield
        finally:
            if self.worker is not None:
                await run_in_threadpool(self.worker.close)


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
                return self.message(
                    request, 403, "Not allowed",
                    f"Your role ({user.role}) does not allow this.",
                )  # fmt: skip
            if request.method == "POST":
                form = await read_form(request)
                if not security.csrf_ok(request.session, form.get(security.CSRF_FIELD)):
                    return self.message(
                        request, 403, "Form expired",
                        "This form was not sent from this application's page, or your session "
                        "ended. Go back, reload the page and try again.",
                    )  # fmt: skip
                request.state.form = form
            return await fn(self, request)

        return endpoint

    return wrap


async def read_form(request: Request) -> FormData:
    return await request.form(max_files=1, max_fields=50)


def text_field(form: FormData, name: str, limit: int = 500) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


# --- sign in and out -----------------------------------------------------------------------------


def safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/batches"


async def signin_page(self: App, request: Request) -> Response:
    if self.config.auth == "proxy":
        return self.message(
            request, 200, "Sign in", "This server signs you in through your organisation's "
            "single sign-on. Open it through that address.",
        )  # fmt: skip
    return self.render(request, "signin.html", next=safe_next(request.query_params.get("next")))


async def signin(self: App, request: Request) -> Response:
    if self.config.auth == "proxy":
        return self.message(request, 403, "Sign in", "Sign-in is through the single sign-on.")
    form = await read_form(request)
    target = safe_next(text_field(form, "next"))
    if not security.csrf_ok(request.session, form.get(security.CSRF_FIELD)):
        return self.render(
            request, "signin.html", 403, next=target,
            error="The sign-in form had expired. Please try again.",
        )  # fmt: skip
    name = text_field(form, "username", 100).strip()
    password = text_field(form, "password", 1000)
    address = self.address(request)
    at = service.now()
    wait = await run_in_threadpool(security.wait_needed, self.store, name, address, at)
    if wait:
        self.store.record_signin(name, address, False, at)
        service.audit(self.store, name, address, "sign_in_throttled", wait_s=wait)
        return self.render(
            request, "signin.html", 429, next=target, username=name,
            error=f"Too many failed sign-ins for this user or from this address. Wait {wait} "
            "seconds, then try again.",
        )  # fmt: skip
    user = self.store.user(name) if name else None
    good = await run_in_threadpool(
        security.check_password, user.password_hash if user else "", password
    )
    ok = bool(user is not None and good and not user.disabled)
    self.store.record_signin(name, address, ok, at)
    if not ok:
        service.audit(self.store, name, address, "sign_in_failed")
        return self.render(
            request, "signin.html", 401, next=target, username=name,
            error="Wrong username or password (or the user is disabled).",
        )  # fmt: skip
    request.session.clear()
    request.session.update(user=name, since=time.time(), csrf=secrets.token_urlsafe(32))
    service.audit(self.store, name, address, "sign_in")
    return RedirectResponse(target, 303)


@guarded()
async def signout(self: App, request: Request) -> Response:
    user: User = request.state.user
    service.audit(self.store, user.name, self.address(request), "sign_out")
    request.session.clear()
    return RedirectResponse("/signin", 303)


# --- batches -------------------------------------------------------------------------------------


async def home(self: App, request: Request) -> Response:
    return RedirectResponse("/batches", 302)


@guarded()
async def batches_page(self: App, request: Request) -> Response:
    return await batches_view(self, request)


async def batches_view(self: App, request: Request, status: int = 200, **extra: Any) -> Response:
    jobs = await run_in_threadpool(service.list_jobs, self.config)
    rows = self.store.batches(limit=200)
    return self.render(request, "batches.html", status, jobs=jobs, batches=rows, **extra)


@guarded(UPLOAD)
async def upload(self: App, request: Request) -> Response:
    user: User = request.state.user
    form: FormData = request.state.form
    job_name = text_field(form, "job", 100)
    file = form.get("ledger")
    if not isinstance(file, UploadFile) or not file.filename:
        return await batches_view(self, request, 400, error="Choose a ledger file to upload.")
    try:
        sha, size, _ = await run_in_threadpool(
            service.save_upload, self.config, self.store, file.file, file.filename
        )
        batch = await run_in_threadpool(
            functools.partial(
                service.new_batch, self.config, self.store, job_name=job_name,
                file_name=file.filename, sha=sha, size=size, user=user.name,
            )
        )  # fmt: skip
    except service.UploadError as exc:
        status = 413 if "larger than" in str(exc) else 400
        return await batches_view(self, request, status, error=str(exc))
    except ConfigError as exc:
        return await batches_view(self, request, 400, error=service.error_text(exc))
    service.audit(
        self.store, user.name, self.address(request), "upload", batch=batch,
        file_name=batch.file_name, size=size, rows=batch.rows, status=batch.status,
    )  # fmt: skip
    return RedirectResponse(f"/batches/{batch.batch_id}", 303)


def _batch(self: App, request: Request) -> Batch | None:
    batch_id = request.path_params["batch_id"]
    if not ID_RE.fullmatch(batch_id):
        return None
    return self.store.batch(batch_id)


def _page_number(request: Request, name: str = "page") -> int:
    raw = request.query_params.get(name, "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 9 else 1


@guarded()
async def batch_page(self: App, request: Request) -> Response:
    batch = _batch(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    only = request.query_params.get("only") == "problems"
    page = _page_number(request)
    try:
        review = await run_in_threadpool(service.review, self.config, self.store, batch)
        grid = await run_in_threadpool(service.grid, review, page, only)
    except LedgerrunError as exc:
        return self.render(
            request, "batch.html", batch=batch, review=None, error=service.error_text(exc),
            **batch_context(self, request, batch, None),
        )  # fmt: skip
    return self.render(
        request, "batch.html", batch=batch, review=review, grid=grid, error="",
        **batch_context(self, request, batch, review),
    )  # fmt: skip


def batch_context(self: App, request: Request, batch: Batch, review: Any) -> dict[str, Any]:
    user: User = request.state.user
    approvals = self.store.approvals(batch.batch_id)
    work = self.store.work_items(batch.batch_id)
    runs = [w for w in work if w.kind == "run"]
    active = service.active_work(self.store, batch.batch_id, ("run",))
    decided = bool(approvals)
    totals = review.totals() if review is not None else batch.summary.get("totals", {})
    needs_approval = (review.job.approval if review else batch.summary.get("approval")) == (
        "required"
    )
    approved = any(a.decision == "approved" for a in approvals) and batch.status != "rejected"
    runnable = review is not None and review.runnable and batch.status != "rejected"
    last_run = runs[-1] if runs else None
    can_run = (
        runnable
        and active is None
        and (approved or not needs_approval)
        and batch.status in ("valid", "approved", "done")
        and not (last_run is not None and last_run.exit_code == 0)
    )
    online = batch.summary.get("online") or {}
    groups = _groups(review, online) if review is not None else []
    reconciles = [w for w in work if w.kind == "reconcile"]
    reconcile_rows: list[dict[str, str]] = []
    verdict = None
    if batch.run_id:
        raw = self.store.run_file(batch.run_id, "reconcile.json")
        verdict = json.loads(raw) if raw else None
        table = self.store.run_file(batch.run_id, "reconcile.csv")
        if table:
            reconcile_rows = list(csv.DictReader(io.StringIO(table.decode("utf-8"))))[:200]
    reverses = [w for w in work if w.kind == "reverse"]
    dry = next(
        (w for w in reversed(reverses) if w.params.get("dry_run") and w.state == "done"), None
    )
    if dry is not None and any(
        not w.params.get("dry_run") and w.requested_at > dry.requested_at for w in reverses
    ):
        dry = None  # reversed since: a new selection needs a new dry run
    return {
        "reverses": reverses,
        "dry_run": dry,
        "dry_lines": reversal_lines(self.store, dry),
        "dry_ids": "\n".join(dry.params.get("ids") or []) if dry else "",
        "can_reverse": user.role in DECIDE
        and bool(batch.run_id)
        and service.active_work(self.store, batch.batch_id, ("run", "reverse")) is None,
        "approvals": approvals,
        "work": work,
        "runs": runs,
        "active": active,
        "totals": totals,
        "fingerprint": service.fingerprint(totals) if review is not None else "",
        "needs_approval": needs_approval,
        "can_decide": (
            user.role in DECIDE
            and user.name != batch.uploaded_by
            and not decided
            and batch.status in ("valid", "invalid")
        ),
        "own_batch": user.name == batch.uploaded_by,
        "can_approve": runnable and not decided and batch.status == "valid",
        "can_run": can_run,
        "can_reconcile": bool(batch.run_id)
        and service.active_work(self.store, batch.batch_id, ("reconcile", "run")) is None,
        "checking": service.active_work(self.store, batch.batch_id, ("check",)),
        "online": online,
        "groups": groups,
        "reconciles": reconciles,
        "verdict": verdict,
        "reconcile_rows": reconcile_rows,
    }


def reversal_lines(store: Store, item: WorkItem | None) -> list[dict[str, str]]:
    """The lines of a reversal (or its dry run), as its reversals file in the store says."""
    run_id = str((item.params if item else {}).get("reverse_run_id") or "")
    data = store.run_file(run_id, "reversals.csv") if run_id else None
    if not data:
        return []
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))[:1000]


def _groups(review: Any, online: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's groups, with the balance Stripe reported for each (when checked)."""
    checked = {(g["account"], g["currency"], g["direction"]): g for g in online.get("groups") or []}
    out = []
    for g in review.plan.groups:
        found = checked.get((g.account, g.currency, g.direction), {})
        available = found.get("available")
        out.append(
            {
                "account": g.account,
                "currency": g.currency,
                "direction": g.direction,
                "rows": g.rows,
                "amount_minor": g.amount_minor,
                "done": g.done,
                "todo": g.todo,
                "todo_minor": g.todo_minor,
                "available": available,
                "short": bool(found.get("short")),
                "short_by": (g.todo_minor - available) if available is not None else None,
            }
        )
    return out


def _decision_checks(self: App, request: Request, batch: Batch | None) -> Response | None:
    user: User = request.state.user
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    if batch.uploaded_by == user.name:
        return self.message(
            request, 403, "Not allowed",
            "You uploaded this batch: another approver must decide on it (four eyes).",
        )  # fmt: skip
    if self.store.approvals(batch.batch_id):
        return self.message(
            request, 409, "Already decided",
            "This batch has a decision already; upload the ledger again for a new one.",
        )  # fmt: skip
    return None


@guarded(DECIDE)
async def approve(self: App, request: Request) -> Response:
    return await _decide(self, request, "approved")


@guarded(DECIDE)
async def reject(self: App, request: Request) -> Response:
    return await _decide(self, request, "rejected")


async def _decide(self: App, request: Request, decision: str) -> Response:
    user: User = request.state.user
    form: FormData = request.state.form
    batch = _batch(self, request)
    refused = _decision_checks(self, request, batch)
    if refused is not None:
        return refused
    assert batch is not None
    review = await run_in_threadpool(
        functools.partial(service.review, self.config, self.store, batch, fresh=True)
    )
    totals = review.totals()
    if text_field(form, "sha256", 64) != batch.sha256 or text_field(
        form, "plan", 64
    ) != service.fingerprint(totals):
        return self.message(
            request, 409, "The plan changed",
            "The ledger's plan is not the one shown when the page was loaded. Reload the page, "
            "check it again, then decide.",
        )  # fmt: skip
    if decision == "approved" and (batch.status != "valid" or not review.runnable):
        return self.message(
            request, 409, "Cannot be approved",
            "Only a batch ready for approval, whose rows can be run, can be approved.",
        )  # fmt: skip
    comment = text_field(form, "comment", 1000).strip()
    self.store.add_approval(
        Approval(
            batch_id=batch.batch_id,
            job=batch.job,
            decision=decision,
            by=user.name,
            at=service.now(),
            sha256=batch.sha256,
            totals=totals,
            comment=comment,
        )
    )
    self.store.update_batch(batch.batch_id, status=decision, updated_at=service.now())
    service.audit(
        self.store, user.name, self.address(request),
        "approve" if decision == "approved" else "reject", batch=batch, totals=totals,
        comment=comment,
    )  # fmt: skip
    self.flash(request, f"Batch {decision}.")
    return RedirectResponse(f"/batches/{batch.batch_id}", 303)


@guarded()
async def run(self: App, request: Request) -> Response:
    user: User = request.state.user
    batch = _batch(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    review = await run_in_threadpool(
        functools.partial(service.review, self.config, self.store, batch, fresh=True)
    )
    context = batch_context(self, request, batch, review)
    if not context["can_run"]:
        why = "it is running already" if context["active"] else (
            "it needs an approval first" if context["needs_approval"] and batch.status != "approved"
            else "it is not ready to run"
        )  # fmt: skip
        return self.message(request, 409, "Cannot run", f"This batch cannot be run now: {why}.")
    item = service.enqueue(self.store, batch.batch_id, "run", user.name, {})
    self.store.update_batch(batch.batch_id, status="running", updated_at=service.now())
    service.audit(
        self.store, user.name, self.address(request), "run", batch=batch, work_id=item.work_id
    )
    return RedirectResponse(f"/work/{item.work_id}", 303)


@guarded()
async def recheck(self: App, request: Request) -> Response:
    user: User = request.state.user
    batch = _batch(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    if service.active_work(self.store, batch.batch_id, ("check",)) is None:
        service.enqueue(self.store, batch.batch_id, "check", user.name, {})
        service.audit(self.store, user.name, self.address(request), "check", batch=batch)
    return RedirectResponse(f"/batches/{batch.batch_id}#plan", 303)


@guarded()
async def reconcile(self: App, request: Request) -> Response:
    user: User = request.state.user
    batch = _batch(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    if not batch.run_id:
        return self.message(request, 409, "Nothing to reconcile", "This batch has not run yet.")
    if service.active_work(self.store, batch.batch_id, ("reconcile", "run")) is None:
        item = service.enqueue(
            self.store, batch.batch_id, "reconcile", user.name, {"run_id": batch.run_id}
        )
        service.audit(
            self.store, user.name, self.address(request), "reconcile", batch=batch,
            work_id=item.work_id, run_id=batch.run_id,
        )  # fmt: skip
        self.flash(request, "Reconciliation with Stripe started; this page shows it when done.")
    return RedirectResponse(f"/batches/{batch.batch_id}#reconcile", 303)


@guarded(DECIDE)
async def reverse(self: App, request: Request) -> Response:
    """Reverse chosen (or all) succeeded rows of the batch's run: a dry run first, then the
    same selection for real. The library does the checking and the exactly-once sending."""
    user: User = request.state.user
    form: FormData = request.state.form
    batch = _batch(self, request)
    if batch is None:
        return self.message(request, 404, "No such batch", "There is no batch with that number.")
    if not batch.run_id:
        return self.message(request, 409, "Nothing to reverse", "This batch has not run yet.")
    if service.active_work(self.store, batch.batch_id, ("run", "reverse")) is not None:
        return self.message(request, 409, "Busy", "A run or reversal of this batch is going on.")
    table = await run_in_threadpool(_results, self, batch.run_id)
    done: list[str] = []
    if table is not None:
        succeeded = table.filter(pc.equal(table.column("status"), "succeeded"))
        done = [str(i) for i in succeeded.column("adjustment_id").to_pylist()]
    if text_field(form, "scope", 10) == "all":
        ids = done
    else:
        raw = text_field(form, "ids", 200_000).replace(",", "\n").splitlines()
        ids = list(dict.fromkeys(i.strip() for i in raw if i.strip()))
        unknown = [i for i in ids if i not in set(done)]
        if unknown:
            shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            return self.message(
                request, 400, "Not in this run",
                f"These are not rows of this batch's run that succeeded: {shown}.",
            )  # fmt: skip
    if not ids:
        return self.message(request, 400, "Nothing chosen", "Choose the rows to reverse.")
    reason = text_field(form, "reason", 500).strip()
    selection = service.fingerprint({"ids": sorted(ids), "reason": reason})
    dry_run = text_field(form, "mode", 20) != "reverse"
    if not dry_run:
        dry = batch_context(self, request, batch, None)["dry_run"]
        if dry is None or dry.params.get("selection") != selection:
            return self.message(
                request, 409, "Dry run first",
                "Make a dry run of exactly these reversals first, check it, then reverse.",
            )  # fmt: skip
    params = {"run_id": batch.run_id, "ids": ids, "reason": reason, "dry_run": dry_run,
              "selection": selection}  # fmt: skip
    item = service.enqueue(self.store, batch.batch_id, "reverse", user.name, params)
    service.audit(
        self.store, user.name, self.address(request),
        "reverse_dry_run" if dry_run else "reverse", batch=batch, work_id=item.work_id,
        rows=len(ids), reason=reason,
    )  # fmt: skip
    return RedirectResponse(f"/work/{item.work_id}", 303)


# --- work: progress, results, downloads ----------------------------------------------------------


def _work(self: App, request: Request) -> tuple[WorkItem | None, Batch | None]:
    work_id = request.path_params["work_id"]
    if not ID_RE.fullmatch(work_id):
        return None, None
    item = self.store.work_item(work_id)
    if item is None:
        return None, None
    return item, self.store.batch(item.batch_id)


def progress_json(item: WorkItem) -> dict[str, Any]:
    p = item.progress or {}
    return {
        "state": item.state,
        "phase": p.get("phase", "waiting" if item.state == "queued" else ""),
        "rows": p.get("rows", 0),
        "to_send": p.get("to_send", 0),
        "done": p.get("done", 0),
        "succeeded": p.get("succeeded", 0),
        "failed": p.get("failed", 0),
        "unknown": p.get("unknown", 0),
        "skipped": p.get("skipped", 0),
        "rate": p.get("rate", 0.0),
        "updated_at": p.get("updated_at", ""),
        "exit_code": item.exit_code,
        "finished": item.state in ("done", "failed"),
    }


@guarded(kind="data")
async def progress(self: App, request: Request) -> Response:
    item, _ = _work(self, request)
    if item is None:
        return JSONResponse({"error": "no such work"}, 404)
    return JSONResponse(progress_json(item))


def _results(self: App, run_id: str) -> pa.Table | None:
    """The run's results table, as the store keeps it (cached: a finished run never changes)."""
    with self.cache_lock:
        if run_id in self.results_cache:
            self.results_cache.move_to_end(run_id)
            return self.results_cache[run_id]
    from ledgerrun.output.results import read_results

    names = [n for n in self.store.run_file_names(run_id) if n.startswith("results.")]
    if not names:
        return None
    data = self.store.run_file(run_id, names[0]) or b""
    with tempfile.TemporaryDirectory(prefix="ledgerrun-web-") as folder:
        path = Path(folder) / names[0]
        path.write_bytes(data)
        table = read_results(path)
    with self.cache_lock:
        self.results_cache[run_id] = table
        while len(self.results_cache) > 8:
            self.results_cache.popitem(last=False)
    return table


@guarded()
async def work_page(self: App, request: Request) -> Response:
    item, batch = _work(self, request)
    if item is None or batch is None:
        return self.message(request, 404, "No such run", "There is no run with that number.")
    run_id = str((item.params or {}).get("run_id") or "") if item.kind == "run" else ""
    summary = None
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    wanted = request.query_params.get("status", "")
    wanted = wanted if wanted in STATUSES else ""
    page, pages, shown = _page_number(request), 1, 0
    if run_id and item.state in ("done", "failed"):
        raw = self.store.run_file(run_id, "summary.json")
        summary = json.loads(raw) if raw else None
        table = await run_in_threadpool(_results, self, run_id)
        if table is not None:
            statuses = table.column("status")
            counts = {s: int(pc.sum(pc.equal(statuses, s)).as_py() or 0) for s in STATUSES}
            if wanted:
                table = table.filter(pc.equal(statuses, wanted))
            shown = table.num_rows
            pages = max(1, -(-shown // RESULT_ROWS))
            page = min(page, pages)
            rows = table.slice((page - 1) * RESULT_ROWS, RESULT_ROWS).to_pylist()
    lines = reversal_lines(self.store, item) if item.kind == "reverse" else []
    return self.render(
        request, "work.html", item=item, batch=batch, p=progress_json(item), run_id=run_id,
        lines=lines,
        summary=summary, rows=rows, counts=counts, status_filter=wanted, page=page, pages=pages,
        shown=shown, statuses=STATUSES,
    )  # fmt: skip


def _download_source(self: App, request: Request) -> tuple[WorkItem, Batch, str] | Response:
    item, batch = _work(self, request)
    run_id = str(((item.params if item else None) or {}).get("run_id") or "")
    if item is None or batch is None or not run_id or item.kind != "run":
        return Response("No such run.\n", 404, media_type="text/plain")
    return item, batch, run_id


@guarded(kind="data")
async def download(self: App, request: Request) -> Response:
    found = _download_source(self, request)
    if isinstance(found, Response):
        return found
    _, batch, run_id = found
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "xlsx"):
        return Response("Unknown format.\n", 404, media_type="text/plain")
    data = self.store.run_file(run_id, f"results.{fmt}")
    if data is None:
        table = await run_in_threadpool(_results, self, run_id)
        if table is None:
            return Response("This run kept no results.\n", 404, media_type="text/plain")
        data = await run_in_threadpool(_convert, table, fmt)
    user: User = request.state.user
    service.audit(
        self.store, user.name, self.address(request), "download", batch=batch,
        run_id=run_id, format=fmt,
    )  # fmt: skip
    media = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }[fmt]
    name = f"{batch.job}-{run_id}.results.{fmt}"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _convert(table: pa.Table, fmt: str) -> bytes:
    from ledgerrun.output.results import write_results

    with tempfile.TemporaryDirectory(prefix="ledgerrun-web-") as folder:
        path = Path(folder) / f"results.{fmt}"
        write_results(table, path)
        return path.read_bytes()


@guarded(kind="data")
async def report(self: App, request: Request) -> Response:
    found = _download_source(self, request)
    if isinstance(found, Response):
        return found
    _, _, run_id = found
    data = self.store.run_file(run_id, "report.html")
    if data is None:
        return Response("This run kept no report.\n", 404, media_type="text/plain")
    return Response(
        data,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": REPORT_CSP},
    )


@guarded(kind="data")
async def reconcile_csv(self: App, request: Request) -> Response:
    batch = _batch(self, request)
    data = self.store.run_file(batch.run_id, "reconcile.csv") if batch and batch.run_id else None
    if batch is None or data is None:
        return Response("No reconciliation yet.\n", 404, media_type="text/plain")
    name = f"{batch.job}-{batch.run_id}.reconcile.csv"
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- audit ---------------------------------------------------------------------------------------


@guarded()
async def audit_page(self: App, request: Request) -> Response:
    raw = request.query_params.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) < 15 else None
    events = self.store.audit_events(limit=100, before=before)
    older = events[-1].seq if len(events) == 100 else None
    return self.render(request, "audit.html", events=events, older=older)


# --- the application -----------------------------------------------------------------------------


def create_app(
    config: ServeConfig,
    *,
    store: Store | None = None,
    env: Mapping[str, str] | None = None,
    worker: bool | None = None,
    secret_key: str | None = None,
) -> Starlette:
    """The ASGI application for ``config``. ``secret_key`` signs sessions (default: the
    environment variable the configuration names, else a random key for this process)."""
    env = os.environ if env is None else env
    store = store if store is not None else open_store(config.store)
    state = App(config, store, env, worker=worker)
    key = secret_key or env.get(config.secret_key_env) or secrets.token_urlsafe(48)

    def bind(fn: Callable[[App, Request], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            return await fn(state, request)

        return endpoint

    routes = [
        Route("/", bind(home)),
        Route("/signin", bind(signin_page), methods=["GET"]),
        Route("/signin", bind(signin), methods=["POST"]),
        Route("/signout", bind(signout), methods=["POST"]),
        Route("/batches", bind(batches_page), methods=["GET"]),
        Route("/batches", bind(upload), methods=["POST"]),
        Route("/batches/{batch_id}", bind(batch_page), methods=["GET"]),
        Route("/batches/{batch_id}/approve", bind(approve), methods=["POST"]),
        Route("/batches/{batch_id}/reject", bind(reject), methods=["POST"]),
        Route("/batches/{batch_id}/run", bind(run), methods=["POST"]),
        Route("/batches/{batch_id}/check", bind(recheck), methods=["POST"]),
        Route("/batches/{batch_id}/reconcile", bind(reconcile), methods=["POST"]),
        Route("/batches/{batch_id}/reverse", bind(reverse), methods=["POST"]),
        Route("/batches/{batch_id}/reconcile.csv", bind(reconcile_csv), methods=["GET"]),
        Route("/work/{work_id}", bind(work_page), methods=["GET"]),
        Route("/work/{work_id}/progress", bind(progress), methods=["GET"]),
        Route("/work/{work_id}/results.{fmt}", bind(download), methods=["GET"]),
        Route("/work/{work_id}/report", bind(report), methods=["GET"]),
        Route("/audit", bind(audit_page), methods=["GET"]),
        Mount(
            "/static", StaticFiles(directory=Path(__file__).parents[1] / "static"), name="static"
        ),
    ]
    middleware = [
        Middleware(security.SecurityHeaders, https=config.https),
        Middleware(security.BodyLimit, limit=config.max_upload_bytes + 64 * 1024),
        Middleware(
            SessionMiddleware,
            secret_key=key,
            session_cookie="ledgerrun_session",
            max_age=config.session_minutes * 60,
            same_site="strict",
            https_only=config.https,
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=state.lifespan)
    app.state.ledgerrun = state
    return app
