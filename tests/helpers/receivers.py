"""Real receivers of notifications, on 127.0.0.1: an HTTP server that keeps every request (the
webhook's receiver and a stand-in for Slack) and an SMTP server (aiosmtpd) that keeps every mail.

Tests wait for what arrives (:meth:`HttpReceiver.wait_for`, :meth:`MailReceiver.wait_for`)
rather than sleeping.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class HttpReceiver:
    """Keeps every POST; answers ``status`` (200 unless a test sets another)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.status = 200
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                found = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with receiver._arrived:
                    receiver.requests.append(found)
                    receiver._arrived.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int = 1, timeout: float = 30) -> list[Request]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.requests)} of {count} requests arrived"
                self._arrived.wait(left)
            return list(self.requests)


class MailReceiver:
    """An SMTP server (aiosmtpd) keeping every mail; ``auth`` = (user, password) to require a
    login (allowed without TLS: it listens on 127.0.0.1 only)."""

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.mails: list[tuple[str, list[str], EmailMessage]] = []
        self.logins: list[str] = []
        self._arrived = threading.Condition()
        self.port = free_port()
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                mail = message_from_bytes(envelope.content, policy=policy.default)
                assert isinstance(mail, EmailMessage)
                with receiver._arrived:
                    receiver.mails.append((envelope.mail_from, list(envelope.rcpt_tos), mail))
                    receiver._arrived.notify_all()
                return "250 OK"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
            from aiosmtpd.smtp import AuthResult

            ok = auth is not None and (data.login.decode(), data.password.decode()) == auth
            if ok:
                receiver.logins.append(data.login.decode())
            return AuthResult(success=ok, handled=False)

        options: dict[str, Any] = {}
        if auth is not None:
            options = {
                "authenticator": authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self.controller = Controller(
            Handler(), hostname="127.0.0.1", port=self.port, ready_timeout=10, **options
        )
        self.url = f"smtp://127.0.0.1:{self.port}"

    def start(self) -> MailReceiver:
        self.controller.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.controller.stop()

    def wait_for(self, count: int = 1, timeout: float = 30) -> list[tuple[str, list[str], Any]]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.mails) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.mails)} of {count} mails arrived"
                self._arrived.wait(left)
            return list(self.mails)


def free_port() -> int:
    """A port nothing listens on now (for servers that cannot be given port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def receivers(auth: tuple[str, str] | None = None) -> Iterator[tuple[HttpReceiver, MailReceiver]]:
    http, mail = HttpReceiver().start(), MailReceiver(auth).start()
    try:
        yield http, mail
    finally:
        http.stop()
        mail.stop()
