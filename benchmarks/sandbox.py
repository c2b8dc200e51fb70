"""Throughput of the sandbox: transfer debits per second from keep-alive clients.

Starts ``python -m ledgerrun sandbox`` in a separate process with a generated seed (many
Express accounts with large balances), then drives ``POST /v1/transfers`` account debits (as
the connected accounts, each with a unique idempotency key) from several client threads for a
fixed time, and prints requests/s, latency percentiles, the machine and the exact command.

    .venv/bin/python benchmarks/sandbox.py                   # raw keep-alive HTTP clients
    .venv/bin/python benchmarks/sandbox.py --client sdk      # the official stripe SDK

Target: at least 500 debits/s on a 2-core machine. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)

PLATFORM_ID = "acct_1BenchPlatform0000"
API_KEY = "sk_test_51BenchmarkKey000000000"


def make_seed(accounts: int) -> dict[str, Any]:
    return {
        "platform": {"id": PLATFORM_ID, "country": "US", "default_currency": "usd"},
        "accounts": [
            {
                "id": f"acct_1Bench{i:012d}",
                "type": "express",
                "country": "US",
                "default_currency": "usd",
                "balance": {"usd": 10**13},
            }
            for i in range(accounts)
        ],
    }


def start_sandbox(seed_path: Path, extra: list[str]) -> tuple[subprocess.Popen[str], str, str]:
    command = [
        sys.executable, "-m", "ledgerrun", "sandbox",
        "--accounts", str(seed_path), "--port", "0", "--api-key", API_KEY, "--limits", "off",
        *extra,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("listening on "):
        process.kill()
        raise SystemExit(f"the sandbox did not start: {first!r}")
    return process, first.removeprefix("listening on "), shlex.join(command)


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.ok = 0
        self.failed: dict[str, int] = {}

    def merge(self, latencies: list[float], ok: int, failed: dict[str, int]) -> None:
        with self.lock:
            self.latencies += latencies
            self.ok += ok
            for key, n in failed.items():
                self.failed[key] = self.failed.get(key, 0) + n


def raw_worker(url: str, accounts: list[str], deadline: float, results: Results) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    rng = random.Random()
    latencies: list[float] = []
    ok, failed = 0, dict[str, int]()
    body = urlencode(
        {"amount": 100, "currency": "usd", "destination": PLATFORM_ID, "metadata[bench]": "1"}
    )
    while time.monotonic() < deadline:
        headers = {
            "Authorization": f"Bearer {API_KEY}",
            "Stripe-Account": rng.choice(accounts),
            "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        started = time.perf_counter()
        connection.request("POST", "/v1/transfers", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.status == 200:
            ok += 1
        else:
            failed[str(response.status)] = failed.get(str(response.status), 0) + 1
    connection.close()
    results.merge(latencies, ok, failed)


def sdk_worker(url: str, accounts: list[str], deadline: float, results: Results) -> None:
    import stripe

    client = stripe.StripeClient(API_KEY, base_addresses={"api": url}, max_network_retries=0)
    rng = random.Random()
    latencies: list[float] = []
    ok, failed = 0, dict[str, int]()
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            client.v1.transfers.create(
                {"amount": 100, "currency": "usd", "destination": PLATFORM_ID},
                {"stripe_account": rng.choice(accounts), "idempotency_key": uuid.uuid4().hex},
            )
            ok += 1
        except stripe.StripeError as exc:
            failed[type(exc).__name__] = failed.get(type(exc).__name__, 0) + 1
        latencies.append(time.perf_counter() - started)
    results.merge(latencies, ok, failed)


def fetch_stats(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    connection.request("GET", "/_sandbox/state")
    state: dict[str, Any] = json.loads(connection.getresponse().read())
    connection.close()
    return {"stats": state["stats"], "transfers": len(state["transfers"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--accounts", type=int, default=500, help="connected accounts")
    parser.add_argument("--client", choices=("raw", "sdk"), default="raw")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="sandbox latency fault")
    args = parser.parse_args()

    seed = make_seed(args.accounts)
    accounts = [a["id"] for a in seed["accounts"]]
    with tempfile.TemporaryDirectory() as tmp:
        seed_path = Path(tmp) / "bench-accounts.json"
        seed_path.write_text(json.dumps(seed))
        extra = ["--latency-ms", str(args.latency_ms)] if args.latency_ms else []
        process, url, command = start_sandbox(seed_path, extra)
        try:
            worker = raw_worker if args.client == "raw" else sdk_worker
            results = Results()
            # Warm up (connections, first imports) before the clock starts.
            worker(url, accounts, time.monotonic() + 0.5, Results())
            before = fetch_stats(url)
            started = time.monotonic()
            deadline = started + args.duration
            threads = [
                threading.Thread(target=worker, args=(url, accounts, deadline, results))
                for _ in range(args.threads)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            stats = fetch_stats(url)
        finally:
            process.send_signal(signal.SIGTERM)
            exit_code = process.wait(timeout=30)

    latencies = sorted(results.latencies)
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"sandbox command : {command}")
    print(f"benchmark       : {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"machine         : {os.cpu_count()} CPUs, {platform.machine()}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )
    print(
        f"load            : {args.threads} keep-alive {args.client} client threads, "
        f"{args.accounts} accounts, {args.duration:.0f} s"
    )
    print(f"debits created  : {results.ok} ({len(latencies)} requests, failed {results.failed})")
    print(f"throughput      : {len(latencies) / elapsed:.0f} requests/s")
    print(
        f"latency         : p50 {quantiles[49] * 1000:.2f} ms, p99 {quantiles[98] * 1000:.2f} ms, "
        f"max {latencies[-1] * 1000:.2f} ms"
    )
    executed = stats["stats"]["writes_executed"] - before["stats"]["writes_executed"]
    verdict = "matches" if executed == results.ok else "DOES NOT MATCH"
    print(f"sandbox check   : {executed} writes executed during the run ({verdict} the clients)")
    print(f"sandbox exit    : {exit_code}")


if __name__ == "__main__":
    main()
