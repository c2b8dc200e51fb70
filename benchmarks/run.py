"""Run benchmark: how close `ledgerrun run` gets to its rate limit, and what it costs in CPU.

    .venv/bin/python benchmarks/run.py [--rows 3000] [--accounts 300] [--latency-ms 0,100]
                                       [--rates 100,25] [--repeat 1]

For each latency, starts the sandbox as its own process with that latency, generates ledgers of
ROWS debits spread over ACCOUNTS accounts, and runs `ledgerrun run` on each (a fresh journal each
time) at each rate limit, ``--repeat`` times (medians, with the range when repeated). It reports:

* debits/s while sending (from the run summary) as a fraction of the rate limit (target >= 0.9),
  and debits/s over the whole process (start-up and pre-flight included);
* the runner process's CPU time (user + system) per debit, whole (start-up included), and
  marginal: less the fixed cost of a run, measured on the same sandbox as the CPU of a one-row
  run (median of three), over the other ROWS - 1 debits. Goal (issue 26): marginal CPU at most
  1.0 ms per debit at any latency;
* the ratio against a plain sequential loop of `client.v1.transfers.create` on the same sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)
import stripe

KEY = "sk_test_benchmark_key_0000"
PLATFORM = "acct_1PlatformBENCHAAAA"
GOAL_MS = 1.0  # marginal CPU per debit (issue 26)


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
    per = max(1, rows // len(ids))
    for n in range(rows):
        lines.append(
            f"{tag}-{n:06d},{ids[n // per % len(ids)]},{rng.randrange(100, 99999) / 100:.2f},usd"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def run_once(
    folder: Path, url: str, ledger_path: Path, rate: int, concurrency: int
) -> dict[str, float]:
    tag = ledger_path.stem.removeprefix("ledger-")
    job = folder / f"bench-{tag}.toml"
    job.write_text(
        f'[job]\nname = "bench-{tag}"\nledger = "{ledger_path}"\n'
        f'results = "{folder}/bench-{tag}.results.csv"\njournal = "{folder}/bench-{tag}.sqlite"\n'
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
    summary = json.loads(Path(f"{folder}/bench-{tag}.results.csv.summary.json").read_text())
    rows = summary["counts"]["succeeded"]
    cpu_s = usage.ru_utime + usage.ru_stime
    return {
        "rows": rows,
        "wall_s": wall,
        "sending_rate": summary["sending"]["rows"] / max(summary["sending"]["seconds"], 1e-9),
        "overall_rate": rows / wall,
        "cpu_s": cpu_s,
        "cpu_ms_per_debit": cpu_s * 1000 / rows,
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


def fixed_cost(folder: Path, url: str, ids: list[str], tag: str) -> float:
    """CPU seconds of a one-row run (start-up, pre-flight of one account, one debit, results
    and report): the median of three."""
    runs = [
        run_once(folder, url, ledger(folder, ids[:1], 1, f"{tag}-one{n}"), 100, 1)
        for n in (1, 2, 3)
    ]
    return statistics.median(r["cpu_s"] for r in runs)


def spread(values: list[float], fmt: str) -> str:
    """The median, and the range when there are several."""
    median = format(statistics.median(values), fmt)
    if len(values) < 2:
        return median
    return f"{median} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--latency-ms", default="0,100", help="comma-separated, one round each")
    parser.add_argument("--rates", default="100,25", help="rate limits, comma-separated")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    latencies = [float(v) for v in args.latency_ms.split(",")]
    rates = [int(v) for v in args.rates.split(",")]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        f"; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"command: {' '.join(sys.argv)}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        accounts, ids = seed(folder, args.accounts)
        for latency in latencies:
            proc, url = start_sandbox(accounts, latency)
            try:
                loop = sequential(url, ids, 50)
                fixed = fixed_cost(folder, url, ids, f"l{latency:.0f}")
                print(
                    f"sandbox latency {latency:.0f} ms; sequential SDK loop: {loop:.1f} debits/s; "
                    f"fixed cost of a run (one row): {fixed:.3f} s CPU"
                )
                print(
                    f"{'rate':>5} {'rows':>6} {'sending/s':>10} {'of limit':>9} "
                    f"{'overall/s':>10} {'CPU/debit':>10} {'marginal CPU/debit':>26} {'vs loop':>8}"
                )
                for rate in rates:
                    runs = []
                    for n in range(args.repeat):
                        tag = f"l{latency:.0f}-r{rate}-{n}"
                        path = ledger(folder, ids, args.rows, tag)
                        runs.append(run_once(folder, url, path, rate, args.concurrency))
                    rows = int(statistics.median(r["rows"] for r in runs))
                    marginal = [(r["cpu_s"] - fixed) * 1000 / max(r["rows"] - 1, 1) for r in runs]
                    sending = [r["sending_rate"] for r in runs]
                    fraction = statistics.median(sending) / rate
                    met = statistics.median(marginal) <= GOAL_MS
                    ok &= fraction >= 0.9 and met
                    overall = statistics.median(r["overall_rate"] for r in runs)
                    whole = statistics.median(r["cpu_ms_per_debit"] for r in runs)
                    print(
                        f"{rate:>5} {rows:>6} {statistics.median(sending):>10.1f} "
                        f"{fraction:>9.2f} {overall:>10.1f} {whole:>8.2f}ms "
                        f"{spread(marginal, '.2f'):>17}ms {'<=' if met else '>'} {GOAL_MS:.1f} "
                        f"{statistics.median(sending) / loop:>7.1f}x"
                    )
            finally:
                proc.terminate()
                proc.wait()
    print(
        f"targets (>= 0.9 of the limit while sending; marginal CPU <= {GOAL_MS:.1f} ms per debit "
        "at every latency):",
        "met" if ok else "NOT met",
    )


if __name__ == "__main__":
    main()
