"""Recovery, end to end: answers lost, keys expired, runs racing, journals broken, and reconcile
finding what was planted by hand. The CLI runs in its own process; money is checked on the
sandbox's own state."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

from ledgerrun_sandbox import Faults
from tests.helpers.cli import cli, held_by_another_process, results_rows, start_cli, write_job
from tests.helpers.constants import PLATFORM, A, B
from tests.helpers.sandbox import advance_clock, debits, make_client, sandbox_state

ROWS = [f'U-1,{A},"12.00",usd,,Lost answer,INV-1', f'U-2,{B},"3.00",usd,,Second row,INV-2']


def outcome(folder: Path) -> dict[str, dict[str, str]]:
    return {r["adjustment_id"]: r for r in results_rows(folder / "out" / "e2e.results.csv")}


def test_a_lost_answer_is_unknown_then_settled_with_the_same_key(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS, stripe="max_attempts = 1")
    sandbox.set_faults(Faults(drop_rate=1.0))
    first = cli("run", job)
    assert first.returncode == 3, first.stdout + first.stderr
    rows = outcome(tmp_path)
    assert {r["status"] for r in rows.values()} == {"unknown"}
    assert "run the job again" in first.stdout
    # committed, answer lost
    assert debits(sandbox_state(sandbox.url), "e2e") == {"U-1": 1, "U-2": 1}
    sandbox.set_faults(Faults())
    second = cli("run", job)
    assert second.returncode == 0, second.stdout + second.stderr
    after = sandbox_state(sandbox.url)
    assert debits(after, "e2e") == {"U-1": 1, "U-2": 1}
    assert after["stats"]["idempotent_replays"] == 2
    rows = outcome(tmp_path)
    by_id = {t["id"]: t for t in after["transfers"]}
    for adjustment_id, row in rows.items():
        assert row["status"] == "succeeded"
        assert row["idempotency_key"] == f"ledgerrun.v2:debit:0:{adjustment_id.lower()}"
        assert by_id[row["transfer_id"]]["metadata"]["ledgerrun_adjustment_id"] == adjustment_id
        assert row["attempts"] == "2"


def test_a_timeout_is_unknown_and_the_rerun_finds_the_debit(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS[:1], stripe="max_attempts = 1")
    text = job.read_text().replace("timeout_s = 10", "timeout_s = 0.3")
    job.write_text(text)
    sandbox.set_faults(Faults(latency_ms=1500, writes_only=True))
    first = cli("run", job, "--concurrency", "1")
    assert first.returncode == 3, first.stdout + first.stderr
    assert outcome(tmp_path)["U-1"]["error_code"] == "network_error"
    sandbox.set_faults(Faults())
    deadline = time.monotonic() + 5
    while not debits(sandbox_state(sandbox.url)) and time.monotonic() < deadline:
        time.sleep(0.05)  # the sandbox finishes the request the client gave up on
    assert cli("run", job).returncode == 0
    assert debits(sandbox_state(sandbox.url), "e2e") == {"U-1": 1}


def test_after_24_hours_a_pending_debit_is_looked_up_not_resent(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS, stripe="max_attempts = 1")
    sandbox.set_faults(Faults(drop_rate=1.0))
    assert cli("run", job).returncode == 3
    sandbox.set_faults(Faults())
    advance_clock(sandbox.url, 25 * 3600)  # Stripe has pruned the keys by now
    writes = sandbox_state(sandbox.url)["stats"]["write_requests"]
    second = cli("run", job)
    assert second.returncode == 0, second.stdout + second.stderr
    after = sandbox_state(sandbox.url)
    assert after["stats"]["write_requests"] == writes  # found by listing, nothing sent
    assert debits(after, "e2e") == {"U-1": 1, "U-2": 1}
    rows = outcome(tmp_path)
    ids = {t["id"] for t in after["transfers"]}
    assert all(r["status"] == "succeeded" and r["transfer_id"] in ids for r in rows.values())


def test_after_24_hours_a_debit_that_never_happened_is_sent(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS[:1], stripe="max_attempts = 1")
    sandbox.set_faults(
        Faults(error_rate=1.0, writes_only=True)
    )  # 500 before executing: nothing is debited
    first = cli("run", job)
    assert first.returncode == 3
    assert outcome(tmp_path)["U-1"]["status"] == "unknown"
    assert debits(sandbox_state(sandbox.url)) == {}
    sandbox.set_faults(Faults())
    advance_clock(sandbox.url, 25 * 3600)
    second = cli("run", job)
    assert second.returncode == 0, second.stdout + second.stderr
    assert debits(sandbox_state(sandbox.url), "e2e") == {"U-1": 1}
    assert outcome(tmp_path)["U-1"]["idempotency_key"] == "ledgerrun.v2:debit:0:u-1"


def test_reconcile_is_clean_then_finds_a_planted_duplicate_and_orphan(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS)
    assert cli("run", job).returncode == 0
    clean = cli("reconcile", job)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Everything agrees" in clean.stdout
    summary = json.loads((tmp_path / "out" / "e2e.results.csv.reconcile.json").read_text())
    assert summary["clean"] is True and summary["succeeded_rows_checked"] == 2
    client = make_client(sandbox.url)
    # A duplicate of U-1 and an orphan nobody asked for, both under the job's transfer group.
    for adjustment_id in ("U-1", "HAND-MADE"):
        client.v1.transfers.create(
            {
                "amount": 500,
                "currency": "usd",
                "destination": PLATFORM,
                "transfer_group": "e2e",
                "metadata": {"ledgerrun_job": "e2e", "ledgerrun_adjustment_id": adjustment_id},
            },
            {"stripe_account": A},
        )
    client.v1.charges.create(
        {"amount": 300, "currency": "usd", "source": B, "transfer_group": "e2e"}
    )
    dirty = cli("reconcile", job)
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    report = results_rows(tmp_path / "out" / "e2e.results.csv.reconcile.csv")
    kinds = sorted((r["kind"], r["adjustment_id"]) for r in report)
    assert kinds == [("duplicate", "U-1"), ("orphan", ""), ("orphan", "HAND-MADE")]
    assert all(r["what_to_do"] for r in report)
    assert "3 discrepancies" in dirty.stdout


def test_reconcile_flags_a_debit_whose_row_is_not_reported_succeeded(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS[:1], stripe="max_attempts = 1")
    sandbox.set_faults(Faults(drop_rate=1.0))
    assert cli("run", job).returncode == 3
    sandbox.set_faults(Faults())
    found = cli("reconcile", job)
    assert found.returncode == 1
    report = results_rows(tmp_path / "out" / "e2e.results.csv.reconcile.csv")
    assert [(r["kind"], r["adjustment_id"]) for r in report] == [("unsettled", "U-1")]
    assert cli("run", job).returncode == 0
    assert cli("reconcile", job).returncode == 0


def test_reconcile_finds_a_succeeded_row_whose_debit_is_missing(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS[:1])
    assert cli("run", job).returncode == 0
    path = tmp_path / "out" / "e2e.results.csv"
    text = path.read_text()
    rows = results_rows(path)
    path.write_text(text.replace(rows[0]["transfer_id"], "tr_doesnotexist000000"))
    done = cli("reconcile", job, "--results", path)  # this file, as edited
    assert done.returncode == 1
    kinds = {r["kind"] for r in results_rows(path.with_name(path.name + ".reconcile.csv"))}
    assert kinds == {"missing_transfer"}


def test_two_runs_started_together_one_runs_one_exits_4(tmp_path: Path, sandbox) -> None:
    rows = [f"T-{n},{A},1.00,usd,,,INV" for n in range(40)]
    job = write_job(tmp_path, sandbox.url, rows)
    sandbox.set_faults(Faults(latency_ms=20))
    procs = [
        start_cli("run", job, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    ]
    codes = sorted(p.wait(timeout=120) for p in procs)
    assert codes == [0, 4]
    assert debits(sandbox_state(sandbox.url), "e2e") == {f"T-{n}": 1 for n in range(40)}


def test_a_damaged_journal_stops_the_run_before_anything_is_sent(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS)
    assert cli("run", job, "--dry-run").returncode == 0  # creates the journal
    journal = tmp_path / "state" / "e2e.sqlite"
    data = journal.read_bytes()
    journal.write_bytes(data[:1000])
    done = cli("run", job)
    assert done.returncode == 2
    assert "damaged" in done.stderr and "Traceback" not in done.stderr
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == 0


def test_a_journal_locked_by_another_process_stops_the_run_cleanly(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS)
    assert cli("run", job, "--dry-run").returncode == 0
    hold_it = (
        "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE')"
    )
    with held_by_another_process(hold_it, tmp_path / "state" / "e2e.sqlite"):
        done = cli("run", job)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "locked by another process" in done.stderr and "Traceback" not in done.stderr
        assert sandbox_state(sandbox.url)["stats"]["write_requests"] == 0
    assert cli("run", job).returncode == 0
    assert sqlite3.connect(tmp_path / "state" / "e2e.sqlite").execute(
        "SELECT count(*) FROM adjustments WHERE state = 'succeeded'"
    ).fetchone() == (2,)
