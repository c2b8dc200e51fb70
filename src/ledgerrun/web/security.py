"""Passwords, sign-in throttling, CSRF tokens, security headers and the request-size cap.

Nothing here is home-made cryptography: passwords are Argon2 hashes (``argon2-cffi``), the
session cookie is signed by Starlette's ``SessionMiddleware`` (itsdangerous) and names a session
the store keeps (by the SHA-256 of its random id), the known-browser cookie is signed by
itsdangerous, and the CSRF token is a random value kept in the signed session and compared in
constant time with the one every form posts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerrun.store.model import Store

HASHER = PasswordHasher()
# Verified against when the user does not exist, so that an unknown name costs as long as a
# wrong password and the timing tells nothing.
_DUMMY = HASHER.hash(secrets.token_urlsafe(16))

# Sign-in throttling (see :func:`throttle`).
THROTTLE_WINDOW = dt.timedelta(minutes=15)
FREE_FAILURES = 5  # failed sign-ins for a name (or from one known browser) before waits begin
ADDRESS_FREE_FAILURES = 20  # failed sign-ins from one address, over every name it tried
FIRST_WAIT_S = 5
MAX_WAIT_S = 15 * 60
KNOWN_BROWSER_COOKIE = "ledgerrun_browser"
KNOWN_BROWSER_DAYS = 90
KNOWN_BROWSER_NAMES = 5  # names one browser is remembered for (a shared computer)


def session_key(session_id: str) -> str:
    """What the store keeps of a session id (the cookie's): its SHA-256, so that a copy of the
    store opens no session."""
    return hashlib.sha256(session_id.encode()).hexdigest()


# Who may be a user, and what a password must be: the same for ``ledgerrun users`` and the
# administration page.
USER_NAME_RE = re.compile(r"[A-Za-z0-9_.@+-]{1,100}")
MIN_PASSWORD_CHARS = 8


def name_problem(name: str) -> str:
    """Why ``name`` cannot be a user's name ("" when it can)."""
    if USER_NAME_RE.fullmatch(name):
        return ""
    return "a user name is 1-100 letters, digits or . _ @ + - (as the sign-on proxy sends it)"


def password_problem(password: str) -> str:
    """Why ``password`` cannot be a password ("" when it can)."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must have at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > 1000:
        return "the password must have at most 1,000 characters"
    return ""


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; an empty hash (a proxy-only user) never matches."""
    try:
        return HASHER.verify(password_hash or _DUMMY, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Throttle:
    """Whether a sign-in may be tried now: ``wait_s`` seconds still to wait (0: it may), and
    whose failures made the wait (``name``, ``address`` or ``browser``)."""

    wait_s: int = 0
    because: str = ""


def _wait(failures: int, last: dt.datetime | None, free: int, now: dt.datetime) -> int:
    """Seconds left of the wait ``failures`` earn (5 s after the first beyond ``free``, then
    10, 20, ... up to 15 minutes), counted from the ``last`` failure."""
    if failures < free or last is None:
        return 0
    wait = min(FIRST_WAIT_S * 2 ** min(failures - free, 20), MAX_WAIT_S)
    left = (last + dt.timedelta(seconds=wait) - now).total_seconds()
    return max(0, math.ceil(left))


def throttle(store: Store, name: str, address: str, device: str, now: dt.datetime) -> Throttle:
    """How long a sign-in as ``name`` from ``address`` must wait.

    Failures count for 15 minutes. A browser that signed in as ``name`` before (its signed
    known-browser cookie, ``device``) counts only its own failures: five, then waits. Any other
    try counts the name's failures (five free, from browsers not known for it) and the
    address's (twenty free, over every name tried from it): an attacker hammering from one
    address slows that address and the names it tries, never the people signing in from their
    own browsers, even behind a proxy where every request has one address. A try during a wait
    is refused without checking the password and is not counted, so the wait never grows while
    it runs; once it is over, a correct password always signs in. The counts live in the
    store: every server process agrees."""
    since = now - THROTTLE_WINDOW
    if device:
        failures, last = store.signin_failures(since, name=name, device=device)
        left = _wait(failures, last, FREE_FAILURES, now)
        return Throttle(left, "browser") if left else Throttle()
    by_name = _wait(*store.signin_failures(since, name=name, device=""), FREE_FAILURES, now)
    by_address = _wait(
        *store.signin_failures(since, address=address, device=""), ADDRESS_FREE_FAILURES, now
    )
    if not by_name and not by_address:
        return Throttle()
    return Throttle(by_name, "name") if by_name >= by_address else Throttle(by_address, "address")


def _browsers(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="ledgerrun.known-browser")


def known_browser(secret: str, cookie: str | None, name: str) -> tuple[str, list[str]]:
    """The browser's id when its known-browser cookie (signed with the server's key, at most
    90 days old) names ``name`` ("" otherwise), and every name it remembers."""
    if not cookie:
        return "", []
    try:
        data = _browsers(secret).loads(cookie, max_age=KNOWN_BROWSER_DAYS * 86400)
    except BadSignature:
        return "", []
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return "", []
    names = [n for n in data.get("names") or [] if isinstance(n, str)]
    return (data["id"] if name in names else ""), names


def known_browser_cookie(secret: str, device: str, names: list[str], name: str) -> str:
    """The signed cookie that makes this browser known for ``name`` (and the names it was
    known for before, the latest few)."""
    others = [n for n in names if n != name][-(KNOWN_BROWSER_NAMES - 1) :]
    kept = [*others, name]
    return _browsers(secret).dumps({"id": device or secrets.token_urlsafe(16), "names": kept})


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
