"""Ingest benchmark: `ledgerrun validate --offline` on a 1,000,000-row ledger.

    .venv/bin/python benchmarks/ingest.py [--rows N] [--repeat K]

Generates a ledger (about 20,000 accounts, skewed like a real platform: a few accounts hold most
rows) as CSV and Parquet, then times, in the same run and on the same files, the whole
`ledgerrun validate --offline` process against a bare process that only reads the file with
pyarrow (`pyarrow.csv.read_csv` / `pyarrow.parquet.read_table`). Both sides are whole processes,
interpreter start-up included. Prints the median wall time of each, their ratio and the peak RSS.

Targets: ratio at most 3 for CSV; peak RSS under 800 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
LEDGERRUN = [sys.executable, "-m", "ledgerrun"]
BARE = {
    ".csv": "import pyarrow.csv as c, sys; t = c.read_csv(sys.argv[1]); print(t.num_rows)",
    ".parquet": "import pyarrow.parquet as q, sys; print(q.read_table(sys.argv[1]).num_rows)",
}


def generate(rows: int, accounts: int, seed: int = 7) -> tuple[Path, Path]:
    DATA.mkdir(exist_ok=True)
    csv_path, parquet_path = DATA / f"ledger-{rows}.csv", DATA / f"ledger-{rows}.parquet"
    if csv_path.exists() and parquet_path.exists():
        return csv_path, parquet_path
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
    return csv_path, parquet_path


def timed(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB and stdout of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out}{err}")
    return wall, usage.ru_maxrss // 1024, out


def measure(path: Path, repeat: int) -> dict[str, float]:
    ours_cmd = [*LEDGERRUN, "validate", "--offline", str(path)]
    bare_cmd = [sys.executable, "-c", BARE[path.suffix], str(path)]
    timed(bare_cmd)  # warm the page cache for both sides
    ours, bare, rss = [], [], []
    for _ in range(repeat):
        b, _, _ = timed(bare_cmd)
        o, peak, out = timed(ours_cmd)
        assert "all valid" in out, out
        bare.append(b)
        ours.append(o)
        rss.append(peak)
    o, b = statistics.median(ours), statistics.median(bare)
    return {"ours_s": o, "bare_s": b, "ratio": o / b, "peak_rss_mb": max(rss)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    csv_path, parquet_path = generate(args.rows, args.accounts)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"command: {' '.join(sys.argv)}")
    print(
        f"ledger:  {args.rows:,} rows, {args.accounts:,} accounts, "
        f"{csv_path.stat().st_size / 1e6:.0f} MB CSV"
    )
    print(f"{'format':<8} {'validate':>9} {'bare read':>10} {'ratio':>6} {'peak RSS':>9}")
    ok = True
    for path, ceiling in ((csv_path, 3.0), (parquet_path, None)):
        r = measure(path, args.repeat)
        print(
            f"{path.suffix[1:]:<8} {r['ours_s']:>8.2f}s {r['bare_s']:>9.2f}s {r['ratio']:>6.2f} "
            f"{r['peak_rss_mb']:>6.0f} MB"
        )
        ok &= r["peak_rss_mb"] < 800 and (ceiling is None or r["ratio"] <= ceiling)
    print("targets (CSV ratio <= 3, peak RSS < 800 MB):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
