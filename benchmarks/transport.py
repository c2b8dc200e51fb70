"""Transport benchmark: the CPU one Stripe request costs in the SDK's own HTTP client, against
a minimal keep-alive ``http.client`` one, to weigh whether ledgerrun should keep its own.

    .venv/bin/python benchmarks/transport.py [--requests N]

Both sides make the same transfer debits through ``stripe.StripeClient.raw_request`` (as the
gateway does), one after another, against the sandbox in its own process with no latency, and
measure this process's CPU time per request. The ``http.client`` side is written here only to be
measured; ledgerrun itself uses ``stripe.RequestsClient`` (see the gateway's docstring).
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)
import stripe
from run import KEY, PLATFORM, seed, start_sandbox


class PlainTransport(stripe.HTTPClient):
    """One keep-alive ``http.client`` connection, no retries: the least a transport can do."""

    name = "plain-http-client"

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
        self._conn.request(method.upper(), target, body=post_data, headers=dict(headers or {}))
        response = self._conn.getresponse()
        return response.read(), response.status, response.headers  # type: ignore[return-value]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


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
        clients = {
            "stripe.RequestsClient": lambda: stripe.RequestsClient(timeout=30),
            "plain http.client": PlainTransport,
        }
        figures: dict[str, list[float]] = {name: [] for name in clients}
        for round_ in range(3):
            for name, make in clients.items():
                client = stripe.StripeClient(
                    KEY, base_addresses={"api": url}, max_network_retries=0, http_client=make()
                )
                tag = f"{name.split()[0]}-{round_}-{time.time_ns()}"
                figures[name].append(cpu_per_request(client, ids, args.requests, tag))
    finally:
        proc.terminate()
        proc.wait()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, stripe {stripe.VERSION}"
    )
    print("command: benchmarks/transport.py")
    print(f"{args.requests} transfer debits per round, 3 rounds; CPU ms per request (median):")
    for name, values in figures.items():
        print(f"  {name:<24} {statistics.median(values):.3f}")
    extra = statistics.median(figures["stripe.RequestsClient"]) - statistics.median(
        figures["plain http.client"]
    )
    for rate in (25, 100):
        print(f"  difference at {rate:>3} requests/s: {extra * rate / 10:.1f}% of one core")


if __name__ == "__main__":
    main()
