"""Honest under failure (issue 10): exit codes a scheduler can act on, an outage that stops the
run in seconds, signals, full disks, JSON logs that stay JSON, and secrets that stay secret.
Every test runs the real command line against the sandbox and judges money on its books."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from pathlib import Path

from ledgerrun_sandbox import Faults
from tests.helpers.cli import cli, results_rows, start_cli, write_job
from tests.helpers.constants import HEADER, KEY, PLATFORM, A, B, C, D
from tests.helpers.sandbox import ServerFactory, debits, make_client, sandbox_state


def rows(n: int, prefix: str = "R", accounts: tuple[str, ...] = (A, B, C, D)) -> list[str]:
    return [f"{prefix}-{i},{accounts[i % len(accounts)]},1.00,usd,,,INV" for i in range(n)]


def start(job: Path, *args: str, limit_bytes: int | None = None) -> subprocess.Popen[str]:
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return start_cli(
        *args, "run", job, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit
    )


def wait_for_debits(url: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while sum(debits(sandbox_state(url)).values()) < count:
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.02)


def test_an_outage_stops_the_run_in_seconds_and_a_rerun_finishes_exactly_once(
    tmp_path: Path, make_sandbox: ServerFactory
) -> None:
    sandbox = make_sandbox(faults=Faults(latency_ms=10))
    job = write_job(tmp_path, sandbox.url, rows(300), concurrency=4)
    runner = start(job)
    wait_for_debits(sandbox.url, 60)
    sandbox.stop()  # Stripe disappears: every connection is refused from now on
    gone = time.monotonic()
    out, err = runner.communicate(timeout=120)
    assert time.monotonic() - gone < 60
    assert runner.returncode == 3, out + err
    assert "Stripe stopped answering" in out + err
    sandbox.start()  # the outage ends: same state, same port
    made = debits(sandbox_state(sandbox.url))
    results = results_rows(tmp_path / "out" / "e2e.results.csv")
    by_status: dict[str, int] = {}
    for row in results:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
        if row["status"] == "succeeded":
            assert made.get(row["adjustment_id"]) == 1, row
        if row["status"] == "skipped":
            assert row["adjustment_id"] not in made, row  # skipped: nothing executed
    assert by_status.get("skipped", 0) > 100 and by_status.get("failed", 0) == 0
    assert by_status.get("unknown", 0) <= 8  # at most the requests in flight
    assert err.count("\n") < 10  # one notice, not a warning per row
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    assert debits(sandbox_state(sandbox.url)) == {f"R-{i}": 1 for i in range(300)}


def test_stripe_unreachable_at_the_start_is_exit_3_and_nothing_is_sent(tmp_path: Path) -> None:
    job = write_job(tmp_path, "http://127.0.0.1:9", rows(3), stripe="max_attempts = 2")
    done = cli("run", job)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "cannot reach Stripe" in done.stderr and "nothing was sent" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_night_already_done_needs_nothing_from_stripe_and_exits_0_while_it_is_down(
    tmp_path: Path, make_sandbox: ServerFactory
) -> None:
    server = make_sandbox()
    job = write_job(tmp_path, server.url, rows(6))
    assert cli("run", job).returncode == 0
    server.stop()  # Stripe is down: the cron wrapper runs the finished night again
    began = time.monotonic()
    again = cli("run", job)
    assert again.returncode == 0, again.stdout + again.stderr
    assert time.monotonic() - began < 10  # not the breaker's seconds of retries
    assert "Stripe was not asked anything" in again.stdout
    assert {r["status"] for r in results_rows(tmp_path / "out" / "e2e.results.csv")} == {
        "succeeded"
    }


def test_sigterm_finishes_what_is_in_flight_and_exits_3(tmp_path: Path, sandbox) -> None:
    sandbox.set_faults(Faults(latency_ms=50))
    job = write_job(tmp_path, sandbox.url, rows(200), concurrency=2)
    runner = start(job)
    wait_for_debits(sandbox.url, 10)
    runner.send_signal(signal.SIGTERM)
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 3, out + err
    assert "SIGTERM: stopping" in err
    results = results_rows(tmp_path / "out" / "e2e.results.csv")
    made = debits(sandbox_state(sandbox.url))
    assert {r["status"] for r in results} <= {"succeeded", "skipped"}
    assert {r["adjustment_id"] for r in results if r["status"] == "succeeded"} == set(made)
    sandbox.set_faults(Faults())
    assert cli("run", job).returncode == 0
    assert debits(sandbox_state(sandbox.url)) == {f"R-{i}": 1 for i in range(200)}


def test_a_second_ctrl_c_stops_at_once_and_the_next_run_settles_the_rest(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, rows(100), concurrency=4)
    text = job.read_text().replace("timeout_s = 10", "timeout_s = 30")
    job.write_text(text.replace("rate_limit = 200", "rate_limit = 20"))
    runner = start(job, "--log-format", "json")
    wait_for_debits(sandbox.url, 4)
    sandbox.set_faults(Faults(latency_ms=15_000, writes_only=True))  # requests hang
    time.sleep(1.0)
    runner.send_signal(signal.SIGINT)
    time.sleep(0.3)
    runner.send_signal(signal.SIGINT)
    began = time.monotonic()
    _, err = runner.communicate(timeout=60)
    assert time.monotonic() - began < 10  # not the 15 s the requests in flight would take
    assert runner.returncode == 3
    lines = [json.loads(line) for line in err.splitlines()]  # every stderr line is JSON
    assert {"stopping", "stop_now"} <= {r["event"] for r in lines}
    results = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert "unknown" in {r["status"] for r in results}  # the requests in flight
    sandbox.set_faults(Faults())
    in_flight = {r["adjustment_id"] for r in results if r["status"] == "unknown"}
    deadline = time.monotonic() + 60  # they execute when their 15 s are up; until then their
    while not in_flight <= set(debits(sandbox_state(sandbox.url))):  # keys answer 409
        assert time.monotonic() < deadline, "the requests in flight never finished"
        time.sleep(0.1)
    settled = cli("run", job)
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert debits(sandbox_state(sandbox.url)) == {f"R-{i}": 1 for i in range(100)}


def test_a_full_journal_disk_stops_the_run_and_nothing_is_sent_twice(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, rows(400), concurrency=2)
    runner = start(job, limit_bytes=600_000)  # the journal's WAL passes this soon enough
    out, err = runner.communicate(timeout=120)
    assert runner.returncode == 3, out + err
    assert "Traceback" not in err
    made = debits(sandbox_state(sandbox.url))
    assert 0 < len(made) < 400
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    assert debits(sandbox_state(sandbox.url)) == {f"R-{i}": 1 for i in range(400)}


def test_a_full_results_disk_after_every_debit_is_exit_3_without_a_traceback(
    tmp_path: Path, sandbox
) -> None:
    notes = "n" * 60_000  # carried into the results file, never sent to Stripe
    lines = [f"F-{i},{A},1.00,usd,,,INV,{notes}" for i in range(40)]
    (tmp_path / "ledger.csv").write_text("\n".join([HEADER + ",notes", *lines]) + "\n")
    job = write_job(tmp_path, sandbox.url, ledger=tmp_path / "ledger.csv")
    runner = start(job, limit_bytes=2_000_000)
    out, err = runner.communicate(timeout=120)
    assert runner.returncode == 3, out + err
    assert "could not be written" in err and "Traceback" not in err
    assert debits(sandbox_state(sandbox.url)) == {f"F-{i}": 1 for i in range(40)}
    done = cli("run", job)  # with room again: nothing sent, the results written
    assert done.returncode == 0
    assert debits(sandbox_state(sandbox.url)) == {f"F-{i}": 1 for i in range(40)}
    assert len(results_rows(tmp_path / "out" / "e2e.results.csv")) == 40


def test_a_429_storm_leaves_unsent_rows_skipped_not_unknown(tmp_path: Path, sandbox) -> None:
    sandbox.set_faults(Faults(max_rps=3))
    job = write_job(tmp_path, sandbox.url, rows(40), stripe="max_attempts = 2", concurrency=4)
    done = cli("run", job)
    assert done.returncode == 3, done.stdout + done.stderr
    results = results_rows(tmp_path / "out" / "e2e.results.csv")
    made = debits(sandbox_state(sandbox.url))
    skipped = [r for r in results if r["status"] == "skipped"]
    assert skipped and not [r for r in results if r["status"] == "unknown"]
    assert all(r["adjustment_id"] not in made for r in skipped)
    sandbox.set_faults(Faults())
    assert cli("run", job).returncode == 0
    assert debits(sandbox_state(sandbox.url)) == {f"R-{i}": 1 for i in range(40)}


# --- logs, options, targets, secrets -------------------------------------------------------------


def test_json_logs_name_job_and_run_everywhere_and_report_invalid_rows(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(
        tmp_path, sandbox.url, [*rows(2), f"R-9,{A},abc,usd,,,INV"], extra='on_invalid = "skip"'
    )
    done = cli("run", job, "--log-format", "json")  # after the command, too
    assert done.returncode == 1, done.stdout + done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    invalid = [r for r in records if r["event"] == "row_invalid"]
    assert len(invalid) == 1 and invalid[0]["row"] == 4 and invalid[0]["code"] == "bad_amount"
    assert all(r.get("job") == "e2e" and r.get("run_id") for r in records)
    broken = cli("run", job, "--log-format", "json", env={"STRIPE_API_KEY": "sk_test_x\ny"})
    (error,) = [json.loads(line) for line in broken.stderr.splitlines()]
    assert error["event"] == "error" and error["job"] == "e2e" and broken.returncode == 2


def test_every_command_takes_the_same_options(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, "http://127.0.0.1:9", rows(2))  # the job names a dead API base
    other = tmp_path / "elsewhere" / "journal.sqlite"
    common = ["--api-base", sandbox.url, "--journal", str(other), "--date", "2026-11-26"]
    assert cli("validate", job, *common).returncode == 0
    assert cli("plan", job, *common, "--format", "json").returncode == 0
    assert cli("run", job, *common).returncode == 0
    assert other.exists() and not (tmp_path / "state").exists()
    assert cli("reconcile", job, *common).returncode == 0
    status = json.loads(cli("status", job, *common, "--format", "json").stdout)
    assert status["journal"] == str(other) and len(status["runs"]) == 1
    fake_live = "sk_" + "live_abcdefghijklmnop1234"
    for command in ("validate", "plan", "reconcile"):
        refused = cli(command, job, *common, env={"STRIPE_API_KEY": fake_live})
        assert refused.returncode == 2 and "need --live" in refused.stderr
        allowed = cli(command, job, *common, "--live", env={"STRIPE_API_KEY": fake_live})
        assert "need --live" not in allowed.stderr  # the sandbox itself refuses a live key
    assert debits(sandbox_state(sandbox.url)) == {"R-0": 1, "R-1": 1}


def test_a_target_that_does_not_exist_says_so(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "nov.toml").write_text('[job]\nname = "nov"\nledger = "x.csv"\n')
    for command in ("status", "reconcile", "run", "validate"):
        done = cli(command, tmp_path / "jobs" / "nov.tom")
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "no such job file or ledger" in done.stderr and "nov.toml" in done.stderr
        assert "api.stripe.com" not in done.stderr + done.stdout
    plain = cli("reconcile", "nightly-adjustments")
    assert plain.returncode == 2 and "no such job file or ledger" in plain.stderr


def test_malformed_keys_are_refused_before_any_request_and_never_shown(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, rows(1))
    for key in (KEY + "\nsecond-line", KEY[:-2] + "é1", " " + KEY + " x"):
        done = cli("run", job, env={"STRIPE_API_KEY": key})
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert KEY[8:20] not in done.stderr + done.stdout
    assert sandbox_state(sandbox.url)["stats"]["requests"] == 0


def test_status_works_in_a_read_only_folder_and_says_running(tmp_path: Path, sandbox) -> None:
    sandbox.set_faults(Faults(latency_ms=100))
    job = write_job(tmp_path, sandbox.url, rows(40), concurrency=1)
    runner = start(job)
    try:
        wait_for_debits(sandbox.url, 2)
        shown = json.loads(cli("status", job, "--format", "json").stdout)
        assert shown["running"] is not None and shown["runs"][-1]["state"] == "running"
        assert "Running now: pid" in cli("status", job).stdout
    finally:
        runner.terminate()
        runner.communicate(timeout=60)
    (tmp_path / "state" / "e2e.sqlite-shm").unlink(missing_ok=True)
    os.chmod(tmp_path / "state", 0o555)
    try:
        done = cli("status", job)
        assert done.returncode == 0 and "did not finish" not in done.stdout
    finally:
        os.chmod(tmp_path / "state", 0o755)


def test_reconcile_csv_cells_are_formula_safe(tmp_path: Path, sandbox) -> None:

    job = write_job(tmp_path, sandbox.url, rows(1))
    assert cli("run", job).returncode == 0
    client = make_client(sandbox.url)
    client.v1.transfers.create(
        {"amount": 100, "currency": "usd", "destination": PLATFORM,
         "transfer_group": "ledgerrun", "metadata": {"ledgerrun_job": "x",
         "ledgerrun_adjustment_id": "=HYPERLINK(1)"}},
        {"stripe_account": A},
    )  # fmt: skip
    assert cli("reconcile", job).returncode == 1
    text = (tmp_path / "out" / "e2e.results.csv.reconcile.csv").read_text()
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
