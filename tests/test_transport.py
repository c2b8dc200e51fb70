"""The SDK transport against a scripted HTTP server on 127.0.0.1: keep-alive, chunked bodies,
closed and dropped connections, interim answers, and headers the SDK reads case-insensitively."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
import stripe

from ledgerrun.stripe.transport import KeepAliveTransport

Script = Callable[[socket.socket, bytes, int], bool]  # (conn, request, n) -> keep connection?


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
            while len(body) < length:
                body += conn.recv(65536)
    return head


class Server:
    """Answers each request with ``script``; counts connections and requests."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            while True:
                request = _read_request(conn)
                if not request:
                    return
                self.requests += 1
                if not self.script(conn, request, self.requests):
                    return


def reply(body: bytes, *headers: str, status: str = "200 OK", version: str = "HTTP/1.1") -> bytes:
    lines = [f"{version} {status}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
def transport() -> Iterator[KeepAliveTransport]:
    t = KeepAliveTransport(timeout_s=5)
    yield t
    t.close()


def test_keep_alive_reuses_one_connection_and_headers_are_case_insensitive(transport) -> None:
    def script(conn: socket.socket, request: bytes, n: int) -> bool:
        body = b'{"n": %d}' % n
        conn.sendall(reply(body, f"Content-Length: {len(body)}", "Request-Id: req_1"))
        return True

    server = Server(script)
    for n in (1, 2, 3):
        content, status, headers = transport.request("get", server.url + "/v1/x?a=1", {})
        assert (content, status) == (b'{"n": %d}' % n, 200)
    assert server.connections == 1
    assert headers["Request-Id"] == headers["request-id"] == headers.get("REQUEST-ID") == "req_1"
    assert "Request-Id" in headers and "Missing" not in headers


def test_chunked_body(transport) -> None:
    def script(conn: socket.socket, request: bytes, n: int) -> bool:
        conn.sendall(reply(b'4\r\n{"a"\r\n5\r\n: 12}\r\n0\r\n\r\n', "Transfer-Encoding: chunked"))
        return True

    server = Server(script)
    content, status, _ = transport.request("get", server.url + "/v1/x", {})
    assert content == b'{"a": 12}' and status == 200
    content, _, _ = transport.request("get", server.url + "/v1/x", {})
    assert content == b'{"a": 12}' and server.connections == 1


def test_connection_close_and_http10_bodies_read_to_the_end(transport) -> None:
    def script(conn: socket.socket, request: bytes, n: int) -> bool:
        if n == 1:
            conn.sendall(reply(b"closing", "Connection: close", "Content-Length: 7"))
        else:
            conn.sendall(reply(b"until eof", version="HTTP/1.0"))
        return False

    server = Server(script)
    assert transport.request("get", server.url + "/a", {})[0] == b"closing"
    assert transport.request("get", server.url + "/b", {})[0] == b"until eof"
    assert server.connections == 2


def test_idle_connection_closed_by_the_server_is_replaced_silently(transport) -> None:
    def script(conn: socket.socket, request: bytes, n: int) -> bool:
        conn.sendall(reply(b"ok", "Content-Length: 2"))
        return False  # close after answering, without saying so

    server = Server(script)
    assert transport.request("get", server.url + "/a", {})[0] == b"ok"
    threading.Event().wait(0.2)  # let the close arrive
    assert transport.request("get", server.url + "/b", {})[0] == b"ok"
    assert server.connections == 2


def test_interim_100_continue_is_skipped(transport) -> None:
    def script(conn: socket.socket, request: bytes, n: int) -> bool:
        conn.sendall(
            b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n" + reply(b"done", "Content-Length: 4")
        )
        return True

    server = Server(script)
    content, status, headers = transport.request("post", server.url + "/v1/x", {}, "a=1")
    assert (content, status) == (b"done", 200) and "x-interim" not in headers


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # dropped: the request arrived, no answer came
        b"garbage\r\n\r\n",  # not HTTP
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # body cut off
    ],
)
def test_no_usable_answer_is_a_retriable_connection_error(transport, answer: bytes) -> None:
    def script(conn: socket.socket, request: bytes, n: int) -> bool:
        conn.sendall(answer)
        return False

    server = Server(script)
    with pytest.raises(stripe.APIConnectionError) as info:
        transport.request("post", server.url + "/v1/transfers", {"Idempotency-Key": "k"}, "a=1")
    assert info.value.should_retry is True


def test_connection_refused_is_a_retriable_connection_error(transport) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(stripe.APIConnectionError) as info:
        transport.request("get", f"http://127.0.0.1:{port}/v1/account", {})
    assert info.value.should_retry is True


def test_request_headers_and_body_reach_the_server(transport) -> None:
    seen: list[bytes] = []

    def script(conn: socket.socket, request: bytes, n: int) -> bool:
        seen.append(request)
        conn.sendall(reply(b"{}", "Content-Length: 2"))
        return True

    server = Server(script)
    transport.request("post", server.url + "/v1/charges?x=1", {"Idempotency-Key": "k-1"}, "a=1")
    assert seen[0].startswith(b"POST /v1/charges?x=1 HTTP/1.1")
    assert b"Idempotency-Key: k-1" in seen[0]
