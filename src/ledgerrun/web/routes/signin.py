"""Signing in and out: the password form, throttled after failed tries (or, behind a proxy,
the organisation's single sign-on), each recorded in the audit."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledgerrun.store.web_model import User, WebSession
from ledgerrun.web import security, service
from ledgerrun.web.routes.common import guarded, read_form, text_field

if TYPE_CHECKING:
    from ledgerrun.web.app import App


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
        service.audit(
            self.store, text_field(form, "username", 100).strip(), self.address(request),
            "refused", attempted="sign_in", status=403,
            why="the form's security token (CSRF) was missing or wrong", path="/signin",
        )  # fmt: skip
        return self.render(
            request, "signin.html", 403, next=target,
            error="The sign-in form had expired. Please try again.",
        )  # fmt: skip
    name = text_field(form, "username", 100).strip()
    password = text_field(form, "password", 1000)
    address = self.address(request)
    at = service.now()
    device, names = security.known_browser(
        self.secret_key, request.cookies.get(security.KNOWN_BROWSER_COOKIE), name
    )
    limit = await run_in_threadpool(security.throttle, self.store, name, address, device, at)
    if limit.wait_s:  # refused unread and uncounted: the wait does not grow while it runs
        service.audit(
            self.store, name, address, "sign_in_throttled", wait_s=limit.wait_s,
            because=limit.because,
        )  # fmt: skip
        whose = {"name": "for this user", "address": "from this address",
                 "browser": "from this browser"}[limit.because]  # fmt: skip
        return self.render(
            request, "signin.html", 429, next=target, username=name,
            error=f"Too many failed sign-ins {whose}. Wait {wait_words(limit.wait_s)}, then try "
            "again: the right password then signs you in.",
        )  # fmt: skip
    user = self.store.user(name) if name else None
    good = await run_in_threadpool(
        security.check_password, user.password_hash if user else "", password
    )
    ok = bool(user is not None and good and not user.disabled)
    self.store.record_signin(name, address, ok, at, device)
    if not ok:
        service.audit(self.store, name, address, "sign_in_failed")
        return self.render(
            request, "signin.html", 401, next=target, username=name,
            error="Wrong username or password (or the user is disabled).",
        )  # fmt: skip
    start_session(self, request, name, address)
    service.audit(self.store, name, address, "sign_in")
    response = RedirectResponse(target, 303)
    response.set_cookie(
        security.KNOWN_BROWSER_COOKIE,
        security.known_browser_cookie(self.secret_key, device, names, name),
        max_age=security.KNOWN_BROWSER_DAYS * 86400, httponly=True, samesite="strict",
        secure=self.config.https,
    )  # fmt: skip
    return response


def wait_words(seconds: int) -> str:
    """``5 seconds``, ``1 minute``, ``15 minutes``."""
    if seconds < 90:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = -(-seconds // 60)
    return f"{minutes} minutes"


def start_session(self: App, request: Request, name: str, address: str) -> None:
    """A new server-side session for ``name``; the cookie carries its random id (signed), a
    fresh CSRF token and nothing else."""
    sid = secrets.token_urlsafe(32)
    started = dt.datetime.fromtimestamp(time.time(), dt.UTC)
    self.store.add_session(
        WebSession(
            session_key=security.session_key(sid),
            user=name,
            address=address,
            started_at=started,
            expires_at=started + dt.timedelta(minutes=self.config.session_minutes),
        )
    )
    request.session.clear()
    request.session.update(sid=sid, csrf=secrets.token_urlsafe(32))


@guarded()
async def signout(self: App, request: Request) -> Response:
    user: User = request.state.user
    sid = request.session.get("sid")
    if isinstance(sid, str) and sid:  # the server forgets it: a copy of the cookie opens nothing
        self.store.end_session(security.session_key(sid), service.now(), "signed out")
    service.audit(self.store, user.name, self.address(request), "sign_out")
    request.session.clear()
    return RedirectResponse("/signin", 303)
