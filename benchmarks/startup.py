"""What the executable's two start-up and shut-down tricks save, per command, as a user feels it.

    .venv/bin/python benchmarks/startup.py [--repeat 9]

Times three ways of running the same command, each a whole process (interpreter start-up
included), and prints the median of ``--repeat`` runs:

* ``ledgerrun ...``: the installed executable; answers pyarrow's one-time "is pandas here?" probe
  without importing pandas (:mod:`ledgerrun.startup`) and skips interpreter teardown;
* ``python -m ledgerrun ...``: the probe answered the same way, ordinary teardown;
* plain: the same click command called from ``python -c`` with neither.

Commands: ``--help``, ``validate --offline`` of the 240-row demo ledger, and ``plan --offline``
of it (each reads the ledger and so meets the pandas probe).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LEDGER = ROOT / "data_samples" / "adjustments.csv"
PLAIN = "import sys; from ledgerrun.cli import main; sys.argv[0] = 'ledgerrun'; main()"


def ways(args: list[str]) -> dict[str, list[str]]:
    return {
        "ledgerrun (probe skipped, fast exit)": [str(BIN / "ledgerrun"), *args],
        "python -m ledgerrun (probe skipped)": [sys.executable, "-m", "ledgerrun", *args],
        "plain (neither)": [sys.executable, "-c", PLAIN, *args],
    }


def timed(argv: list[str], repeat: int) -> float:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        seconds.append(time.perf_counter() - started)
        if done.returncode not in (0, 2):
            raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr[-500:]}")
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    commands = {
        "--help": ["--help"],
        "validate --offline (240 rows)": ["validate", "--offline", str(LEDGER)],
        "plan --offline (240 rows)": ["plan", "--offline", str(LEDGER)],
    }
    print(f"median of {args.repeat} runs, seconds")
    for name, command in commands.items():
        results = {way: timed(argv, args.repeat) for way, argv in ways(command).items()}
        plain = results["plain (neither)"]
        for way, seconds in results.items():
            saved = f"  (saves {plain - seconds:.3f} s)" if seconds < plain else ""
            print(f"  {name:<32} {way:<38} {seconds:.3f}{saved}")


if __name__ == "__main__":
    main()
