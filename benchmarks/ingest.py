"""Ingest benchmark: `ledgerrun validate --offline` on a 1,000,000-row ledger.

    .venv/bin/python benchmarks/ingest.py [--rows N] [--repeat K]

Generates a ledger (about 20,000 accounts, skewed like a real platform: a few accounts hold most
rows) as CSV and Parquet, then times, in the same run and on the same files, the whole
`ledgerrun validate --offline` process against a bare process that only reads the file with
pyarrow (`pyarrow.csv.read_csv` / `pyarrow.parquet.read_table`). Both sides are whole processes,
interpreter start-up included. Prints the median wall time of each, their ratio and the peak RSS
of each (``ru_maxrss``), and the CPU seconds of each (user and system, every thread; median) with
the ratio of the least of each. CPU is the work done, whatever the machine's load does to wall
times; but the bare read's threads also spend more of it the busier the machine (0.34 s idle,
up to 1 s under a load of 20 here), so compare CPU ratios taken under like loads.

The CSV is timed twice: with no journal, and with the user's default journal present
(``XDG_STATE_HOME`` pointed at a folder whose ``ledgerrun/journal.sqlite`` holds an entry for
every adjustment of the ledger), as on a finance laptop where runs have happened: offline
validation must cost nothing more for it.

Goals (issue 26): CSV ratio at most 2.5; peak RSS at most 1.2 times the bare read's; the same
with the default journal present. ``best`` is the ratio of the fastest run of each side: on a
shared machine it is the steadier figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
LEDGERRUN = [sys.executable, "-m", "ledgerrun"]
BARE = {
    ".csv": "import pyarrow.csv as c, sys; t = c.read_csv(sys.argv[1]); print(t.num_rows)",
    ".parquet": "import pyarrow.parquet as q, sys; print(q.read_table(sys.argv[1]).num_rows)",
}


def paths(rows: int) -> tuple[Path, Path]:
    return DATA / f"ledger-{rows}.csv", DATA / f"ledger-{rows}.parquet"


def generate(rows: int, accounts: int, seed: int = 7) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    DATA.mkdir(exist_ok=True)
    csv_path, parquet_path = paths(rows)
    if csv_path.exists() and parquet_path.exists():
        return
    rng = random.Random(seed)
    ids = [f"acct_1Bench{n:010d}" for n in range(accounts)]
    # Zipf-like skew: account k is chosen with weight 1/(k+1).
    chosen = rng.choices(ids, weights=[1 / (k + 1) for k in range(accounts)], k=rows)
    # under Stripe's 100,000 USD maximum per debit, so every row is valid
    amounts = [f"{rng.randrange(1, 100_000):,}.{rng.randrange(100):02d}" for _ in range(rows)]
    table = pa.table(
        {
            "adjustment_id": [f"ADJ-{n:09d}" for n in range(rows)],
            "account": chosen,
            "amount": amounts,
            "currency": ["usd"] * rows,
            "method": [("charge" if n % 11 == 0 else "") for n in range(rows)],
            "description": [f"Adjustment {n} for November" for n in range(rows)],
            "metadata.invoice": [f"INV-{n:08d}" for n in range(rows)],
            "booked_by": [("amara", "jonas", "li", "priya")[n % 4] for n in range(rows)],
        }
    )
    pcsv.write_csv(table, csv_path)
    pq.write_table(table, parquet_path)


def state_folder(rows: int) -> Path:
    return DATA / f"state-{rows}"


def journal(rows: int) -> None:
    """A state folder whose default journal holds a succeeded entry for each adjustment of the
    ledger, with the ledger's own values (as after the night's run of that very ledger), made
    once and kept beside the ledgers."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from ledgerrun.ingest.identity import canonical
    from ledgerrun.store import open_store
    from ledgerrun.store.schema import ENTRY_COLUMNS

    state = state_folder(rows)
    path = state / "ledgerrun" / "journal.sqlite"
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    open_store(str(path)).close()  # the schema, as ledgerrun makes it
    at = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC).isoformat(timespec="microseconds")
    strings = dict.fromkeys(("adjustment_id", "account", "amount", "method"), pa.string())
    ledger = pcsv.read_csv(
        paths(rows)[0], convert_options=pcsv.ConvertOptions(column_types=strings)
    ).to_pydict()
    sql = (
        f"INSERT INTO adjustments ({', '.join(ENTRY_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in ENTRY_COLUMNS)})"
    )
    with sqlite3.connect(path) as conn:
        values = []
        for n, written in enumerate(ledger["adjustment_id"]):
            whole, cents = ledger["amount"][n].replace(",", "").split(".")
            minor = int(whole) * 100 + int(cents)
            method = ledger["method"][n] or "transfer"
            request = {"amount": minor, "currency": "usd", "metadata": {"n": str(n)}}
            entry = {
                "key": canonical(written), "adjustment_id": written, "job": "nightly",
                "run_date": "2026-11-25", "direction": "debit", "account": ledger["account"][n],
                "currency": "usd", "amount_minor": minor, "method": method,
                "state": "succeeded", "generation": 0,
                "idempotency_key": f"ledgerrun.v2:debit:0:{canonical(written)}",
                "request": json.dumps(request), "attempts": 1, "attempted_at": at,
                "attempted_at_server": at, "transfer_id": f"tr_{n:024d}",
                "payment_id": f"py_{n:024d}", "completed_at": at, "run_id": "r", "batch": "",
            }  # fmt: skip
            values.append([entry.get(c) for c in ENTRY_COLUMNS])
            if len(values) >= 50_000:
                conn.executemany(sql, values)
                values = []
        conn.executemany(sql, values)


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str, float]:
    """Wall seconds, peak RSS in MB, stdout and CPU seconds (user + system, every thread) of
    one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out}{err}")
    return wall, usage.ru_maxrss // 1024, out, usage.ru_utime + usage.ru_stime


def measure(path: Path, repeat: int, state: Path | None = None) -> dict[str, float]:
    ours_cmd = [*LEDGERRUN, "validate", "--offline", str(path)]
    bare_cmd = [sys.executable, "-c", BARE[path.suffix], str(path)]
    env = {k: v for k, v in os.environ.items() if k != "LEDGERRUN_JOURNAL"}
    env["XDG_STATE_HOME"] = str(state or DATA / "no-state")  # never the user's own journal
    timed(bare_cmd)  # warm the page cache for both sides
    ours, bare, rss, bare_rss, cpu, bare_cpu = [], [], [], [], [], []
    for _ in range(repeat):
        b, b_peak, _, b_cpu = timed(bare_cmd)
        o, peak, out, o_cpu = timed(ours_cmd, env)
        assert "all valid" in out, out
        bare.append(b)
        ours.append(o)
        rss.append(peak)
        bare_rss.append(b_peak)
        cpu.append(o_cpu)
        bare_cpu.append(b_cpu)
    o, b = statistics.median(ours), statistics.median(bare)
    return {
        "ours_s": o,
        "bare_s": b,
        "ratio": o / b,
        "best": min(ours) / min(bare),
        "peak_rss_mb": max(rss),
        "bare_rss_mb": max(bare_rss),
        "cpu_s": statistics.median(cpu),
        "bare_cpu_s": statistics.median(bare_cpu),
        "cpu_ratio": min(cpu) / min(bare_cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        generate(args.rows, args.accounts)
        journal(args.rows)
        return
    # Made by a process of its own: a child's peak RSS (ru_maxrss) starts from its parent's at
    # the fork, so the parent that measures stays small.
    subprocess.run(
        [sys.executable, __file__, "--prepare", f"--rows={args.rows}",
         f"--accounts={args.accounts}"],
        check=True,
    )  # fmt: skip
    csv_path, parquet_path = paths(args.rows)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"command: {' '.join(sys.argv)}")
    print(
        f"ledger:  {args.rows:,} rows, {args.accounts:,} accounts, "
        f"{csv_path.stat().st_size / 1e6:.0f} MB CSV"
    )
    state = state_folder(args.rows)
    print(
        f"{'format':<8} {'journal':<8} {'validate':>9} {'bare read':>10} {'ratio':>6} "
        f"{'best':>5} {'peak RSS':>9} {'bare peak':>10} {'of bare':>8} {'CPU':>6} {'bare CPU':>9} "
        f"{'CPU ratio':>9}"
    )
    ok = True
    cases = ((csv_path, None), (csv_path, state), (parquet_path, None))
    for path, folder in cases:
        r = measure(path, args.repeat, folder)
        share = r["peak_rss_mb"] / r["bare_rss_mb"]
        print(
            f"{path.suffix[1:]:<8} {'default' if folder else 'none':<8} {r['ours_s']:>8.2f}s "
            f"{r['bare_s']:>9.2f}s {r['ratio']:>6.2f} {r['best']:>5.2f} "
            f"{r['peak_rss_mb']:>6.0f} MB {r['bare_rss_mb']:>7.0f} MB {share:>7.2f}x "
            f"{r['cpu_s']:>5.2f}s {r['bare_cpu_s']:>8.2f}s {r['cpu_ratio']:>9.2f}"
        )
        if path.suffix == ".csv":
            ok &= r["ratio"] <= 2.5 and share <= 1.2
    print("goals (CSV ratio <= 2.5, peak <= 1.2x the bare read's, journal or not):", end=" ")
    print("met" if ok else "NOT met")


if __name__ == "__main__":
    main()
