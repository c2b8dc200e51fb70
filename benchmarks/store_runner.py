"""The runner on each store, beside the runner with no store and, with ``--against``, beside
another version of ledgerrun measured in the same run: part of ``benchmarks/store.py``.

Two settings, each a run's sending through the real executor, engine and Stripe client on the
in-process Stripe of ``benchmarks/instant.py``, intents durable:

* **the ceiling**: Stripe answering at once, the job's default concurrency (8): how many debits
  a second the runner reaches with its store (goal: at least 1,000, the store never the
  bottleneck), and what a debit costs when commits can be shared;
* **at Stripe's pace**: every answer after 100 ms, 100 requests a second, concurrency 32 (the
  run benchmark's setting): what a debit costs when hardly any two commits meet.

Each measure is one run in a process of its own, so that its CPU is the run's alone; the repeats
go round every store and version in turn (the versions' order alternating), so that the
machine's noise falls on all of them alike.
Figures are medians, with the range of the repeats. The store's CPU is a run's CPU on it less
the same run's with no store at all.
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
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOAL_PER_S = 1000  # debits a second with durable intents: the store is never the bottleneck
DEBIT_BUDGET_MS = 1.0  # the CPU a whole debit may cost (issue 26); the store a small share of it
STORES = ("none", "SQLite", "PostgreSQL")


@dataclass(frozen=True)
class Setting:
    name: str
    rows: int
    concurrency: int
    latency_ms: float = 0.0
    rate: float | None = None

    def flags(self, accounts: int) -> list[str]:
        flags = ["--rows", str(self.rows), "--accounts", str(accounts)]
        flags += ["--concurrency", str(self.concurrency), "--latency-ms", str(self.latency_ms)]
        return flags + (["--rate", str(self.rate)] if self.rate else [])

    def said(self, accounts: int) -> str:
        pace = (
            f"every answer after {self.latency_ms:g} ms, {self.rate:g} requests/s"
            if self.latency_ms
            else "Stripe answering at once"
        )
        return (
            f"{self.name}: {self.rows:,} debits over {accounts} accounts, concurrency"
            f" {self.concurrency}, {pace}, intents durable"
        )


def settings(args: argparse.Namespace) -> list[Setting]:
    return [
        Setting("the ceiling", args.rows, args.concurrency),
        Setting("at Stripe's pace", max(args.rows // 5, 100), 32, latency_ms=100, rate=100),
    ]


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


def one(location: str, src: Path | None, flags: list[str]) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    done = subprocess.run(
        [sys.executable, str(HERE / "instant.py"), location, *flags],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"the runner measure failed on {location}:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


Results = dict[tuple[str, str], list[dict[str, float]]]


def measure(folder: Path, fresh_pg: Callable[[], str], args: argparse.Namespace) -> None:
    versions: list[tuple[str, Path | None]] = [("this", None)]
    if args.against:
        versions.append((args.against, sources(args.against, folder)))
    places = {
        "none": lambda: "memory",
        "SQLite": lambda: str(folder / f"runner-{uuid.uuid4().hex[:8]}.sqlite"),
        "PostgreSQL": fresh_pg,
    }
    for setting in settings(args):
        got: Results = {}
        for repeat in range(args.repeat):
            turn = versions if repeat % 2 == 0 else versions[::-1]  # neither always goes first
            for version, src in turn:
                for name in STORES:
                    figures = one(places[name](), src, setting.flags(args.accounts))
                    got.setdefault((name, version), []).append(figures)
        show(setting, args, [v for v, _ in versions], got)


def show(setting: Setting, args: argparse.Namespace, versions: list[str], got: Results) -> None:
    print(f"\n{setting.said(args.accounts)}; median of {args.repeat} (range):")
    print(
        f"{'store':<11} {'version':<9} {'debits/s':>21} {'CPU/debit ms':>20} {'store ms':>9}"
        f" {'statements':>10} {'transactions':>12}"
    )
    for name in STORES:
        for version in versions:
            runs = got[(name, version)]
            print(
                f"{name:<11} {version:<9} {_shown(runs, 'debits_per_s', '{:,.0f}'):>21}"
                f" {_shown(runs, 'cpu_ms', '{:.3f}'):>20}"
                f" {'' if name == 'none' else f'{_store_ms(got, name, version):.3f}':>9}"
                f" {_median(runs, 'statements'):>10.2f} {_median(runs, 'transactions'):>12.2f}"
            )
    others = [v for v in versions if v != "this"]

    def beside(figure: Callable[[str], str]) -> str:
        return "".join(f" ({v}: {figure(v)})" for v in others)

    print("goals:")
    if not setting.latency_ms:
        for name in ("SQLite", "PostgreSQL"):
            rate = _median(got[(name, "this")], "debits_per_s")
            print(
                f"  {name}: {rate:,.0f} debits/s with durable intents, goal >= {GOAL_PER_S:,}:"
                f" {'met' if rate >= GOAL_PER_S else 'NOT met'}"
                + beside(lambda v, n=name: f"{_median(got[(n, v)], 'debits_per_s'):,.0f}")  # type: ignore[misc]
            )
    for name in ("SQLite", "PostgreSQL"):
        ms = _store_ms(got, name, "this")
        print(
            f"  {name}: the store's CPU per debit {ms:.3f} ms, {ms / DEBIT_BUDGET_MS:.0%} of the"
            f" {DEBIT_BUDGET_MS:g} ms a debit may cost"
            + beside(lambda v, n=name: f"{_store_ms(got, n, v):.3f} ms")  # type: ignore[misc]
        )
    print("  (PostgreSQL: the client's CPU only; the server's is in its own processes)")


def _store_ms(got: Results, name: str, version: str) -> float:
    return _median(got[(name, version)], "cpu_ms") - _median(got[("none", version)], "cpu_ms")


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
