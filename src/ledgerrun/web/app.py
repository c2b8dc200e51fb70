"""The application: its state (:class:`App`: configuration, store, templates and worker; who is
asking; how pages are rendered) and :func:`create_app`, which puts the routes of
:mod:`ledgerrun.web.routes` at their addresses, behind the sessions and the security
middleware."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ledgerrun.store import open_store
from ledgerrun.store.model import Store
from ledgerrun.store.web_model import User
from ledgerrun.web import security, service, views
from ledgerrun.web.config import ServeConfig
from ledgerrun.web.routes import (
    admin,
    audit,
    batches,
    decide,
    reconcile,
    reverse,
    runs,
    signin,
)
from ledgerrun.web.worker import Worker

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
        secret_key: str | None = None,
    ) -> None:
        self.config = config
        # signs the session cookie and the known-browser cookie (sign-in throttling)
        self.secret_key = secret_key or secrets.token_urlsafe(48)
        self.store = store
        self.env = os.environ if env is None else env
        self.templates = views.environment()
        self.worker = Worker(config, store, self.env) if (
            config.worker_thread if worker is None else worker
        ) else None  # fmt: skip
        self.results_cache: OrderedDict[str, tuple[float, pa.Table]] = OrderedDict()
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
        sid = session.get("sid")
        if not isinstance(sid, str) or not sid:
            return None
        record = self.store.web_session(security.session_key(sid))
        now = dt.datetime.fromtimestamp(time.time(), dt.UTC)
        if record is None or record.ended_at is not None or record.expires_at <= now:
            session.clear()  # signed out, ended by an administrator, or expired
            return None
        user = self.store.user(record.user)
        if user is None or user.disabled:
            session.clear()
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
    key = secret_key or env.get(config.secret_key_env) or secrets.token_urlsafe(48)
    state = App(config, store, env, worker=worker, secret_key=key)

    def bind(fn: Callable[[App, Request], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            return await fn(state, request)

        return endpoint

    routes = [
        Route("/", bind(batches.home)),
        Route("/signin", bind(signin.signin_page), methods=["GET"]),
        Route("/signin", bind(signin.signin), methods=["POST"]),
        Route("/signout", bind(signin.signout), methods=["POST"]),
        Route("/batches", bind(batches.batches_page), methods=["GET"]),
        Route("/batches", bind(batches.upload), methods=["POST"]),
        Route("/batches/{batch_id}", bind(batches.batch_page), methods=["GET"]),
        Route("/batches/{batch_id}/approve", bind(decide.approve), methods=["POST"]),
        Route("/batches/{batch_id}/reject", bind(decide.reject), methods=["POST"]),
        Route("/batches/{batch_id}/send-back", bind(decide.send_back), methods=["POST"]),
        Route("/batches/{batch_id}/run", bind(runs.run), methods=["POST"]),
        Route("/batches/{batch_id}/check", bind(batches.recheck), methods=["POST"]),
        Route("/batches/{batch_id}/restore", bind(batches.restore), methods=["POST"]),
        Route("/batches/{batch_id}/reconcile", bind(reconcile.reconcile), methods=["POST"]),
        Route("/batches/{batch_id}/reverse", bind(reverse.reverse), methods=["POST"]),
        Route("/batches/{batch_id}/reconcile.csv", bind(reconcile.reconcile_csv), methods=["GET"]),
        Route("/work/{work_id}", bind(runs.work_page), methods=["GET"]),
        Route("/work/{work_id}/progress", bind(runs.progress), methods=["GET"]),
        Route("/work/{work_id}/results.{fmt}", bind(runs.download), methods=["GET"]),
        Route("/work/{work_id}/report", bind(runs.report), methods=["GET"]),
        Route("/audit", bind(audit.audit_page), methods=["GET"]),
        Route("/audit.csv", bind(audit.audit_csv), methods=["GET"]),
        Route("/admin/users", bind(admin.users_page), methods=["GET"]),
        Route("/admin/users", bind(admin.add_user), methods=["POST"]),
        Route("/admin/users/{name}/{change}", bind(admin.change_user), methods=["POST"]),
        Route("/account", bind(admin.account_page), methods=["GET"]),
        Route("/account/password", bind(admin.change_own_password), methods=["POST"]),
        Mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static"),
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
