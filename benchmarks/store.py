"""Store benchmark: what the journal costs a run, on SQLite and on PostgreSQL.

    .venv/bin/python tools/pgserver.py run --durable -- .venv/bin/python benchmarks/store.py
    (make bench runs exactly this; or set LEDGERRUN_TEST_PG to a database it may fill)
    ... benchmarks/store.py --against REV   (the same measures on another version, in the same run)

1. The runner on each store (benchmarks/store_runner.py): a run's sending through the real
   executor, engine and Stripe client on an in-process Stripe (benchmarks/instant.py), into each
   store with its intents durable, at its ceiling (answers at once, concurrency 8: debits per
   second, goal >= 1,000, the store never the bottleneck) and at Stripe's pace (answers after
   100 ms, 100/s, concurrency 32); the CPU of a debit, the part the store costs (against the same
   run with no store at all), statements and transactions per debit. Each run in a process of
   its own, repeated (median and range). ``--against REV`` runs the same on the sources of a git
   revision (``main``, a commit): a same-run baseline.
2. Added latency per debit: the time the runner spends in the store for one debit, an intent
   (committed durably, before the request) plus its outcome (recorded as the engine does, to go
   with the next commit), measured in-process one debit after another; and how many debits per
   second the store takes with 16 threads writing at once.
3. Sending rate: `ledgerrun run` on a sandbox with 100 ms latency at rate_limit 100 with its store
   on PostgreSQL (and on SQLite for comparison); target >= 0.95 of the limit while sending.

The PostgreSQL server fsyncs (``--durable``), so durable commits cost what they cost on a real
server's disk, on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import store_runner
from run import KEY, ledger, seed, start_sandbox

from ledgerrun.store import open_store
from ledgerrun.store.model import PENDING, Entry, Store

T0 = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)


def fresh_pg(base: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options={quote(f'-csearch_path={name}')}"


def entry(key: str) -> Entry:
    return Entry(
        key=key, adjustment_id=key.upper(), job="bench", run_date="2026-11-26",
        direction="debit", account="acct_1Bench00000001", currency="usd", amount_minor=1234,
        method="transfer", state=PENDING, generation=0, idempotency_key=f"ledgerrun.v2:{key}",
        request={"amount": 1234, "currency": "usd", "destination": "acct_1Platform"},
        attempts=0, attempted_at=T0, attempted_at_server=T0, run_id="bench-run",
    )  # fmt: skip


def debit(store: Store, key: str) -> tuple[float, float]:
    """A debit's store calls, as the engine makes them: the intent, then the outcome without
    waiting (it goes with the next commit: here, the next debit's intent)."""
    began = time.perf_counter()
    store.record_intent(entry(key))
    between = time.perf_counter()
    store.record_success(
        key, run_id="bench-run", transfer_id=f"tr_{key}", payment_id=f"py_{key}",
        request_id="req_1", completed_at=T0, attempts=1, wait=False,
    )  # fmt: skip
    return between - began, time.perf_counter() - between


def latency(location: str, count: int) -> dict[str, float]:
    with contextlib.closing(open_store(location)) as store:
        for n in range(50):  # warm up: connections, prepared statements, caches
            debit(store, f"warm-{n}")
        timings = [debit(store, f"one-{n:06d}") for n in range(count)]
        intents = [i for i, _ in timings]
        both = sorted(i + o for i, o in timings)
        threads, per = 16, max(count // 16, 50)

        def work(t: int) -> None:
            for n in range(per):
                debit(store, f"par-{t:02d}-{n:05d}")

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        began = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        parallel = threads * per / (time.perf_counter() - began)
    return {
        "intent_p50": statistics.median(intents) * 1000,
        "outcome_p50": statistics.median(o for _, o in timings) * 1000,
        "p50": both[len(both) // 2] * 1000,
        "p99": both[int(len(both) * 0.99)] * 1000,
        "mean": statistics.fmean(both) * 1000,
        "parallel": parallel,
    }


def send(folder: Path, url: str, ledger_path: Path, journal: str, tag: str) -> dict[str, float]:
    rate = 100
    job = folder / f"{tag}.toml"
    job.write_text(
        f'[job]\nname = "{tag}"\nledger = "{ledger_path}"\n'
        f'results = "{folder}/{tag}.results.csv"\njournal = "{journal}"\n'
        f'[stripe]\napi_base = "{url}"\nrate_limit = {rate}\nlimits = "off"\nconcurrency = 32\n'
    )
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ledgerrun", "run", str(job)],
        env={**os.environ, "STRIPE_API_KEY": KEY}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    summary = json.loads(Path(f"{folder}/{tag}.results.csv.summary.json").read_text())
    rows = summary["counts"]["succeeded"]
    block = summary["sending"]  # the execution phase, as the runner measured it
    sending = block["rows"] / block["seconds"]
    return {"rows": rows, "sending": sending, "of_limit": sending / rate, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debits", type=int, default=2000, help="for the latency measure")
    parser.add_argument("--rows", type=int, default=3000, help="for the runner and sending")
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8, help="for the runner's ceiling")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the runner measure")
    parser.add_argument("--against", metavar="REV", help="the runner measure on this revision too")
    parser.add_argument("--only", choices=["runner", "latency", "sending"], help="one measure")
    args = parser.parse_args()
    base = os.environ.get("LEDGERRUN_TEST_PG")
    if not base:
        raise SystemExit(
            "no PostgreSQL server: run `make bench`, or `tools/pgserver.py run --durable --`"
            " before this command, or set LEDGERRUN_TEST_PG"
        )
    with psycopg.connect(base) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        fsync = conn.execute("SHOW fsync").fetchone()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, PostgreSQL {version[0] if version else '?'} on"
        f" 127.0.0.1 (fsync {fsync[0] if fsync else '?'}); load average"
        f" {' '.join(f'{n:.1f}' for n in os.getloadavg())}"
    )
    print(f"command: {' '.join(sys.argv)}")
    ok: bool | None = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "runner"):
            store_runner.measure(folder, lambda: fresh_pg(base), args)
        if args.only in (None, "latency"):
            measure_latency(folder, base, args.debits)
        if args.only in (None, "sending"):
            ok = measure_sending(folder, base, args.rows, args.accounts)
    print(
        "\ntarget (PostgreSQL store: >= 0.95 of the limit while sending):",
        "not measured" if ok is None else "met" if ok else "NOT met",
    )


def measure_latency(folder: Path, base: str, debits: int) -> None:
    print(f"\nstore time per debit, {debits} debits one after another (ms):")
    print(
        f"{'store':<11} {'intent p50':>10} {'outcome p50':>11} {'both p50':>9} {'both p99':>9}"
        f" {'mean':>6} {'16 threads':>14}"
    )
    for name, location in (
        ("SQLite", str(folder / "latency.sqlite")),
        ("PostgreSQL", fresh_pg(base)),
    ):
        r = latency(location, debits)
        print(
            f"{name:<11} {r['intent_p50']:>10.3f} {r['outcome_p50']:>11.3f} {r['p50']:>9.3f}"
            f" {r['p99']:>9.3f} {r['mean']:>6.3f} {r['parallel']:>8.0f} deb/s"
        )


def measure_sending(folder: Path, base: str, rows: int, accounts: int) -> bool:
    seeded, ids = seed(folder, accounts)
    proc, url = start_sandbox(seeded, 100)
    ok = True
    try:
        print(f"\nsending {rows} debits, sandbox latency 100 ms, rate_limit 100, concurrency 32:")
        print(f"{'store':<11} {'rows':>6} {'sending/s':>10} {'of limit':>9} {'wall s':>7}")
        for name, journal in (("PostgreSQL", fresh_pg(base)), ("SQLite", str(folder / "s.sqlite"))):
            tag = "pg" if name == "PostgreSQL" else "sqlite"
            r = send(folder, url, ledger(folder, ids, rows, tag), journal, tag)
            if name == "PostgreSQL":
                ok = r["of_limit"] >= 0.95
            print(
                f"{name:<11} {r['rows']:>6} {r['sending']:>10.1f} {r['of_limit']:>9.2f}"
                f" {r['wall']:>7.1f}"
            )
    finally:
        proc.terminate()
        proc.wait()
    return ok


if __name__ == "__main__":
    main()
