"""The HTTP side: a threading HTTP/1.1 server with keep-alive, and :class:`SandboxServer`.

Each connection gets a thread; a request is read, handed to the API
(:class:`~ledgerrun_sandbox.api.SandboxApi`), and its answer written back in a single ``send``
(status line, headers and body together, with ``TCP_NODELAY``) so keep-alive clients never wait
on Nagle's algorithm.
``stop()`` closes the listening socket, shuts every open connection and joins every thread.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from ledgerrun_sandbox.api import Request, Response, SandboxApi
from ledgerrun_sandbox.errors import ApiError
from ledgerrun_sandbox.faults import FaultInjector, Faults
from ledgerrun_sandbox.limits import RateLimiter
from ledgerrun_sandbox.seed import Seed, load_seed
from ledgerrun_sandbox.state import SandboxState

log = logging.getLogger("ledgerrun_sandbox")

MAX_BODY_BYTES = 1 << 20


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ledgerrun-sandbox"
    disable_nagle_algorithm = True
    timeout = 300  # an idle keep-alive connection is closed after five minutes
    server: _HttpServer

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        started = time.monotonic()
        body = self._read_body()
        if body is None:
            return
        target, _, query = self.path.partition("?")
        request = Request(
            method=self.command,
            path=unquote(target),
            query=query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.api.handle(request)
        except Exception:
            log.exception("unexpected failure answering %s %s", self.command, target)
            error = ApiError(
                500, "The sandbox failed unexpectedly.", type="api_error", should_retry=True
            )
            response = self.server.api.error_answer(error)
        if response.drop:
            self.close_connection = True
        else:
            self._send(response)
        if self.server.verbose:
            elapsed_ms = (time.monotonic() - started) * 1000
            status = "dropped" if response.drop else str(response.status)
            log.info("%s %s -> %s (%.1f ms)", self.command, self.path, status, elapsed_ms)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._refuse(411, "Send the body with a Content-Length, not chunked.")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._refuse(400, f"Content-Length must be between 0 and {MAX_BODY_BYTES} bytes.")
            return None
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            # The client went away in the middle of its request (a killed process): Stripe
            # acts on no half-received request, so neither does the sandbox, and it has no
            # one to answer.
            self.close_connection = True
            return None
        return body

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True
        self._send(self.server.api.error_answer(ApiError(status, message)))

    def _send(self, response: Response) -> None:
        reason = self.responses.get(response.status, ("",))[0]
        lines = [f"HTTP/1.1 {response.status} {reason}"]
        lines += [f"{name}: {value}" for name, value in response.headers]
        lines.append(f"Content-Length: {len(response.body)}")
        lines.append("Connection: close" if self.close_connection else "Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + response.body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            log.info("%s - %s", self.address_string(), format % args)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], api: SandboxApi, *, verbose: bool) -> None:
        self.api = api
        self.verbose = verbose
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._connections_lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def serve_until_stopped(self) -> None:
        """Accept connections until :meth:`request_stop` (which wakes this loop at once)."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self._stopping.is_set():
                        self._accept_one()

    def _accept_one(self) -> None:
        try:
            request, client_address = self.get_request()
        except OSError:
            return
        try:
            self.process_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
            self.shutdown_request(request)

    def request_stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the host name up (socket.getfqdn): skip that.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._run, args=(request, client_address), daemon=True, name="sandbox-conn"
        )
        with self._connections_lock:
            self._connections[thread] = request
        thread.start()

    def _run(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Usually a client that went away mid-answer; not worth a traceback.
        log.debug("connection from %s failed", client_address, exc_info=True)

    def close_connections(self, timeout: float) -> None:
        with self._connections_lock:
            open_now = list(self._connections.items())
        for _, sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread, _ in open_now:
            thread.join(max(0.0, deadline - time.monotonic()))


class SandboxServer:
    """A local, stateful Stripe API for account debits, served from a background thread.

    ``seed`` is a dict in the seed format or a path to its JSON file (see
    :mod:`ledgerrun_sandbox.seed`); a malformed one raises :class:`SeedError` here, before
    anything listens, and so does a sandbox that would accept no key (the seed's ``api_keys``
    plus ``api_keys``). ``seed_rng`` seeds every random fault decision. ``limits`` is
    ``"test"`` (Stripe's test-mode rate limits, the default), ``"live"`` or ``"off"``;
    ``limit_clock`` replaces the buckets' monotonic clock (tests). ``refund_settle_s``: refunds
    stay ``pending`` that many seconds of the sandbox clock (0: they succeed at once).
    ``search_lag_s``: a charge shows in search results that long after it was made.
    """

    def __init__(
        self,
        seed: Seed | dict[str, Any] | str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        seed_rng: int | None = 0,
        *,
        verbose: bool = False,
        api_keys: Iterable[str] = (),
        limits: str = "test",
        limit_clock: Callable[[], float] | None = None,
        refund_settle_s: float = 0.0,
        search_lag_s: float = 0.0,
    ) -> None:
        self.seed = load_seed(seed)
        self.state = SandboxState(
            self.seed,
            api_keys=frozenset(api_keys),
            refund_settle_s=refund_settle_s,
            search_lag_s=search_lag_s,
        )
        self.injector = FaultInjector(faults or Faults(), seed_rng)
        self.limiter = (
            RateLimiter(limits) if limit_clock is None else RateLimiter(limits, limit_clock)
        )
        self.api = SandboxApi(self.state, self.injector, self.limiter)
        self.verbose = verbose
        self._address = (host, port)
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def faults(self) -> Faults:
        return self.injector.faults

    def set_faults(self, faults: Faults) -> None:
        """Change the injected faults while serving (the random sequence carries on)."""
        self.injector.set_faults(faults)

    def start(self) -> SandboxServer:
        """Bind and serve in a background thread. Port 0 picks a free port; after a stop, a
        start serves the same state on the same port again (an outage that ends)."""
        if self._httpd is not None:
            raise RuntimeError("the sandbox is already started")
        httpd = _HttpServer(self._address, self.api, verbose=self.verbose)
        self._httpd = httpd
        self._address = (self._address[0], httpd.server_port)  # a restart keeps the port
        self._thread = threading.Thread(target=httpd.serve_until_stopped, name="sandbox-accept")
        self._thread.daemon = True
        self._thread.start()
        return self

    @property
    def host(self) -> str:
        return self._address[0] if self._httpd is None else self._httpd.server_name

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started; call start() first")
        return self._httpd.server_port

    @property
    def url(self) -> str:
        host = self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, close the listening socket and every connection, join threads."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.request_stop()
        if thread is not None:
            thread.join(timeout)
        httpd.server_close()
        httpd.close_connections(timeout)
        self._httpd = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
