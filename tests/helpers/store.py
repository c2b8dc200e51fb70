"""Building blocks for store tests: entries, runs, outcomes, child processes, and a journal as
version 1 wrote it."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledgerrun.store.model import FAILED, PENDING, SUCCEEDED, Entry, Run, Store
from tests.helpers.constants import ROOT

T0 = dt.datetime(2026, 11, 26, 9, 30, 0, 123456, tzinfo=dt.UTC)
PARIS = dt.timezone(dt.timedelta(hours=1))
NONE = {PENDING: 0, SUCCEEDED: 0, FAILED: 0}


def intent(key: str = "adj-1", *, job: str = "nightly", **changes: Any) -> Entry:
    entry = Entry(
        key=key,
        adjustment_id=key.upper(),
        job=job,
        run_date="2026-11-26",
        direction="debit",
        account="acct_1Abc",
        currency="eur",
        amount_minor=12345,
        method="transfer",
        state=PENDING,
        generation=0,
        idempotency_key=f"ledgerrun.v2:debit:0:{key}",
        request={"amount": 12345, "currency": "eur", "metadata": {"adjustment_id": key}},
        attempts=0,
        attempted_at=T0,
        attempted_at_server=T0 + dt.timedelta(seconds=2),
        run_id="run-1",
    )
    return dataclasses.replace(entry, **changes)


def run(run_id: str = "run-1", job: str = "nightly", **changes: Any) -> Run:
    record = Run(
        run_id=run_id,
        job=job,
        kind="run",
        run_date="2026-11-26",
        started_at=T0,
        mode="sandbox",
        username="finance",
        host="cron-1",
        pid=4242,
        job_file="/jobs/nightly.toml",
        ledger_path="/inbox/adj.csv",
        ledger_sha256="ab" * 32,
        results_path="/out/x.results.csv",
        rows=3,
    )
    return dataclasses.replace(record, **changes)


def succeed(store: Store, key: str = "adj-1", **changes: Any) -> None:
    args = dict(run_id="run-1", transfer_id="tr_1", payment_id="py_1", request_id=None)
    store.record_success(key, **(args | {"completed_at": T0} | changes))


def fail(store: Store, key: str = "adj-1", **changes: Any) -> None:
    args = dict(run_id="run-1", error_code="balance_insufficient", error_message="m")
    store.record_failure(key, **(args | {"request_id": None, "completed_at": T0} | changes))


def unknown(store: Store, key: str = "adj-1", **changes: Any) -> None:
    args = dict(run_id="run-1", error_code="api_error", error_message="m", request_id=None)
    store.record_unknown(key, **(args | changes))


def spawn(code: str) -> subprocess.Popen[str]:
    """Start a Python child running ``code``; it prints one line when it is ready."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


def ready(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None and child.stderr is not None
    if not select.select([child.stdout], [], [], 20)[0]:
        child.kill()
        pytest.fail("the child process never became ready")
    line = child.stdout.readline().strip()
    assert line, f"the child process failed: {child.stderr.read()}"
    return line


def sigkill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL


# --- version 1 journals -------------------------------------------------------------------------

V1_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE runs (run_id TEXT PRIMARY KEY, job TEXT NOT NULL, started_at TEXT NOT NULL,"
    " ledger_path TEXT NOT NULL, ledger_sha256 TEXT NOT NULL, rows INTEGER NOT NULL,"
    " dry_run INTEGER NOT NULL, ended_at TEXT, exit_code INTEGER, counts TEXT)",
    "CREATE INDEX runs_by_job ON runs (job, started_at)",
    "CREATE TABLE adjustments (job TEXT NOT NULL, adjustment_id TEXT NOT NULL,"
    " account TEXT NOT NULL, currency TEXT NOT NULL, amount_minor INTEGER NOT NULL,"
    " method TEXT NOT NULL, state TEXT NOT NULL, generation INTEGER NOT NULL,"
    " idempotency_key TEXT NOT NULL, request TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " attempted_at TEXT NOT NULL, attempted_at_server TEXT NOT NULL, transfer_id TEXT,"
    " payment_id TEXT, request_id TEXT, error_code TEXT, error_message TEXT, completed_at TEXT,"
    " run_id TEXT, PRIMARY KEY (job, adjustment_id)) WITHOUT ROWID",
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, job TEXT NOT NULL,"
    " adjustment_id TEXT NOT NULL, kind TEXT NOT NULL, run_id TEXT, generation INTEGER,"
    " idempotency_key TEXT, detail TEXT NOT NULL)",
)
STAMP = "2026-11-25T02:00:00.000000+00:00"


def write_v1(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """A journal as ledgerrun 0.1 wrote it: (job, adjustment id, state) per row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        for statement in V1_SCHEMA:
            raw.execute(statement)
        raw.executemany(
            "INSERT INTO meta VALUES (?, ?)", [("schema_version", "1"), ("application", "x")]
        )
        raw.execute(
            "INSERT INTO runs VALUES ('r1', 'nightly', ?, 'in.csv', 'ab', 3, 0, ?, 1, '{}')",
            (STAMP, STAMP),
        )
        for job, adjustment_id, state in rows:
            done = state == "succeeded"
            raw.execute(
                "INSERT INTO adjustments VALUES (?, ?, 'acct_1Abc', 'usd', 500, 'transfer', ?, 0,"
                " ?, ?, 1, ?, ?, ?, ?, NULL, NULL, NULL, ?, 'r1')",
                (
                    job,
                    adjustment_id,
                    state,
                    f"ledgerrun:{job}:0:{adjustment_id}",
                    json.dumps({"amount": 500, "currency": "usd"}),
                    STAMP,
                    STAMP,
                    "tr_" + adjustment_id if done else None,
                    "py_" + adjustment_id if done else None,
                    STAMP if done else None,
                ),
            )
            raw.execute(
                "INSERT INTO events (at, job, adjustment_id, kind, run_id, generation,"
                " idempotency_key, detail) VALUES (?, ?, ?, 'intent', 'r1', 0, 'k', '{}')",
                (STAMP, job, adjustment_id),
            )
