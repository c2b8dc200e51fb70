"""Start-up benchmark: the fixed CPU a command costs before its work, against its goals.

    .venv/bin/python benchmarks/startup.py [--repeat 9]

Each figure is a whole process (interpreter start-up and shut-down included), timed by the CPU
(user + system) the kernel reports for it, the median of ``--repeat`` runs with their range; the
processes are interleaved so every figure meets the same machine load. Printed beside each one:
its same-run baseline and its goal (issue 26).

* ``python -c pass``: the baseline of the ratios (the interpreter alone);
* ``--help``: the command line itself, which reads nothing;
* ``validate --offline`` and ``plan --offline`` of the 240-row demo ledger; goal for validate:
  at most 10 times ``python -c pass``;
* the fixed start of a run: ``run`` of a one-row ledger (a fresh journal each time) against the
  sandbox in its own process without latency: start-up, pre-flight, the one debit, the results
  and the report; goal at most 0.3 s;
* ``validate --offline`` with pyarrow's pandas probe left alone (``ledgerrun.startup`` answers it
  for every command that reads a ledger): what that answer saves.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)
from run import KEY, ledger, seed, start_sandbox

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LEDGER = ROOT / "data_samples" / "adjustments.csv"
LEFT_ALONE = (
    "import sys, ledgerrun.startup as s; s.skip_pandas_probe = lambda: None; "
    "from ledgerrun.cli import entry; sys.argv[0] = 'ledgerrun'; entry()"
)
RATIO_GOAL = 10.0  # validate --offline of the demo ledger, times python -c pass
RUN_GOAL_S = 0.3  # CPU of a one-row run


def cpu_of(argv: list[str], env: dict[str, str] | None = None) -> float:
    """CPU seconds (user + system) of one whole process; it must exit 0 (or 2 for --help)."""
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{argv} exited {code}: {err[-800:]}")
    if proc.stderr:
        proc.stderr.close()
    return usage.ru_utime + usage.ru_stime


class OneRowRun:
    """A one-row run against the sandbox, each time with a new row and a fresh journal."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        accounts, self.ids = seed(folder, 1)
        self.proc, self.url = start_sandbox(accounts, 0)
        self.count = 0
        self.env = {**os.environ, "STRIPE_API_KEY": KEY}

    def __call__(self) -> float:
        self.count += 1
        tag = f"one{self.count}"
        rows = ledger(self.folder, self.ids, 1, tag)
        job = self.folder / f"{tag}.toml"
        job.write_text(
            f'[job]\nname = "{tag}"\nledger = "{rows}"\n'
            f'results = "{self.folder}/{tag}.results.csv"\n'
            f'journal = "{self.folder}/{tag}.sqlite"\n'
            f'[stripe]\napi_base = "{self.url}"\nlimits = "off"\n'
        )
        return cpu_of([str(BIN / "ledgerrun"), "run", str(job)], self.env)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    exe = str(BIN / "ledgerrun")
    with tempfile.TemporaryDirectory() as tmp:
        one_row = OneRowRun(Path(tmp))
        try:
            figures: dict[str, Callable[[], float]] = {
                "python -c pass": lambda: cpu_of([sys.executable, "-c", "pass"]),
                "--help": lambda: cpu_of([exe, "--help"]),
                "validate --offline (240 rows)": lambda: cpu_of(
                    [exe, "validate", "--offline", str(LEDGER)]
                ),
                "plan --offline (240 rows)": lambda: cpu_of(
                    [exe, "plan", "--offline", str(LEDGER)]
                ),
                "run, 1 row (fixed start)": one_row,
                "validate, pandas probe left alone": lambda: cpu_of(
                    [sys.executable, "-c", LEFT_ALONE, "validate", "--offline", str(LEDGER)]
                ),
            }
            for measure in figures.values():  # warm the caches once, untimed
                measure()
            times: dict[str, list[float]] = {name: [] for name in figures}
            for _ in range(args.repeat):
                for name, measure in figures.items():
                    times[name].append(measure())
        finally:
            one_row.close()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"command: benchmarks/startup.py --repeat {args.repeat}")
    print(f"CPU seconds per process, median of {args.repeat} (range); x: times python -c pass")
    base = statistics.median(times["python -c pass"])
    for name, values in times.items():
        median = statistics.median(values)
        goal = ""
        if name.startswith("validate --offline"):
            ok = median / base <= RATIO_GOAL
            goal = f"goal <= {RATIO_GOAL:.0f}x: {'met' if ok else 'NOT met'}"
        elif name.startswith("run,"):
            goal = f"goal <= {RUN_GOAL_S} s: {'met' if median <= RUN_GOAL_S else 'NOT met'}"
        print(
            f"  {name:<34} {median:6.3f} ({min(values):.3f}-{max(values):.3f})"
            f" {median / base:6.1f}x  {goal}"
        )


if __name__ == "__main__":
    main()
