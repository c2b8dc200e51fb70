"""Work that survives its worker, and a run that survives losing its store, on PostgreSQL.

* A web batch is run by ``ledgerrun worker`` on host A (its own host name, in a UTS namespace);
  A is SIGKILLed mid-run; a worker started on host B takes the item over once A's lease runs
  out and finishes it: every row debited exactly once, the item's history naming both.
* A ``ledgerrun run`` whose PostgreSQL server restarts mid-run (a failover) exits 3, "run it
  again", never 2; run again, it finishes: every row debited exactly once.

Both are judged on the sandbox's books.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from ledgerrun.store import open_store
from ledgerrun.web import service
from ledgerrun.web.config import load_config
from ledgerrun_sandbox import Faults
from tests.e2e.test_two_hosts import on_host
from tests.helpers.cli import cli, start_cli, write_job
from tests.helpers.constants import HEADER, KEY
from tests.helpers.sandbox import ServerFactory, debits
from tests.helpers.sandbox import sandbox_state as state
from tests.store import pg
from tools import pgserver

pytestmark = pytest.mark.slow
ACCOUNTS = ["acct_1ConnAA000000", "acct_1ConnBA000001", "acct_1ConnCA000002"]
ROWS = 40


def rows(prefix: str) -> list[str]:
    return [
        f"{prefix}-{n:03d},{ACCOUNTS[n % 3]},{1 + n % 7}.{n % 100:02d},usd,,Takeover {n},INV-{n}"
        for n in range(ROWS)
    ]


def wait_for(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@pytest.fixture
def slow_sandbox(make_sandbox: ServerFactory) -> str:
    """A sandbox that answers each request after 150 ms, so a run takes seconds."""
    return make_sandbox(faults=Faults(latency_ms=150)).url


def test_a_killed_workers_batch_is_finished_by_a_worker_on_another_host(
    tmp_path: Path, slow_sandbox: str
) -> None:
    url, schema = pg.fresh_store_url()
    try:
        jobs = tmp_path / "jobs"
        jobs.mkdir()
        (jobs / "fees.toml").write_text(
            '[job]\nname = "fees"\nledger = "unused.csv"\n'
            'results = "../out/{job}-{date}.results.csv"\n\n'
            f'[stripe]\napi_base = "{slow_sandbox}"\nrate_limit = 200\n'
            f'limits = "off"\nconcurrency = 1\n'
            "timeout_s = 10\n",
            encoding="utf-8",
        )
        config_path = tmp_path / "serve.toml"
        config_path.write_text(
            f'[serve]\njobs = "jobs"\nstore = "{url}"\nuploads = "uploads"\n'
            "worker_thread = false\nwork_lease_s = 3\n",
            encoding="utf-8",
        )
        config = load_config(config_path)
        store = open_store(url)
        ledger = tmp_path / "takeover.csv"
        ledger.write_text("\n".join([HEADER, *rows("TK")]) + "\n", encoding="utf-8")
        with ledger.open("rb") as fh:
            sha, size, _ = service.save_upload(config, store, fh, ledger.name)
        batch = service.new_batch(config, store, job_name="fees", file_name=ledger.name,
                                  sha=sha, size=size, user="pat")  # fmt: skip
        for item in store.work_items(batch.batch_id):  # the upload's online check: not needed
            store.update_work(item.work_id, state="done", exit_code=0)
        item = service.enqueue(store, batch.batch_id, "run", "pat", {})
        env = {**os.environ, "STRIPE_API_KEY": KEY}

        def worker(host: str) -> subprocess.Popen[str]:
            return subprocess.Popen(
                on_host(host, "worker", "--config", config_path),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=env,
            )  # fmt: skip

        def sent() -> int:
            return len(debits(state(slow_sandbox), "fees"))

        first = worker("host-a")
        try:
            wait_for(lambda: sent() >= 3, 60, "host A to send some rows")
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            first.kill()
        at_kill = sent()
        assert 0 < at_kill < ROWS, f"the kill did not land mid-run ({at_kill} of {ROWS} sent)"
        running = store.work_item(item.work_id)
        assert running is not None and running.state == "running"
        assert running.worker.startswith("host-a:")
        second = worker("host-b")
        try:
            wait_for(
                lambda: (store.work_item(item.work_id) or running).state in ("done", "failed"),
                120,
                "host B to take the run over and finish it",
            )
        finally:
            second.terminate()
            second.wait(30)
        done = store.work_item(item.work_id)
        assert done is not None and done.state == "done" and done.exit_code == 0, done
        events = [(e["event"], e["worker"].split(":")[0]) for e in done.history]
        assert events == [("started", "host-a"), ("taken_over", "host-b")]
        assert done.history[-1]["from"].startswith("host-a:")
        books = debits(state(slow_sandbox), "fees")
        assert sorted(books) == sorted(r.split(",")[0] for r in rows("TK"))
        assert set(books.values()) == {1}, "a row was debited more than once"
        store.close()
    finally:
        pg.drop_schema(schema)


def test_a_postgresql_restart_mid_run_is_incomplete_then_exactly_once(
    tmp_path: Path, slow_sandbox: str
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ledgerrun-pg-restart-"))
    folder.chmod(0o755)
    try:
        url = pgserver.start(folder)
        job = write_job(tmp_path, slow_sandbox, rows("PG"), name="failover", concurrency=1)
        run = start_cli("run", job, "--journal", url, stderr=subprocess.PIPE)
        wait_for(lambda: len(debits(state(slow_sandbox), "failover")) >= 3, 60, "some rows sent")
        pgserver.restart(folder)
        _, err = run.communicate(timeout=120)
        at_restart = len(debits(state(slow_sandbox), "failover"))
        assert 0 < at_restart < ROWS, f"the restart did not land mid-run ({at_restart} sent)"
        assert run.returncode == 3, err
        assert "Traceback" not in err
        again = cli("run", job, "--journal", url)
        assert again.returncode == 0, again.stdout + again.stderr
        books = debits(state(slow_sandbox), "failover")
        assert sorted(books) == sorted(r.split(",")[0] for r in rows("PG"))
        assert set(books.values()) == {1}, "a row was debited more than once"
    finally:
        pgserver.stop(folder)
