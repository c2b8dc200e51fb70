"""The runner's ceiling on each store, beside the runner with no store and, with ``--against``,
beside another version of ledgerrun measured in the same run: part of ``benchmarks/store.py``.

Each measure is one run's sending in a process of its own (``benchmarks/instant.py``), so that its
CPU is the run's alone; the repeats go round every store and version in turn, so that the
machine's noise falls on all of them alike. Figures are medians, with the range of the repeats.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOAL_PER_S = 1000  # debits a second with durable intents: the store is never the bottleneck
DEBIT_BUDGET_MS = 1.0  # the CPU a whole debit may cost (issue 26); the store a small share of it
STORES = ("none", "SQLite", "PostgreSQL")


def sources(revision: str, folder: Path) -> Path:
    """The ``src`` folder of ``revision`` (a git revision of this repository), unpacked."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "src"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    target = folder / f"src-{uuid.uuid4().hex[:8]}"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


def one(location: str, src: Path | None, args: argparse.Namespace) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    done = subprocess.run(
        [sys.executable, str(HERE / "instant.py"), location, "--rows", str(args.rows),
         "--accounts", str(args.accounts), "--concurrency", str(args.concurrency)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the ceiling measure failed on {location}:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def measure(folder: Path, fresh_pg: Callable[[], str], args: argparse.Namespace) -> None:
    versions: list[tuple[str, Path | None]] = [("this", None)]
    if args.against:
        versions.append((args.against, sources(args.against, folder)))
    places = {
        "none": lambda: "memory",
        "SQLite": lambda: str(folder / f"ceiling-{uuid.uuid4().hex[:8]}.sqlite"),
        "PostgreSQL": fresh_pg,
    }
    got: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(args.repeat):
        for version, src in versions:
            for name in STORES:
                got.setdefault((name, version), []).append(one(places[name](), src, args))
    print(
        f"\nthe runner's ceiling: {args.rows} debits over {args.accounts} accounts, concurrency"
        f" {args.concurrency}, an in-process Stripe answering at once, intents durable; median"
        f" of {args.repeat} (range):"
    )
    print(
        f"{'store':<11} {'version':<9} {'debits/s':>21} {'CPU/debit ms':>20} {'store ms':>9}"
        f" {'statements':>10} {'transactions':>12}"
    )
    for name in STORES:
        for version, _ in versions:
            runs = got[(name, version)]
            store_ms = _median(runs, "cpu_ms") - _median(got[("none", version)], "cpu_ms")
            print(
                f"{name:<11} {version:<9} {_shown(runs, 'debits_per_s', '{:,.0f}'):>21}"
                f" {_shown(runs, 'cpu_ms', '{:.3f}'):>20}"
                f" {'' if name == 'none' else f'{store_ms:.3f}':>9}"
                f" {_median(runs, 'statements'):>10.2f} {_median(runs, 'transactions'):>12.2f}"
            )
    print("\ngoals (this version; the other beside it):")
    for name in ("SQLite", "PostgreSQL"):
        rate = {v: _median(got[(name, v)], "debits_per_s") for v, _ in versions}
        print(
            f"  {name}: {rate['this']:,.0f} debits/s with durable intents, goal >="
            f" {GOAL_PER_S:,}: {'met' if rate['this'] >= GOAL_PER_S else 'NOT met'}"
            + "".join(f" ({v}: {r:,.0f})" for v, r in rate.items() if v != "this")
        )
    shares = []
    for version, _ in versions:
        store_ms = _median(got[("SQLite", version)], "cpu_ms") - _median(
            got[("none", version)], "cpu_ms"
        )
        shares.append(
            f"{version}: {store_ms:.3f} ms, {store_ms / DEBIT_BUDGET_MS:.0%} of the"
            f" {DEBIT_BUDGET_MS:g} ms a debit may cost"
        )
    print("  the store's CPU per debit (SQLite, less the run with no store): " + "; ".join(shares))
    print(
        "  (PostgreSQL's own CPU is the server's, in other processes: its rows count the"
        " client's only)"
    )


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _shown(runs: list[dict[str, float]], key: str, form: str) -> str:
    values = [r[key] for r in runs]
    if len(values) == 1:
        return form.format(values[0])
    return (
        f"{form.format(statistics.median(values))}"
        f" ({form.format(min(values))}-{form.format(max(values))})"
    )
