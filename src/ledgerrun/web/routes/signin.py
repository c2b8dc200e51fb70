"""Signing in and out: the password form, throttled after failed tries (or, behind a proxy,
the organisation's single sign-on), each recorded in the audit."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledgerrun.store.model import User
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
