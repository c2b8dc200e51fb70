"""Building blocks for store tests: entries, runs and child processes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import select
import signal
import subprocess
import sys
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
