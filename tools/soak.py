"""The long runs behind ``make soak``: what ``make test`` checks briefly, for much longer.

    .venv/bin/python tools/soak.py sandbox --threads 16 --per-thread 625   # 10,000 requests
    .venv/bin/python -m tools.chaos crash --rows 1500 --kills 30 --seed 7
    .venv/bin/python -m tools.chaos faults --rows 1500 --seed 7
    .venv/bin/python tools/fuzz_ingest.py --seconds 300

``sandbox`` sends mixed debits, charges, replays, lists and balance reads from many threads to one
in-process sandbox and then checks its books balance to the cent (the same scenario,
tests/helpers/soak.py, that tests/sandbox/test_sandbox_soak.py runs with 2,000).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sandbox(threads: int, per_thread: int) -> None:
    from ledgerrun_sandbox import SandboxServer
    from tests.helpers.constants import KEY
    from tests.helpers.sandbox import base_seed
    from tests.helpers.soak import soak

    server = SandboxServer(base_seed(), api_keys=[KEY], limits="off").start()
    started = time.perf_counter()
    try:
        soak(server, threads, per_thread)
    finally:
        server.stop()
    took = time.perf_counter() - started
    print(
        f"sandbox soak: {threads * per_thread:,} requests from {threads} threads in {took:.1f} s: "
        "the books balance to the cent, no balance below zero"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=["sandbox"])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--per-thread", type=int, default=625)
    args = parser.parse_args()
    sandbox(args.threads, args.per_thread)


if __name__ == "__main__":
    main()
