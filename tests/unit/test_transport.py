"""The transport under the SDK (ledgerrun.stripe.transport), over real sockets on 127.0.0.1: what
reaches the server, what a failure means for the request, the proxy from the environment, and one
pool of keep-alive connections for every thread."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ledgerrun import errors
from ledgerrun.stripe.sdk import SdkGateway
from ledgerrun.stripe.transport import proxy_for

PLATFORM = {"id": "acct_1Platform", "country": "US", "default_currency": "usd"}


class Seen:
    """What an answering server saw: each request's line and headers, each client port."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.ports: set[int] = set()
        self.lock = threading.Lock()


@contextlib.contextmanager
def answering(*, gzipped: bool = False) -> Iterator[tuple[str, Seen]]:
    """An HTTP/1.1 server that answers every request with the platform's account, as Stripe
    would (keep-alive, a Date header: the server's own); gzip-compressed when asked and
    ``gzipped``."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer()

        def _answer(self) -> None:
            with seen.lock:
                seen.lines.append(self.requestline)
                seen.headers.append({k.lower(): v for k, v in self.headers.items()})
                seen.ports.add(self.client_address[1])
            body = json.dumps(PLATFORM).encode()
            self.send_response(200)
            if gzipped and "gzip" in (self.headers.get("Accept-Encoding") or ""):
                body = gzip.compress(body)
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Type", "application/json")
            self.send_header("Request-Id", "req_1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_request_reaches_the_server_as_the_sdk_built_it_and_the_date_is_read() -> None:
    with answering(gzipped=True) as (url, seen):
        gateway = SdkGateway("sk_test_transport", api_base=url, timeout_s=5)
        try:
            platform = gateway.platform()
        finally:
            gateway.close()
    assert platform.id == "acct_1Platform" and platform.default_currency == "usd"
    assert seen.lines == ["GET /v1/account HTTP/1.1"]
    sent = seen.headers[0]
    assert sent["authorization"] == "Bearer sk_test_transport"
    assert sent["stripe-version"] == gateway.api_version
    assert "gzip" in sent["accept-encoding"]  # and the gzipped answer was read
    offset = gateway.server_offset  # Stripe's clock, from the Date header: here, ours
    assert offset is not None and abs(offset.total_seconds()) < 60


def test_a_refused_connection_sent_nothing() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = SdkGateway("sk_test_transport", api_base=f"http://127.0.0.1:{port}", timeout_s=5)
    with pytest.raises(errors.ConnectError) as info:
        gateway.platform()
    assert info.value.code == "connection_failed" and str(info.value) == "Connection refused"


def test_no_answer_in_time_may_have_been_executed() -> None:
    with socket.socket() as silent:  # accepts (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        gateway = SdkGateway("sk_test_transport", api_base=url, timeout_s=0.3)
        with pytest.raises(errors.NetworkError) as info:
            gateway.platform()
    assert info.value.code == "network_error"
    assert str(info.value) == "no answer from Stripe: timed out"


def test_a_connection_closed_before_the_answer_may_have_been_executed() -> None:
    with socket.socket() as closing:
        closing.bind(("127.0.0.1", 0))
        closing.listen()
        url = f"http://127.0.0.1:{closing.getsockname()[1]}"

        def close_after_reading() -> None:
            conn, _ = closing.accept()
            with conn:
                conn.recv(65536)

        reader = threading.Thread(target=close_after_reading)
        reader.start()
        gateway = SdkGateway("sk_test_transport", api_base=url, timeout_s=5)
        with pytest.raises(errors.NetworkError) as info:
            gateway.platform()
        reader.join()
    assert str(info.value) == "no answer from Stripe: the connection closed without an answer"


def test_the_proxy_the_environment_names_is_used_resolved_once() -> None:
    """The proxy answers itself here: it is enough to see the request arrive in a proxy's
    form (the absolute URL), for a host that never had to resolve."""
    with answering() as (proxy, seen):
        environ = {"HTTP_PROXY": proxy}
        gateway = SdkGateway(
            "sk_test_transport", api_base="http://api.stripe.invalid", timeout_s=5, environ=environ
        )
        environ.clear()  # read when the gateway was made, not per request
        try:
            assert gateway.platform().id == "acct_1Platform"
            assert gateway.platform().id == "acct_1Platform"
        finally:
            gateway.close()
    assert seen.lines == ["GET http://api.stripe.invalid/v1/account HTTP/1.1"] * 2


def test_no_proxy_sends_straight_to_the_api() -> None:
    with answering() as (url, seen):
        environ = {"HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "localhost,127.0.0.1"}
        gateway = SdkGateway("sk_test_transport", api_base=url, timeout_s=5, environ=environ)
        try:
            gateway.platform()
        finally:
            gateway.close()
    assert seen.lines == ["GET /v1/account HTTP/1.1"]


@pytest.mark.parametrize(
    ("environ", "url", "proxy"),
    [
        ({}, "https://api.stripe.com", None),
        ({"HTTPS_PROXY": "http://p:3128"}, "https://api.stripe.com", "http://p:3128"),
        (
            {"HTTPS_PROXY": "http://P", "https_proxy": "http://p"},
            "https://api.stripe.com",
            "http://p",
        ),
        ({"HTTP_PROXY": "http://p:3128"}, "https://api.stripe.com", None),
        ({"ALL_PROXY": "http://a:1"}, "https://api.stripe.com", "http://a:1"),
        ({"https_proxy": "http://p", "no_proxy": "stripe.com"}, "https://api.stripe.com", None),
        ({"https_proxy": "http://p", "NO_PROXY": "*"}, "https://api.stripe.com", None),
        (
            {"https_proxy": "http://p", "no_proxy": "example.com"},
            "https://api.stripe.com",
            "http://p",
        ),
        ({"http_proxy": "http://p", "no_proxy": "10.0.0.0/8"}, "http://10.1.2.3:12111", None),
        (
            {"http_proxy": "http://p", "no_proxy": "localhost:99"},
            "http://localhost:12111",
            "http://p",
        ),
        ({"http_proxy": "http://p", "no_proxy": ".stripe.com"}, "http://stripe.com", None),
    ],
)
def test_the_proxy_is_read_as_curl_reads_it(
    environ: dict[str, str], url: str, proxy: str | None
) -> None:
    assert proxy_for(url, environ) == proxy


def test_a_proxy_of_an_unknown_kind_is_a_configuration_error() -> None:
    with pytest.raises(errors.ConfigError, match="only http:// and https:// proxies"):
        SdkGateway(
            "sk_test_transport",
            api_base="https://api.stripe.com",
            environ={"HTTPS_PROXY": "socks5://127.0.0.1:1080"},
        )


def test_threads_share_one_pool_of_keep_alive_connections() -> None:
    with answering() as (url, seen):
        gateway = SdkGateway("sk_test_transport", api_base=url, timeout_s=5, pool_size=4)
        start = threading.Barrier(4)

        def work() -> None:
            start.wait()
            for _ in range(25):
                gateway.platform()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        gateway.close()
    assert len(seen.lines) == 100
    assert 1 <= len(seen.ports) <= 4  # each connection kept alive and reused
