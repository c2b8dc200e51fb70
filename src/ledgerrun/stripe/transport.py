"""The HTTP transport under the Stripe SDK: keep-alive ``http.client`` connections, one per
thread and host.

The SDK's default transport (``requests``) costs several times the CPU per request of a plain
``http.client`` connection, and a run spends most of its CPU there. This transport does the one
thing the SDK asks of it: send a request and hand back the body, status and headers. It never
retries (the runner decides that) and reports every failure to get an answer as the SDK's
``APIConnectionError``, which the gateway turns into a network error.
"""

from __future__ import annotations

import http.client
import io
import select
import ssl
import threading
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

import stripe

_Key = tuple[str, str, int]


class KeepAliveTransport(stripe.HTTPClient):
    name = "ledgerrun-keepalive"

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s
        self._local = threading.local()
        self._tls = ssl.create_default_context(cafile=stripe.ca_bundle_path)

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        **_: Any,
    ) -> tuple[Any, int, Mapping[str, str]]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port or _default_port(parts.scheme))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = post_data.encode("utf-8") if isinstance(post_data, str) else post_data
        conn = self._connection(key)
        try:
            conn.request(method.upper(), target, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._discard(key)
            verified = not isinstance(exc, ssl.SSLCertVerificationError)
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                f"No answer from {parts.hostname}: {type(exc).__name__}: {exc}",
                should_retry=verified,
            ) from exc
        if response.will_close:
            self._discard(key)
        return content, response.status, cast(Headers, response.headers)

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        **kw: Any,
    ) -> tuple[Any, int, Mapping[str, str]]:
        content, status, headers_out = self.request(method, url, headers, post_data, **kw)
        return io.BytesIO(content), status, headers_out

    def close(self) -> None:
        for key in list(self._pool()):
            self._discard(key)

    def _pool(self) -> dict[_Key, http.client.HTTPConnection]:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return cast(dict[_Key, http.client.HTTPConnection], pool)

    def _connection(self, key: _Key) -> http.client.HTTPConnection:
        pool = self._pool()
        conn = pool.get(key)
        if conn is not None and _closed_by_peer(conn):
            self._discard(key)
            conn = None
        if conn is None:
            scheme, host, port = key
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    host, port, timeout=self._timeout_s, context=self._tls
                )
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self._timeout_s)
            conn.response_class = _Response
            pool[key] = conn
        return conn

    def _discard(self, key: _Key) -> None:
        conn = self._pool().pop(key, None)
        if conn is not None:
            conn.close()


class Headers(dict[str, str]):
    """Response headers, looked up case-insensitively (the SDK asks for both 'Request-Id' and
    'request-id'). Names are kept lower-case."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class _Response(http.client.HTTPResponse):
    """``http.client``'s response with its own reading of the status line and headers.

    ``http.client`` hands headers to the ``email`` package's parser, which costs more CPU than
    the rest of a request. Here the head is split by hand into :class:`Headers`; the body is
    still read by ``http.client`` (by length, or chunked) from the fields set below.
    """

    def begin(self) -> None:
        if vars(self).get("headers") is not None:
            return  # already read
        status, version, reason = self._status_line()
        while status == http.client.CONTINUE:
            self._head()  # an interim answer: its headers are skipped
            status, version, reason = self._status_line()
        headers = self._head()
        self.headers = self.msg = headers  # type: ignore[assignment]
        self.code = self.status = status
        self.reason = reason
        self.version = 11 if version == "HTTP/1.1" else 10
        self.chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        self.chunk_left = None
        connection = headers.get("connection", "").lower()
        self.will_close = "close" in connection or (
            self.version == 10 and "keep-alive" not in connection
        )
        length = headers.get("content-length")
        self.length = None if self.chunked or length is None else int(length)
        if (
            status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED)
            or vars(self).get("_method") == "HEAD"
        ):
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # the body runs to the end of the connection

    def _status_line(self) -> tuple[int, str, str]:
        line = self.fp.readline(_MAX_LINE + 1).decode("iso-8859-1")
        if not line:
            raise http.client.RemoteDisconnected(
                "the server closed the connection without answering"
            )
        version, _, rest = line.strip().partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not code.isdigit() or len(line) > _MAX_LINE:
            raise http.client.BadStatusLine(line)
        return int(code), version, reason

    def _head(self) -> Headers:
        headers = Headers()
        for _ in range(_MAX_HEADERS):
            line = self.fp.readline(_MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                return headers
            if len(line) > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            name, _, value = line.decode("iso-8859-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        raise http.client.HTTPException(f"more than {_MAX_HEADERS} headers")


_MAX_LINE = 65536
_MAX_HEADERS = 100


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket that is readable has been closed by the server: reusing it
    would fail the next request for nothing."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
