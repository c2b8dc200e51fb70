"""Memory benchmark: peak RSS of `ledgerrun run` and `ledgerrun reconcile` on a large night.

    .venv/bin/python benchmarks/memory.py [--rows 200000] [--per-account 10] [--concurrency 32]
    .venv/bin/python benchmarks/memory.py --rows 20000 200000     # two sizes: the slope per row
    .venv/bin/python benchmarks/memory.py --rows 40000 --keep DIR  # DIR/40000 kept, sandbox up
    .venv/bin/python benchmarks/memory.py --again DIR/40000        # its reconcile measured again

For each size: a ledger of ROWS debits over ROWS / PER_ACCOUNT accounts (every eleventh a debit
by charge), a sandbox in its own process (limits off, no latency) seeded with those accounts, and
a fresh journal. Then, each in its own process, as a user runs them:

1. ``ledgerrun run`` of the ledger (the first night of a journal: the guard sweeps every account,
   pre-flight checks each one, then every row is debited);
2. ``ledgerrun reconcile`` of that run date.

Prints each process's peak RSS (``ru_maxrss`` from ``os.wait4``) and wall time, the requests
the reconcile sent (the sandbox's own counters, ``GET /_sandbox/state``: ``stats.requests`` and
``stats.operations``), and each goal beside its figure. With two sizes it also prints the
growth per row between them (what the peak costs per row, start-up and imports taken out).

Goals (issue 26): run <= 300 MB and reconcile <= 300 MB at 200,000 rows over 20,000 accounts;
reconcile's requests bounded by the objects it lists, not by the accounts of the journal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import installed  # noqa: F401  (time ledgerrun with its bytecode cached, as installed)
from run import KEY, seed, start_sandbox

RUN_DATE = "2026-11-26"
GOAL_MB = 300


def ledger(folder: Path, ids: list[str], rows: int) -> Path:
    """ROWS debits, each account's rows together; a description and a metadata column as a
    real export carries them."""
    rng = random.Random(11)
    path = folder / "ledger.csv"
    per = max(1, rows // len(ids))
    with path.open("w") as out:
        out.write("adjustment_id,account,amount,currency,method,description,metadata.invoice\n")
        for n in range(rows):
            method = "charge" if n % 11 == 0 else "transfer"
            out.write(
                f"MEM-{n:07d},{ids[n // per % len(ids)]},{rng.randrange(100, 99999) / 100:.2f},"
                f"usd,{method},Adjustment {n} for November,INV-{n:08d}\n"
            )
    return path


STATS = (
    "import json, sys, urllib.request\n"
    "with urllib.request.urlopen(sys.argv[1] + '/_sandbox/state') as answer:\n"
    "    print(json.dumps(json.load(answer)['stats']))\n"
)


def stats(url: str) -> dict[str, object]:
    """The sandbox's counters, read by a throwaway process. The state holds every object of the
    night (1.4 GB once parsed, at 200,000 rows), and a child's ``ru_maxrss`` starts from its
    parent's size at the fork: read here, it would become the next command's peak."""
    done = subprocess.run(
        [sys.executable, "-c", STATS, url], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout))


def measured(cmd: list[str], folder: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of one whole process."""
    start = time.perf_counter()
    with (folder / "out.txt").open("w+") as out, (folder / "err.txt").open("w+") as err:
        proc = subprocess.Popen(
            cmd, env={**os.environ, "STRIPE_API_KEY": KEY}, stdout=out, stderr=err, text=True
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        printed, logged = out.read(), err.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{printed[-3000:]}\n{logged[-3000:]}")
    return wall, usage.ru_maxrss / 1024, printed


def run_size(
    rows: int, per_account: int, concurrency: int, keep: Path | None = None
) -> tuple[dict[str, Any], subprocess.Popen[str] | None]:
    """One night measured; with ``keep``, in that folder, and its sandbox returned still up."""
    accounts = max(1, rows // per_account)
    with tempfile.TemporaryDirectory(prefix="ledgerrun-memory-") as tmp:
        folder = Path(tmp) if keep is None else keep / str(rows)
        folder.mkdir(parents=True, exist_ok=True)
        seeded, ids = seed(folder, accounts)
        sandbox, url = start_sandbox(seeded, latency_ms=0)
        try:
            path = ledger(folder, ids, rows)
            job = folder / "memory.toml"
            job.write_text(
                f'[job]\nname = "memory"\nledger = "{path}"\n'
                f'results = "{folder}/memory.results.csv"\njournal = "{folder}/journal.sqlite"\n'
                f'[stripe]\napi_base = "{url}"\nrate_limit = 10000\nlimits = "off"\n'
                f"concurrency = {concurrency}\n"
            )
            base = [sys.executable, "-m", "ledgerrun"]
            run_wall, run_peak, _ = measured([*base, "run", str(job), "--date", RUN_DATE], folder)
            summary = json.loads((folder / "memory.results.csv.summary.json").read_text())
            out = {
                "rows": rows,
                "accounts": accounts,
                "succeeded": int(summary["counts"].get("succeeded", 0)),
                "run_s": run_wall,
                "run_mb": run_peak,
                **reconciled(folder, url),
            }
        except BaseException:
            sandbox.terminate()
            raise
        if keep is not None:
            return out, sandbox
        sandbox.terminate()
        sandbox.wait()
    return out, None


def reconciled(folder: Path, url: str) -> dict[str, Any]:
    """The reconcile of the night in ``folder`` (its job file, journal and results), measured
    against the sandbox at ``url`` that holds the night's objects."""
    job = folder / "memory.toml"
    before = stats(url)
    rec_wall, rec_peak, out = measured(
        [sys.executable, "-m", "ledgerrun", "reconcile", str(job), "--date", RUN_DATE,
         "--format", "json"],
        folder,
    )  # fmt: skip
    after = stats(url)
    findings = json.loads(out)
    ops_before = dict(before["operations"])  # type: ignore[call-overload]
    ops = {
        op: int(n) - int(ops_before.get(op, 0))
        for op, n in dict(after["operations"]).items()  # type: ignore[call-overload]
        if int(n) - int(ops_before.get(op, 0))
    }
    return {
        "rec_s": rec_wall,
        "rec_mb": rec_peak,
        "rec_requests": int(after["requests"]) - int(before["requests"]),  # type: ignore[call-overload]
        "rec_ops": ops,
        "verdict": findings["verdict"],
        "objects": findings["objects_found"],
        "checked": findings["succeeded_rows_checked"],
    }


def again(folder: Path) -> dict[str, Any]:
    """The reconcile of a night kept by ``--keep`` (its sandbox still up), measured again."""
    job = (folder / "memory.toml").read_text()
    url = job.split('api_base = "', 1)[1].split('"', 1)[0]
    summary = json.loads((folder / "memory.results.csv.summary.json").read_text())
    rows = int(summary["rows"])
    accounts = len(json.loads((folder / "accounts.json").read_text())["accounts"])
    return {
        "rows": rows,
        "accounts": accounts,
        "succeeded": int(summary["counts"].get("succeeded", 0)),
        "run_s": float("nan"),
        "run_mb": float("nan"),
        **reconciled(folder, url),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000])
    parser.add_argument("--per-account", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep each night (job, journal, results) in DIR/ROWS, its sandbox up until Ctrl-C",
    )
    parser.add_argument(
        "--again",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="only measure the reconcile again, of each night --keep keeps up (smallest first)",
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"command: {' '.join(sys.argv)}")
    results = []
    up: list[subprocess.Popen[str]] = []
    for rows in args.rows if not args.again else args.again:
        if args.again:
            r = again(rows)
        else:
            r, sandbox = run_size(rows, args.per_account, args.concurrency, args.keep)
            up += [sandbox] if sandbox is not None else []
        results.append(r)
        print(f"\n{r['rows']:,} rows over {r['accounts']:,} accounts: {r['succeeded']:,} succeeded")
        if not args.again:
            print(f"  run        peak {r['run_mb']:7.0f} MB   {r['run_s']:7.1f} s")
        print(
            f"  reconcile  peak {r['rec_mb']:7.0f} MB   {r['rec_s']:7.1f} s   "
            f"{r['rec_requests']:,} requests for {r['objects']:,} objects "
            f"({r['checked']:,} rows checked, verdict {r['verdict']})"
        )
        for op, n in sorted(r["rec_ops"].items()):
            print(f"    {op:<28} {n:>8,}")
    if len(results) > 1:
        small, large = results[0], results[-1]
        span = large["rows"] - small["rows"]
        measured_here = (("run", "run_mb"),) * (not args.again) + (("reconcile", "rec_mb"),)
        for what, key in measured_here:
            slope = (large[key] - small[key]) * 1024 / span
            print(
                f"{what:<10} grows {slope:.2f} KB per row ({small['rows']:,} -> {large['rows']:,})"
            )
    last = results[-1]
    print("\ngoals (issue 26, at 200,000 rows / 20,000 accounts):")
    if not args.again:
        print(f"  run peak RSS       {last['run_mb']:7.0f} MB   goal <= {GOAL_MB} MB")
    print(f"  reconcile peak RSS {last['rec_mb']:7.0f} MB   goal <= {GOAL_MB} MB")
    print(
        f"  reconcile requests {last['rec_requests']:7,}      goal: bounded by objects listed "
        f"({last['objects']:,}), not the journal's accounts"
    )
    if up:
        kept = " ".join(str(args.keep / str(rows)) for rows in args.rows)
        print(
            f"\nthe sandboxes stay up; measure these nights' reconcile again with\n"
            f"  {sys.executable} {sys.argv[0]} --again {kept}\nCtrl-C stops them.",
            flush=True,
        )
        try:
            for sandbox in up:
                sandbox.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for sandbox in up:
                sandbox.terminate()


if __name__ == "__main__":
    main()
