"""What answering pyarrow's pandas probe saves, per command, as a user feels it.

    .venv/bin/python benchmarks/startup.py [--repeat 9]

Times two ways of running the same command, each a whole process (interpreter start-up and
shut-down included), and prints the median of ``--repeat`` runs, wall and CPU:

* ``ledgerrun ...``: the installed executable, which answers pyarrow's one-time "is pandas here?"
  probe without importing pandas (:mod:`ledgerrun.startup`);
* probe left alone: the same command with that answer switched off, so the probe imports pandas.

Commands: ``--help`` (reads no ledger: no probe), ``validate --offline`` and ``plan --offline`` of
the 240-row demo ledger (each reads the ledger and so meets the probe).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LEDGER = ROOT / "data_samples" / "adjustments.csv"
LEFT_ALONE = (
    "import sys, ledgerrun.startup as s; s.skip_pandas_probe = lambda: None; "
    "from ledgerrun.cli import entry; sys.argv[0] = 'ledgerrun'; entry()"
)


def ways(args: list[str]) -> dict[str, list[str]]:
    return {
        "ledgerrun (probe answered)": [str(BIN / "ledgerrun"), *args],
        "probe left alone": [sys.executable, "-c", LEFT_ALONE, *args],
    }


def timed(argv: list[str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        started = os.times()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(os.times().elapsed - started.elapsed)
        cpus.append(usage.ru_utime + usage.ru_stime)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 2):
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"{argv} exited {code}: {err[-500:]}")
    return statistics.median(walls), statistics.median(cpus)


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
    print(f"  {'command':<32} {'way':<28} {'wall':>6} {'CPU':>6}")
    for name, command in commands.items():
        for way, argv in ways(command).items():
            wall, cpu = timed(argv, args.repeat)
            print(f"  {name:<32} {way:<28} {wall:6.3f} {cpu:6.3f}")


if __name__ == "__main__":
    main()
