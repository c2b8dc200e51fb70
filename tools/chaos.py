"""Crash and fault scenarios, shared by the test suite (short, seeded) and `make soak` (long).

    .venv/bin/python -m tools.chaos crash --rows 1500 --kills 30 --seed 7
    .venv/bin/python -m tools.chaos faults --rows 1500 --seed 7
    .venv/bin/python -m tools.chaos crash --journal postgresql://...   (a PostgreSQL store)

Each scenario runs the real CLI as a subprocess against a sandbox in its own process, then proves
on the sandbox's own state that every adjustment was debited exactly once and that money adds up.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.cli import cli, results_rows, start_cli
from tests.helpers.constants import KEY
from tests.helpers.sandbox import balances, debits, sandbox_state

PLATFORM = "acct_1PlatformCHAOS0000"


@dataclass
class World:
    folder: Path
    url: str
    job: Path
    ledger: dict[str, tuple[str, int]]  # adjustment id -> (account, amount in cents)
    accounts: list[str]
    seed_balances: dict[str, dict[str, int]]


def start_run(job: Path) -> subprocess.Popen[str]:
    return start_cli("run", job)


@contextmanager
def world(
    folder: Path,
    rows: int,
    seed: int,
    *sandbox_args: str,
    accounts: int = 40,
    rate_limit: int = 150,
    concurrency: int = 8,
    journal: str = "state/chaos.sqlite",
) -> Iterator[World]:
    """A sandbox process seeded with ``accounts`` accounts and a ledger of ``rows`` debits; the
    job's store is ``journal`` (a SQLite path, or a PostgreSQL URL)."""
    rng = random.Random(seed)
    ids = [f"acct_1Chaos{n:08d}" for n in range(accounts)]
    seed_data = {
        "platform": {"id": PLATFORM, "country": "US", "default_currency": "usd"},
        "accounts": [
            {
                "id": i,
                "type": "express",
                "country": "US",
                "default_currency": "usd",
                "balance": {"usd": 10_000_000},
            }
            for i in ids
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "accounts.json").write_text(json.dumps(seed_data))
    ledger = {}
    lines = ["adjustment_id,account,amount,currency,method"]
    for n in range(rows):
        account, cents = rng.choice(ids), rng.randrange(100, 50_000)
        method = "charge" if n % 5 == 0 else "transfer"
        ledger[f"C-{n:06d}"] = (account, cents)
        lines.append(f"C-{n:06d},{account},{cents // 100}.{cents % 100:02d},usd,{method}")
    (folder / "ledger.csv").write_text("\n".join(lines) + "\n")
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledgerrun",
            "sandbox",
            "--accounts",
            str(folder / "accounts.json"),
            "--port",
            "0",
            "--seed",
            str(seed),
            "--api-key",
            KEY,
            "--limits",
            "off",  # the run's own rate_limit paces it; Stripe's limits are not under test here
            *sandbox_args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        url = sandbox.stdout.readline().strip().removeprefix("listening on ")
        job = folder / "chaos.toml"
        job.write_text(
            f'[job]\nname = "chaos"\nledger = "ledger.csv"\nresults = "out/results.csv"\n'
            f'journal = "{journal}"\n[stripe]\napi_base = "{url}"\n'
            f"rate_limit = {rate_limit}\n"
            f'limits = "off"\nconcurrency = {concurrency}\ntimeout_s = 5\n'
        )
        yield World(folder, url, job, ledger, ids, balances(sandbox_state(url)))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


def writes(url: str) -> int:
    count: int = sandbox_state(url)["stats"]["write_requests"]
    return count


def crash_loop(w: World, kills: int, seed: int) -> int:
    """SIGKILL the runner ``kills`` times at random moments while it is sending. Returns the
    number of kills made (fewer if the ledger got done first)."""
    rng = random.Random(seed)
    made = 0
    while made < kills:
        proc = start_run(w.job)
        base = writes(w.url)
        while proc.poll() is None and writes(w.url) == base:
            time.sleep(0.02)  # wait for the first debit of this run
        if proc.poll() is not None:
            return made  # finished before it could be killed
        time.sleep(rng.uniform(0.0, 0.4))
        proc.kill()  # SIGKILL: no cleanup of any kind
        proc.wait()
        made += 1
    return made


def finish(w: World, attempts: int = 3) -> list[int]:
    """Run to completion (a run may leave unknowns for the next one to settle)."""
    codes = []
    for _ in range(attempts):
        codes.append(cli("run", w.job).returncode)
        if codes[-1] == 0:
            break
    return codes


def check_exactly_once(w: World) -> None:
    """Every adjustment debited exactly once, balances moved by exactly the ledger's amounts,
    the results file agreeing with Stripe, and reconcile clean."""
    snapshot = sandbox_state(w.url)
    counts = debits(snapshot, "chaos")
    assert set(counts) == set(w.ledger), "adjustments missing or unknown ones debited"
    doubled = {k: v for k, v in counts.items() if v != 1}
    assert not doubled, f"debited more than once: {doubled}"
    now = balances(snapshot)
    owed = Counter[str]()
    for account, cents in w.ledger.values():
        owed[account] += cents
    for account in w.accounts:
        assert w.seed_balances[account]["usd"] - now[account]["usd"] == owed[account], account
    received = now[PLATFORM].get("usd", 0) - w.seed_balances[PLATFORM].get("usd", 0)
    assert received == sum(owed.values())
    rows = results_rows(w.folder / "out" / "results.csv")
    assert {r["status"] for r in rows} == {"succeeded"}
    objects = {t["id"] for t in snapshot["transfers"]} | {c["id"] for c in snapshot["charges"]}
    assert all(r["transfer_id"] in objects and r["payment_id"] in objects for r in rows)
    reconciled = cli("reconcile", w.job)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr


def check_reports(w: World) -> None:
    """No row reported succeeded without its object in Stripe, nor failed when a debit exists."""
    snapshot = sandbox_state(w.url)
    counts = debits(snapshot, "chaos")
    objects = {t["id"] for t in snapshot["transfers"]} | {c["id"] for c in snapshot["charges"]}
    for row in results_rows(w.folder / "out" / "results.csv"):
        if row["status"] == "succeeded":
            assert row["transfer_id"] in objects and row["payment_id"] in objects, row
        if row["status"] == "failed":
            assert counts.get(row["adjustment_id"], 0) == 0, row


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description="long crash and fault runs (make soak)")
    parser.add_argument("scenario", choices=["crash", "faults"])
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--journal", default="state/chaos.sqlite", help="the store: a path, or a PostgreSQL URL"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.scenario == "crash":
            with world(
                Path(tmp), args.rows, args.seed, "--latency-ms", "20", journal=args.journal
            ) as w:
                made = crash_loop(w, args.kills, args.seed)
                codes = finish(w)
                check_exactly_once(w)
                print(
                    f"crash: {args.rows} rows, {made} SIGKILLs, final runs {codes}: "
                    "every adjustment debited exactly once, reconcile clean"
                )
        else:
            faults = ["--error-rate", "0.1", "--error-mode", "retryable",
                      "--lock-timeout-rate", "0.1", "--drop-rate", "0.1"]  # fmt: skip
            with world(Path(tmp), args.rows, args.seed, *faults, journal=args.journal) as w:
                first = cli("run", w.job).returncode
                check_reports(w)
                second = cli("run", w.job).returncode
                check_reports(w)
                check_exactly_once(w)
                print(
                    f"faults: {args.rows} rows, runs exited {first} then {second}: "
                    "every adjustment debited exactly once, reconcile clean"
                )


if __name__ == "__main__":
    main()
