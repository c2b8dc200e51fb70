"""What the Stripe guard costs, in requests, on the sandbox.

    .venv/bin/python benchmarks/guard.py [--rows 3000] [--accounts 300] [--platform 3000]
                                         [--pending 500]

Three nights of one job over ``accounts`` of a platform's ``platform`` connected accounts, run
through the real command line against an in-process sandbox whose own counters tell how many
requests arrived, and at which endpoint (the guard's are the listings: ``GET /v1/accounts``,
``GET /v1/transfers``, ``GET /v1/charges/search``, ``GET /v1/charges/{id}``):

1. first night: ``rows`` new adjustments with an empty journal, which first sweeps every
   connected account: target at most rows + 2 x accounts + (platform - accounts) + the pages
   of accounts + 2 (the platform, and its credits);
2. second night, the same accounts, new adjustments, within a day (no sweep; account checks
   reused from the store; each listing reads only what is new): target at most rows + accounts
   + 2 (the platform, and its credits);
3. ``pending`` adjustments whose answers were lost, settled more than 23 hours later (every
   debit exists; the run must find them by listing, not one look-up each): target at most
   accounts + rows / 100.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ledgerrun_sandbox import Faults, SandboxServer  # noqa: E402

PLATFORM = "acct_1PlatformGUARD000"
KEY = "sk_test_guardbenchmark"


GUARD = ("GET /v1/accounts", "GET /v1/transfers", "GET /v1/charges/search", "GET /v1/charges/{id}")


def requests(url: str) -> tuple[int, int]:
    """Requests so far: all of them, and the guard's listings."""
    with urllib.request.urlopen(url + "/_sandbox/state") as answer:
        stats = json.load(answer)["stats"]
    return int(stats["requests"]), sum(int(stats["operations"].get(op, 0)) for op in GUARD)


def advance(url: str, seconds: float) -> None:
    request = urllib.request.Request(
        url + "/_sandbox/clock", data=f"advance_s={seconds}".encode(), method="POST"
    )
    urllib.request.urlopen(request).close()


def run(job: Path, date: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledgerrun", "run", str(job), "--date", date],
        env={**os.environ, "STRIPE_API_KEY": KEY},
        capture_output=True,
        text=True,
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--platform", type=int, default=3000)
    parser.add_argument("--pending", type=int, default=500)
    args = parser.parse_args()
    everyone = [f"acct_1Guard{n:08d}" for n in range(max(args.platform, args.accounts))]
    accounts = everyone[: args.accounts]
    seed = {
        "platform": {"id": PLATFORM, "country": "US", "default_currency": "usd"},
        "accounts": [
            {"id": a, "type": "express", "country": "US", "default_currency": "usd",
             "balance": {"usd": 10**10}}
            for a in everyone
        ],
    }  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(seed, api_keys=[KEY], limits="off") as sandbox,
    ):
        folder = Path(tmp)
        (folder / "inbox").mkdir()
        for night, prefix in (("2026-11-25", "A"), ("2026-11-26", "B"), ("2026-11-27", "P")):
            count = args.pending if prefix == "P" else args.rows
            lines = ["adjustment_id,account,amount,currency"]
            lines += [f"{prefix}-{n},{accounts[n % len(accounts)]},1.00,usd" for n in range(count)]
            (folder / "inbox" / f"adj-{night}.csv").write_text("\n".join(lines) + "\n")
        job = folder / "nightly.toml"
        job.write_text(
            '[job]\nname = "nightly"\nledger = "inbox/adj-{date}.csv"\n'
            'results = "out/{job}-{date}.results.csv"\njournal = "state/journal.sqlite"\n'
            f'[stripe]\napi_base = "{sandbox.url}"\nrate_limit = 1000\n'
            f'limits = "off"\nconcurrency = 16\n'
        )
        sweep = len(everyone) - len(accounts) + -(-len(everyone) // 100)  # listings, pages
        report = []
        for night, rows, target in (
            ("2026-11-25", args.rows, args.rows + 2 * args.accounts + sweep + 2),
            ("2026-11-26", args.rows, args.rows + args.accounts + 2),
        ):
            (before, guard_before), started = requests(sandbox.url), time.monotonic()
            done = run(job, night)
            assert done.returncode == 0, done.stdout + done.stderr
            after, guard_after = requests(sandbox.url)
            report.append((night, rows, after - before, guard_after - guard_before, target,
                           time.monotonic() - started))  # fmt: skip
        # Night three: every answer lost (committed, then the connection dropped), one try each.
        sandbox.set_faults(Faults(drop_rate=1.0, writes_only=True))
        job.write_text(job.read_text() + "max_attempts = 1\nbreaker_after = 100000\n")
        lost = run(job, "2026-11-27")
        assert lost.returncode == 3, lost.stdout + lost.stderr
        sandbox.set_faults(Faults())
        advance(sandbox.url, 25 * 3600)
        pending_accounts = min(args.accounts, args.pending)
        (before, guard_before), started = requests(sandbox.url), time.monotonic()
        settled = run(job, "2026-11-27")
        assert settled.returncode == 0, settled.stdout + settled.stderr
        after, guard_after = requests(sandbox.url)
        target = pending_accounts + args.pending // 100
        report.append(("settle 25 h later", args.pending, after - before,
                       guard_after - guard_before, target, time.monotonic() - started))  # fmt: skip
    print(f"platform of {len(everyone):,} connected accounts; the ledgers use {len(accounts):,}")
    print(f"{'run':<20} {'rows':>6} {'requests':>9} {'guard':>6} {'target':>7}  seconds")
    for name, rows, used, guard, target, seconds in report:
        verdict = "ok" if used <= target else "OVER"
        print(f"{name:<20} {rows:>6} {used:>9} {guard:>6} {target:>7}  {seconds:7.1f}  {verdict}")


if __name__ == "__main__":
    main()
