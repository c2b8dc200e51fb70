"""Instructions per debit: what ledgerrun's own work costs at each pace, whatever the machine.

    .venv/bin/python benchmarks/instructions.py [--rows 300] [--accounts 30] [--rates 25,100,1000]

CPU seconds per debit (benchmarks/run.py) depend on the machine as much as on the program: a
debit sent alone, every 10 or 40 ms, finds the core's caches cold, and one sent among hundreds a
second finds them warm. This benchmark counts instructions instead, which no load or pace
changes for the same work: each run of `ledgerrun run` (a fresh journal; the sandbox in its own
process, not counted, without latency) is run under valgrind's cachegrind, which reports the
instructions the runner's process executed (user space: the kernel's share, fsync and thread
wake-ups, is not in it). Marginal instructions per debit are a run's total less a one-row run's,
over the other rows; every run pre-flights its accounts, so each debit carries a share of its
account's checks.

Where a debit's instructions go: one more run (not under valgrind) counts the function calls
its sending threads make (``threading.setprofile``; the threads named ``account-*``), each
charged to the innermost library on the stack: the Stripe SDK, urllib3, Python's ``http.client``
and the ``email`` header parser under it, or ledgerrun's own packages. Per debit, over the run.

It also times the machine's own cold factor, with no ledgerrun in it: the same piece of Python
work (JSON round trips of a Stripe-sized object, about 0.3 ms) done back to back, and then with
a sleep between pieces as a paced run does; CPU per piece of each, from ``getrusage``.

Needs valgrind (Debian's package). Takes a few minutes: valgrind runs Python 30-50 times slower.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)
from run import KEY, ledger, seed, start_sandbox

BIN = Path(sys.executable).parent
REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def night(
    folder: Path, accounts: Path, ids: list[str], rows: int, rate: int, tag: str, runner: list[str]
) -> subprocess.CompletedProcess[str]:
    """``runner`` + ``run JOB`` of ``rows`` debits at ``rate``, on a sandbox of its own (a first
    night's sweep lists every transfer already made: with one sandbox for all runs, each would
    list the ones before it)."""
    proc, url = start_sandbox(accounts, 0)
    try:
        path = ledger(folder, ids, rows, tag)
        job = folder / f"{tag}.toml"
        job.write_text(
            f'[job]\nname = "{tag}"\nledger = "{path}"\n'
            f'results = "{folder}/{tag}.results.csv"\njournal = "{folder}/{tag}.sqlite"\n'
            f'[stripe]\napi_base = "{url}"\nrate_limit = {rate}\nlimits = "off"\nconcurrency = 8\n'
        )
        return subprocess.run(
            [*runner, "run", str(job)],
            env={**os.environ, "STRIPE_API_KEY": KEY},
            capture_output=True,
            text=True,
        )
    finally:
        proc.terminate()
        proc.wait()


def instructions(
    folder: Path, accounts: Path, ids: list[str], rows: int, rate: int, tag: str
) -> int:
    """Instructions executed by one `ledgerrun run` process of ``rows`` debits at ``rate``."""
    valgrind = ["valgrind", "--tool=cachegrind", "--cache-sim=no"]
    out = [f"--cachegrind-out-file={folder}/{tag}.cg", sys.executable, str(BIN / "ledgerrun")]
    done = night(folder, accounts, ids, rows, rate, tag, [*valgrind, *out])
    if done.returncode != 0:
        raise SystemExit(f"run {tag} exited {done.returncode}:\n{done.stderr[-3000:]}")
    found = REFS.search(done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


COUNTER = """
import atexit, collections, sys, threading
calls = collections.Counter()
def where(frame):
    while frame is not None:
        name = frame.f_code.co_filename
        for part, label in PARTS:
            if part in name:
                if label == "ledgerrun":
                    label += " " + name.split("/ledgerrun/")[1].split("/")[0]
                return label
        frame = frame.f_back
    return "other"
def count(frame, event, arg):
    if event in ("call", "c_call") and threading.current_thread().name.startswith("account-"):
        calls[where(frame)] += 1
PARTS = (("site-packages/stripe/", "Stripe SDK"), ("urllib3", "urllib3"),
         ("/http/", "http.client and email"), ("/email/", "http.client and email"),
         ("/ledgerrun/", "ledgerrun"), ("/json/", "json"), ("/re/", "re"))
threading.setprofile(count)
atexit.register(lambda: print("calls:", dict(calls), file=sys.stderr))
sys.argv = ["ledgerrun", *sys.argv[1:]]
from ledgerrun.cli import entry
entry()
"""


def calls_per_debit(folder: Path, accounts: Path, ids: list[str], rows: int) -> dict[str, float]:
    """Function calls per debit of the sending threads, by library (see the docstring)."""
    done = night(folder, accounts, ids, rows, 1000, "calls", [sys.executable, "-c", COUNTER])
    line = next((x for x in done.stderr.splitlines() if x.startswith("calls: ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"the counted run failed:\n{done.stderr[-3000:]}")
    counted: dict[str, int] = ast.literal_eval(line.removeprefix("calls: "))
    return {name: n / rows for name, n in sorted(counted.items(), key=lambda kv: -kv[1])}


def _piece() -> int:
    body = {"id": "tr_1", "object": "transfer", "amount": 1234, "currency": "usd"}
    body["metadata"] = {f"key{n}": "v" * 20 for n in range(20)}
    size = 0
    for _ in range(25):
        text = json.dumps(body)
        size += len(json.loads(text)) + len(text)
    return size


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cold_factor(gap_s: float, pieces: int = 300) -> tuple[float, float]:
    """CPU ms per piece of the same work back to back, and with ``gap_s`` between pieces."""
    start = _cpu()
    for _ in range(pieces):
        _piece()
    warm = (_cpu() - start) * 1000 / pieces
    start = _cpu()
    for _ in range(pieces):
        _piece()
        time.sleep(gap_s)
    cold = (_cpu() - start) * 1000 / pieces
    return warm, cold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--accounts", type=int, default=30)
    parser.add_argument("--rates", default="25,100,1000", help="rate limits, comma-separated")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install -y valgrind)")
    rates = [int(v) for v in args.rates.split(",")]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        f"; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"command: {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        accounts, ids = seed(folder, args.accounts)
        one = instructions(folder, accounts, ids, 1, max(rates), "one")
        print(f"one-row run (the fixed cost): {one / 1e6:,.0f} M instructions")
        print(f"{'rate':>6} {'rows':>6} {'M instructions':>15} {'marginal per debit':>20}")
        for rate in rates:
            total = instructions(folder, accounts, ids, args.rows, rate, f"r{rate}")
            per = (total - one) / (args.rows - 1)
            print(f"{rate:>6} {args.rows:>6} {total / 1e6:>15,.0f} {per / 1e6:>17.2f} M")
        calls = calls_per_debit(folder, accounts, ids, args.rows)
    every = sum(calls.values())
    print(f"function calls per debit in the sending threads: {every:,.0f}, by library:")
    for name, per in calls.items():
        print(f"  {name:<24} {per:>7,.0f}  {100 * per / every:5.1f}%")
    print("the machine's cold factor (no ledgerrun): CPU per piece of the same Python work")
    for gap in (0.01, 0.04):
        warm, cold = cold_factor(gap)
        print(
            f"  back to back {warm:.3f} ms; {gap * 1000:.0f} ms apart {cold:.3f} ms"
            f" ({cold / warm:.2f}x)"
        )


if __name__ == "__main__":
    main()
