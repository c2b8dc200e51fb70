"""benchmarks/ingest.py on a ledger every row of which is valid under ingest v2.

    .venv/bin/python tools/bench_ingest.py [--rows N] [--repeat K]

benchmarks/ingest.py draws USD amounts up to 499,999.99; since v2 checks Stripe's maximum of
100,000.00 USD per debit, most of its rows are now invalid and its "all valid" check fails. This
runs the same measurement (same columns, same account skew, same amount format) on amounts drawn
below 100,000.00, in files of their own beside the benchmark's.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import ingest as bench  # noqa: E402


def generate(rows: int, accounts: int, seed: int = 7) -> tuple[Path, Path]:
    bench.DATA.mkdir(exist_ok=True)
    csv_path = bench.DATA / f"ledger-v2-{rows}.csv"
    parquet_path = bench.DATA / f"ledger-v2-{rows}.parquet"
    if csv_path.exists() and parquet_path.exists():
        return csv_path, parquet_path
    rng = random.Random(seed)
    ids = [f"acct_1Bench{n:010d}" for n in range(accounts)]
    chosen = rng.choices(ids, weights=[1 / (k + 1) for k in range(accounts)], k=rows)
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
    print(f"ledger:  {args.rows:,} rows, {csv_path.stat().st_size / 1e6:.0f} MB CSV (v2-valid)")
    print(f"{'format':<8} {'validate':>9} {'bare read':>10} {'ratio':>6} {'peak RSS':>9}")
    for path in (csv_path, parquet_path):
        r = bench.measure(path, args.repeat)
        print(
            f"{path.suffix[1:]:<8} {r['ours_s']:>8.2f}s {r['bare_s']:>9.2f}s {r['ratio']:>6.2f} "
            f"{r['peak_rss_mb']:>6.0f} MB"
        )


if __name__ == "__main__":
    main()
