"""``[metrics] textfile``: each job's last run as Prometheus gauges, for node_exporter's textfile
collector (which reads every ``*.prom`` file of its folder at each scrape).

Written at the end of every real run (never a dry run), also one that stopped with exit 2 or 3:

==========================================  =====================================================
gauge                                       labels, value
==========================================  =====================================================
``ledgerrun_rows``                          job, status: rows of the last run with that status
``ledgerrun_amount_minor``                  job, currency, direction, status: their amount in
                                            minor units (``requested``: every valid row)
``ledgerrun_last_run_exit_code``            job: the last run's exit code
``ledgerrun_last_run_timestamp_seconds``    job: when it ended (Unix time)
``ledgerrun_last_success_timestamp_seconds``  job: when a run last ended with exit 0
``ledgerrun_run_duration_seconds``          job: how long it took
==========================================  =====================================================

Several jobs may name one file: each write reads the file, keeps every other job's samples (and
any other family in it), replaces this job's, and puts the result in place atomically (a temporary
file beside it, synced, then renamed over it: a scrape never sees half a file), all under an
exclusive lock on a hidden ``.<name>.lock`` beside it, so two jobs ending at once keep each
other's lines. ``prometheus_client`` writes the text format and parses it back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledgerrun.output.results import atomic_write
from ledgerrun.vocab import STATUSES

HELP = {
    "ledgerrun_rows": "Rows of the job's last run, by status.",
    "ledgerrun_amount_minor": (
        "Amounts of the job's last run in minor units (cents), by currency, direction and status "
        "(requested: every valid row)."
    ),
    "ledgerrun_last_run_exit_code": (
        "Exit code of the job's last run: 0 all succeeded, 1 some failed, 2 invalid input or "
        "configuration, 3 incomplete (run again), 4 another run held the lock."
    ),
    "ledgerrun_last_run_timestamp_seconds": "When the job's last run ended, in Unix time.",
    "ledgerrun_last_success_timestamp_seconds": "When a run of the job last ended with exit 0.",
    "ledgerrun_run_duration_seconds": "How long the job's last run took, in seconds.",
}
LOCK_WAIT_S = 10.0


@dataclass(frozen=True)
class LastRun:
    """What the gauges say about one job's last run."""

    job: str
    exit_code: int
    ended_at: dt.datetime
    duration_s: float
    counts: Mapping[str, int] = field(default_factory=dict)
    totals: Mapping[str, Mapping[str, Mapping[str, int]]] = field(default_factory=dict)


def write_textfile(path: Path, run: LastRun) -> None:
    """Put ``run``'s gauges in ``path``, keeping every other job's. Raises OSError when the file
    cannot be written (the caller logs it: metrics never change a run's exit code)."""
    from prometheus_client.exposition import generate_latest

    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_name(f".{path.name}.lock")):
        families = merge(read_textfile(path), run)
        data = generate_latest(_Families(families))
        atomic_write(path, lambda fh: fh.write(data))


def read_textfile(path: Path) -> list[Any]:
    """The metric families in ``path`` (none when it does not exist or cannot be parsed: the
    next write replaces it whole)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        return list(text_string_to_metric_families(text))
    except ValueError:
        return []


def merge(families: Iterable[Any], run: LastRun) -> list[Any]:
    """``families`` with ``run.job``'s samples of ledgerrun's gauges replaced by ``run``'s."""
    from prometheus_client.core import GaugeMetricFamily

    kept: dict[str, list[Any]] = {name: [] for name in HELP}
    others: list[Any] = []
    last_success: float | None = None
    for family in families:
        if family.name not in HELP:
            others.append(family)
            continue
        for sample in family.samples:
            if sample.labels.get("job") != run.job:
                kept[family.name].append(sample)
            elif family.name == "ledgerrun_last_success_timestamp_seconds":
                last_success = sample.value
    ended = run.ended_at.timestamp()
    mine: dict[str, list[tuple[dict[str, str], float]]] = {
        "ledgerrun_rows": [
            ({"status": status}, float(run.counts.get(status, 0))) for status in STATUSES
        ],
        "ledgerrun_amount_minor": [
            ({"currency": currency, "direction": direction, "status": status}, float(amount))
            for currency, directions in sorted(run.totals.items())
            for direction, by_status in sorted(directions.items())
            for status, amount in by_status.items()
        ],
        "ledgerrun_last_run_exit_code": [({}, float(run.exit_code))],
        "ledgerrun_last_run_timestamp_seconds": [({}, ended)],
        "ledgerrun_last_success_timestamp_seconds": (
            [({}, ended)] if run.exit_code == 0
            else [({}, last_success)] if last_success is not None else []
        ),
        "ledgerrun_run_duration_seconds": [({}, round(run.duration_s, 3))],
    }  # fmt: skip
    out = []
    for name, help_text in HELP.items():
        samples = [(dict(s.labels), s.value) for s in kept[name]]
        samples += [({"job": run.job, **labels}, value) for labels, value in mine[name]]
        samples.sort(key=lambda item: sorted(item[0].items()))
        names = ["job", *[k for k in (samples[0][0] if samples else {}) if k != "job"]]
        gauge = GaugeMetricFamily(name, help_text, labels=names)
        for labels, value in samples:
            gauge.add_metric([labels.get(n, "") for n in names], value)
        out.append(gauge)
    return out + others


class _Families:
    """The families as prometheus_client's writer takes them (a collector)."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> Iterator[Any]:
        return iter(self.families)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` for the block (waiting up to ``LOCK_WAIT_S``)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    held = f"another process has held {path} for {LOCK_WAIT_S:.0f} s"
                    raise OSError(held) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
