"""Passwords, sign-in throttling, CSRF tokens, security headers and the request-size cap.

Nothing here is home-made cryptography: passwords are Argon2 hashes (``argon2-cffi``), sessions
are signed by Starlette's ``SessionMiddleware`` (itsdangerous), and the CSRF token is a random
value kept in that signed session and compared in constant time with the one every form posts.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerrun.store.model import Store

HASHER = PasswordHasher()
# Verified against when the user does not exist, so that an unknown name costs as long as a
# wrong password and the timing tells nothing.
_DUMMY = HASHER.hash(secrets.token_urlsafe(16))

THROTTLE_WINDOW = dt.timedelta(minutes=15)
FREE_FAILURES = 5  # failed sign-ins (per name, or per address) before waits begin
MAX_WAIT_S = 15 * 60


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; an empty hash (a proxy-only user) never matches."""
    try:
        return HASHER.verify(password_hash or _DUMMY, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def wait_needed(store: Store, name: str, address: str, now: dt.datetime) -> int:
    """Seconds this name or address must wait before it may try again (0: it may try now).

    After :data:`FREE_FAILURES` failures within :data:`THROTTLE_WINDOW`, each further try must
    come at least 5 s after the last failure, then 10, 20, ... up to 15 minutes. The counts come
    from the store, so every server process (and host) agrees."""
    failures = store.failed_signins(name, address, now - THROTTLE_WINDOW)
    if failures < FREE_FAILURES:
        return 0
    wait = min(5 * 2 ** (failures - FREE_FAILURES), MAX_WAIT_S)
    recent = store.failed_signins(name, address, now - dt.timedelta(seconds=wait))
    return wait if recent else 0


# --- CSRF --------------------------------------------------------------------------------------

CSRF_FIELD = "csrf_token"


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: dict[str, Any], sent: object) -> bool:
    token = session.get("csrf")
    if not isinstance(token, str) or not isinstance(sent, str) or not sent:
        return False
    return hmac.compare_digest(token.encode(), sent.encode())


# --- headers and size ---------------------------------------------------------------------------

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Every response gets the security headers; a response may set its own stricter or
    different Content-Security-Policy (the stored run report, which has inline styles). Pages
    are never cached: they show money and may not linger in a shared browser."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if self.https:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, with_headers)


class TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse (413) a request whose body is over ``limit`` bytes: by its Content-Length before
    reading anything, and by counting as it arrives (a chunked upload has no length)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _too_large(send, self.limit)
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except TooLarge:
            if not started:
                await _too_large(send, self.limit)


async def _too_large(send: Send, limit: int) -> None:
    mb = limit / (1024 * 1024)
    body = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>File too large'
        "</title></head><body><h1>File too large</h1><p>Uploads are limited to "
        f"{mb:,.0f} MB. Split the ledger into smaller files.</p>"
        '<p><a href="/batches">Back to the batches</a></p></body></html>'
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
