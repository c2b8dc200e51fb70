"""Run benchmark: how close `ledgerrun run` gets to its rate limit, and what it costs in CPU.

    .venv/bin/python benchmarks/run.py [--rows 3000] [--accounts 300] [--latency-ms 100]

Starts the sandbox as its own process with the given latency, generates a ledger of ROWS debits
spread over ACCOUNTS accounts, and runs `ledgerrun run` on it (a fresh journal each time) at
rate_limit 100 and at 25. For each it reports:

* debits/s while sending (from the run summary) as a fraction of the rate limit (target >= 0.9),
  and debits/s over the whole process (start-up and pre-flight included);
* the runner process's CPU time (user + system) per debit (target < 2 ms);
* the ratio against a plain sequential loop of `client.v1.transfers.create` on the same sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)
import stripe

KEY = "sk_test_benchmark_key_0000"
PLATFORM = "acct_1PlatformBENCHAAAA"


def seed(folder: Path, accounts: int) -> tuple[Path, list[str]]:
    ids = [f"acct_1Bench{n:08d}" for n in range(accounts)]
    data = {
        "platform": {"id": PLATFORM, "country": "US", "default_currency": "usd"},
        "accounts": [
            {
                "id": i,
                "type": "express",
                "country": "US",
                "default_currency": "usd",
                "balance": {"usd": 10**12},
            }
            for i in ids
        ],
    }
    path = folder / "accounts.json"
    path.write_text(json.dumps(data))
    return path, ids


def start_sandbox(
    accounts: Path, latency_ms: float, limits: str = "off"
) -> tuple[subprocess.Popen[str], str]:
    """The sandbox in its own process; ``limits`` "off" unless a benchmark measures them."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledgerrun",
            "sandbox",
            "--accounts",
            str(accounts),
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
            "--seed",
            "1",
            "--api-key",
            KEY,
            "--limits",
            limits,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        raise SystemExit(f"sandbox did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def ledger(folder: Path, ids: list[str], rows: int, tag: str) -> Path:
    rng = random.Random(3)
    path = folder / f"ledger-{tag}.csv"
    lines = ["adjustment_id,account,amount,currency"]
    per = rows // len(ids)
    for n in range(rows):
        lines.append(
            f"{tag}-{n:06d},{ids[n // per % len(ids)]},{rng.randrange(100, 99999) / 100:.2f},usd"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def run_once(
    folder: Path, url: str, ledger_path: Path, rate: int, concurrency: int
) -> dict[str, float]:
    job = folder / f"bench-{rate}.toml"
    job.write_text(
        f'[job]\nname = "bench-{rate}"\nledger = "{ledger_path}"\n'
        f'results = "{folder}/bench-{rate}.results.csv"\njournal = "{folder}/bench-{rate}.sqlite"\n'
        f'[stripe]\napi_base = "{url}"\nrate_limit = {rate}\n'
        f'limits = "off"\nconcurrency = {concurrency}\n'
    )
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ledgerrun", "run", str(job)],
        env={**os.environ, "STRIPE_API_KEY": KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"run failed:\n{out}\n{proc.stderr.read() if proc.stderr else ''}")
    summary = json.loads(Path(f"{folder}/bench-{rate}.results.csv.summary.json").read_text())
    rows = summary["counts"]["succeeded"]
    return {
        "rows": rows,
        "wall_s": wall,
        "sending_rate": summary["sending"]["rows"] / max(summary["sending"]["seconds"], 1e-9),
        "overall_rate": rows / wall,
        "cpu_ms_per_debit": (usage.ru_utime + usage.ru_stime) * 1000 / rows,
    }


def sequential(url: str, ids: list[str], count: int) -> float:
    client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)
    start = time.perf_counter()
    for n in range(count):
        client.v1.transfers.create(
            {"amount": 100, "currency": "usd", "destination": PLATFORM},
            {"stripe_account": ids[n % len(ids)], "idempotency_key": f"seq-{n}"},
        )
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"command: {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        accounts, ids = seed(folder, args.accounts)
        proc, url = start_sandbox(accounts, args.latency_ms)
        try:
            loop = sequential(url, ids, 50)
            print(
                f"sandbox latency {args.latency_ms:.0f} ms; "
                f"sequential SDK loop: {loop:.1f} debits/s"
            )
            print(
                f"{'rate':>5} {'rows':>6} {'sending/s':>10} {'of limit':>9} {'overall/s':>10} "
                f"{'CPU/debit':>10} {'vs loop':>8}"
            )
            ok = True
            for rate in (100, 25):
                r = run_once(
                    folder, url, ledger(folder, ids, args.rows, f"r{rate}"), rate, args.concurrency
                )
                fraction = r["sending_rate"] / rate
                ok &= fraction >= 0.9 and r["cpu_ms_per_debit"] < 2
                print(
                    f"{rate:>5} {r['rows']:>6} {r['sending_rate']:>10.1f} {fraction:>9.2f} "
                    f"{r['overall_rate']:>10.1f} {r['cpu_ms_per_debit']:>8.2f}ms "
                    f"{r['sending_rate'] / loop:>7.1f}x"
                )
            print(
                "targets (>= 0.9 of the limit while sending, < 2 ms CPU per debit):",
                "met" if ok else "NOT met",
            )
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
