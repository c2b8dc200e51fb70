"""Two hosts, one PostgreSQL store: cron on both runs the same job; one runs, the other is told
who holds the lock (exit 4); when the runner dies, the other takes over and finishes, and Stripe's
books show every adjustment debited exactly once.

Each "host" is a process with its own working directory, job file and copy of the ledger, and
its own host name (a UTS namespace made with unshare), so the lock's holder is named as cron
would see it on another machine."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledgerrun.store import open_store
from ledgerrun_sandbox import Faults, SandboxServer
from tests.helpers.cli import cli, results_rows, write_job
from tests.helpers.constants import KEY, SAMPLES
from tests.helpers.sandbox import debits
from tests.helpers.sandbox import sandbox_state as state

pytestmark = pytest.mark.slow
ACCOUNTS = ["acct_1ConnAA000000", "acct_1ConnBA000001", "acct_1ConnCA000002"]
ROWS = 60
# Sets the host name in a new UTS namespace, then becomes `python -m ledgerrun ...` (same pid).
AS_HOST = (
    "import os, socket, sys; socket.sethostname(sys.argv[1]);"
    " os.execv(sys.executable, [sys.executable, '-m', 'ledgerrun', *sys.argv[2:]])"
)


def on_host(host: str, *args: object) -> list[str]:
    unshare = ["unshare", "--uts"]
    if os.geteuid() != 0:  # a user namespace lets an unprivileged user name its own host
        unshare[1:1] = ["--user", "--map-root-user"]
    return [*unshare, sys.executable, "-c", AS_HOST, host, *map(str, args)]


def host_folder(root: Path, host: str, url: str) -> Path:
    rows = [
        f"H-{n:03d},{ACCOUNTS[n % 3]},{1 + n % 7}.{n % 100:02d},usd,,Two hosts {n},INV-{n}"
        for n in range(ROWS)
    ]
    return write_job(root / host, url, rows, name="nightly", concurrency=1)


def start_on(host: str, job: Path, journal: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        on_host(host, "run", job, "--journal", journal),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "STRIPE_API_KEY": KEY}, cwd=job.parent,
    )  # fmt: skip


def run_on(host: str, job: Path, journal: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        on_host(host, "run", job, "--journal", journal),
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "STRIPE_API_KEY": KEY}, cwd=job.parent,
    )  # fmt: skip


def test_two_hosts_share_one_run_lock_and_the_survivor_finishes(
    tmp_path: Path, pg_url: str
) -> None:
    with SandboxServer(
        SAMPLES / "accounts.json",
        port=0,
        faults=Faults(latency_ms=100),
        api_keys=[KEY],
        limits="off",
    ) as box:
        job_a = host_folder(tmp_path, "host-a", box.url)
        job_b = host_folder(tmp_path, "host-b", box.url)
        runner = start_on("host-a", job_a, pg_url)
        try:
            deadline = time.monotonic() + 60
            while state(box.url)["stats"]["write_requests"] < 3:
                assert runner.poll() is None, "host-a stopped before sending"
                assert time.monotonic() < deadline, "host-a never started sending"
                time.sleep(0.05)
            second = run_on("host-b", job_b, pg_url)
            assert second.returncode == 4, second.stdout + second.stderr
            assert re.search(rf"pid {runner.pid} on host host-a\b", second.stderr), second.stderr
            assert "Traceback" not in second.stderr
            assert runner.poll() is None, "host-a finished before it could be killed"
        finally:
            runner.send_signal(signal.SIGKILL)
            runner.wait(timeout=10)
        killed = time.monotonic()
        sent_by_a = sum(debits(state(box.url), "nightly").values())
        assert 0 < sent_by_a < ROWS
        codes: list[int] = []
        taken = None  # seconds from the kill to host-b holding the lock
        with contextlib.closing(open_store(pg_url, readonly=True)) as watcher:
            while True:
                retry = start_on("host-b", job_b, pg_url)
                while retry.poll() is None:
                    holder = watcher.lock_holder("nightly") if taken is None else None
                    if holder and holder.get("host") == "host-b":
                        taken = time.monotonic() - killed
                    time.sleep(0.05)
                codes.append(retry.returncode)
                if retry.returncode != 4:
                    break
                assert time.monotonic() - killed < 10, f"host-b could not take over: {codes}"
                time.sleep(0.3)
        assert taken is not None and taken < 10, (taken, codes)
        while codes[-1] == 3 and len(codes) < 8:  # unknowns left by the kill: settled next run
            codes.append(run_on("host-b", job_b, pg_url).returncode)
        assert codes[-1] == 0, codes
        books = debits(state(box.url), "nightly")
        assert len(books) == ROWS and set(books.values()) == {1}, books
        out = results_rows(tmp_path / "host-b" / "out" / "nightly.results.csv")
        assert len(out) == ROWS and {r["status"] for r in out} == {"succeeded"}
        print(f"host-a sent {sent_by_a} of {ROWS}; host-b took over in {taken:.1f} s: {codes}")
    status = cli("status", job_b, "--journal", pg_url, "--format", "json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["running"] is None and report["runs"][-1]["exit_code"] == 0
