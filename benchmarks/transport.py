"""Transport benchmark: the CPU one Stripe request costs under the SDK, for each HTTP client
ledgerrun could give it, to choose one.

    .venv/bin/python benchmarks/transport.py [--requests N]

Every candidate makes the same transfer debits through ``stripe.StripeClient.raw_request`` (as
the gateway does), one after another, against the sandbox in its own process with no latency;
the figure is this process's CPU time (user + system) per request. The candidates run in turn,
three rounds, so each meets the same machine load; the median and range of the rounds are printed.

* ``RequestsClient``: the SDK's default, on a ``requests.Session`` as it comes (it consults the
  environment for proxies, ``.netrc`` and CA bundles on every request);
* ``RequestsClient, trust_env off``: the same on a session that does not consult the
  environment per request, its proxies resolved once when it is made;
* ``HTTPXClient``: the SDK's httpx client (``allow_sync_methods=True``);
* ``urllib3 pool (ledgerrun)``: :class:`ledgerrun.stripe.transport.PooledHTTPClient`, a small
  ``stripe.HTTPClient`` on urllib3's public connection pool, what ledgerrun uses;
* ``floor: bare http.client``: one keep-alive ``http.client`` connection written here only to be
  measured (no pool, no proxy, no TLS set-up): what is left is the SDK's own work.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)
import requests
import stripe
from requests.adapters import HTTPAdapter
from run import KEY, PLATFORM, seed, start_sandbox

from ledgerrun.stripe.transport import PooledHTTPClient, proxy_for

TIMEOUT_S = 30.0
POOL = 10


class BareHTTPClient(stripe.HTTPClient):
    """One keep-alive ``http.client`` connection, no retries: the least a transport can do."""

    name = "bare-http-client"

    def __init__(self) -> None:
        super().__init__()
        self._conn: http.client.HTTPConnection | None = None

    # The SDK types HTTPClient.request as answering str; its own clients answer bytes, as here.
    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        parts = urlsplit(url)
        if self._conn is None:
            self._conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = post_data.encode() if isinstance(post_data, str) else post_data
        self._conn.request(method.upper(), target, body=body, headers=dict(headers or {}))
        response = self._conn.getresponse()
        return response.read(), response.status, response.headers  # type: ignore[return-value]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def requests_client(url: str, *, trust_env: bool) -> stripe.HTTPClient:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=POOL)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if not trust_env:
        session.trust_env = False
        proxy = proxy_for(url, os.environ)
        session.proxies = {urlsplit(url).scheme: proxy} if proxy else {}
    return stripe.RequestsClient(timeout=TIMEOUT_S, session=session)


def candidates(url: str) -> dict[str, Callable[[], stripe.HTTPClient]]:
    return {
        "RequestsClient": lambda: requests_client(url, trust_env=True),
        "RequestsClient, trust_env off": lambda: requests_client(url, trust_env=False),
        "HTTPXClient": lambda: stripe.HTTPXClient(timeout=TIMEOUT_S, allow_sync_methods=True),
        "urllib3 pool (ledgerrun)": lambda: PooledHTTPClient(
            url, timeout_s=TIMEOUT_S, pool_size=POOL
        ),
        "floor: bare http.client": BareHTTPClient,
    }


def cpu_per_request(client: stripe.StripeClient, ids: list[str], count: int, tag: str) -> float:
    started = time.process_time()
    for n in range(count):
        client.raw_request(
            "post",
            "/v1/transfers",
            amount=100,
            currency="usd",
            destination=PLATFORM,
            stripe_account=ids[n % len(ids)],
            idempotency_key=f"{tag}-{n}",
        )
    return (time.process_time() - started) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ledgerrun-transport-"))
    accounts, ids = seed(folder, 100)
    proc, url = start_sandbox(accounts, 0)
    try:
        makers = candidates(url)
        figures: dict[str, list[float]] = {name: [] for name in makers}
        for round_ in range(3):
            for name, make in makers.items():
                http_client = make()
                client = stripe.StripeClient(
                    KEY, base_addresses={"api": url}, max_network_retries=0, http_client=http_client
                )
                client.raw_request("get", "/v1/account")  # connect before the clock starts
                tag = f"t{len(name)}-{round_}-{time.time_ns()}"
                figures[name].append(cpu_per_request(client, ids, args.requests, tag))
                http_client.close()  # type: ignore[no-untyped-call]
    finally:
        proc.terminate()
        proc.wait()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, stripe {stripe.VERSION}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"command: benchmarks/transport.py --requests {args.requests}")
    print(f"{args.requests} transfer debits per round, 3 rounds; CPU ms per request:")
    base = statistics.median(figures["RequestsClient"])
    for name, values in figures.items():
        median = statistics.median(values)
        print(
            f"  {name:<30} {median:.3f} ({min(values):.3f}-{max(values):.3f})"
            f"  {median / base:5.2f} of RequestsClient"
        )
    chosen = [name for name in figures if not name.startswith("floor")]
    best = min(chosen, key=lambda name: statistics.median(figures[name]))
    print(f"cheapest candidate: {best}")


if __name__ == "__main__":
    main()
