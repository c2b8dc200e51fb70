"""Live-mode limits benchmark: a night of debits by transfer under Stripe's live rate limits.

    .venv/bin/python benchmarks/live_limits.py [--rows 600] [--accounts 60] [--latency-ms 50]

Starts the sandbox as its own process with ``--limits live`` (100 requests a second for the
account, 25 a second per endpoint, as Stripe documents; beyond them a 429 that is not executed),
and runs ``ledgerrun run`` on ROWS debits by transfer spread over ACCOUNTS accounts with the
job's defaults (``rate_limit = "auto"``) at ``rate_share = 1.0``. Every debit is one
``POST /v1/transfers``, whose own limit (25/s) is the run's ceiling.

Goals (issue 20): exit 0; every adjustment debited exactly once (the sandbox's books); at most 3%
of the requests answered 429; at least 0.8 of 25 debits a second over the whole run (start-up,
pre-flight and the guard included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)
from run import KEY, ledger, seed, start_sandbox

ENDPOINT_LIMIT = 25  # POST /v1/transfers, requests a second (Stripe's per-endpoint limit)


def state(url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{url}/_sandbox/state", timeout=30) as answer:
        return dict(json.load(answer))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--accounts", type=int, default=60)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"command: {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        accounts, ids = seed(folder, args.accounts)
        proc, url = start_sandbox(accounts, args.latency_ms, limits="live")
        try:
            path = ledger(folder, ids, args.rows, "live")
            job = folder / "live.toml"
            job.write_text(
                f'[job]\nname = "live"\nledger = "{path}"\n'
                f'results = "{folder}/live.results.csv"\njournal = "{folder}/live.sqlite"\n'
                f'[stripe]\napi_base = "{url}"\nlimits = "live"\nrate_share = 1.0\n'
            )
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "ledgerrun", "run", str(job)],
                env={**os.environ, "STRIPE_API_KEY": KEY},
                capture_output=True,
                text=True,
                check=False,
            )
            wall = time.perf_counter() - start
            books = state(url)
            summary = json.loads((folder / "live.results.csv.summary.json").read_text())
        finally:
            proc.terminate()
            proc.wait()
    stats = books["stats"]
    assert isinstance(stats, dict)
    transfers = books["transfers"]
    assert isinstance(transfers, list)
    made = Counter(
        t["metadata"].get("ledgerrun_adjustment_id")
        for t in transfers
        if t["metadata"].get("ledgerrun_job") == "live"
    )
    once = len(made) == args.rows and set(made.values()) == {1}
    share_429 = stats["rate_limited"] / max(stats["requests"], 1)
    overall = args.rows / wall
    print(
        f"exit {done.returncode}; {len(made)} of {args.rows} adjustments debited, "
        f"{'each once' if once else 'NOT each once'}; {stats['requests']} requests, "
        f"{stats['rate_limited']} answered 429 ({share_429:.1%}); {wall:.1f} s wall, "
        f"{overall:.1f} debits/s ({overall / ENDPOINT_LIMIT:.2f} of {ENDPOINT_LIMIT}/s)"
    )
    met = done.returncode == 0 and once and share_429 <= 0.03 and overall >= 0.8 * ENDPOINT_LIMIT
    print(
        "goals (exit 0, exactly once, <= 3% answered 429, >= 0.8 of 25/s overall):",
        "met" if met else "NOT met",
    )
    sending = summary["sending"]
    print(
        f"sending: {sending['rows']} debits in {sending['seconds']:.1f} s "
        f"({sending['rows'] / max(sending['seconds'], 1e-9):.1f}/s); before it: "
        f"{wall - sending['seconds']:.1f} s (start-up, pre-flight, the guard)"
    )
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")


if __name__ == "__main__":
    main()
