"""What reconcile tells a scheduler, with the real command line against the sandbox: each
discrepancy as a JSON log event (or a short text line) on stderr, a closing event with the
verdict, and ``--format json``'s findings on stdout, so a cron mail says what was found."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledgerrun.vocab import RECONCILE_ADVICE
from tests.helpers.cli import COMMAND, cli, write_job
from tests.helpers.constants import KEY, PLATFORM, ROOT, A, B
from tests.helpers.sandbox import make_client, sandbox_state

DATE = "2026-11-26"
ROWS = [f"O-1,{A},12.34,usd,,,INV-1", f"O-2,{B},5.00,usd,,,INV-2"]


def events(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line as the JSON object it must be."""
    return [json.loads(line) for line in stderr.splitlines()]


def with_discrepancies(folder: Path, url: str) -> tuple[Path, str, str]:
    """A night that ran cleanly, then a reversal made by hand of O-1's transfer (3.00 of it)
    and an object of the job's night that nobody sent. Returns the job, the reversal's id and
    the stray transfer's id."""
    job = write_job(folder, url, ROWS)
    assert cli("run", job, "--date", DATE).returncode == 0
    (transfer,) = [
        t
        for t in sandbox_state(url)["transfers"]
        if t["metadata"].get("ledgerrun_adjustment_id") == "O-1"
    ]
    client = make_client(url)
    undone = client.v1.transfers.reversals.create(
        transfer["id"], {"amount": 300}, {"stripe_account": A}
    )
    stray = client.v1.transfers.create(
        {"amount": 777, "currency": "usd", "destination": PLATFORM,
         "transfer_group": "ledgerrun",
         "metadata": {"ledgerrun_job": "e2e", "ledgerrun_adjustment_id": "HAND-1",
                      "ledgerrun_run_date": DATE}},
        {"stripe_account": B},
    )  # fmt: skip
    return job, undone.id, stray.id


def test_json_logs_carry_each_discrepancy_and_the_verdict(tmp_path: Path, sandbox) -> None:
    job, reversal_id, stray_id = with_discrepancies(tmp_path, sandbox.url)
    done = cli("--log-format", "json", "reconcile", job, "--date", DATE)
    assert done.returncode == 1
    logged = events(done.stderr)
    found = [e for e in logged if e["event"] == "reconcile_discrepancy"]
    by_kind = {e["kind"]: e for e in found}
    assert sorted(by_kind) == ["orphan", "unrecorded_reversal"] and len(found) == 2
    orphan = by_kind["orphan"]
    assert orphan["adjustment_id"] == "HAND-1" and orphan["account"] == B
    assert orphan["transfer_id"] == stray_id
    assert orphan["amount"] == "7.77 USD" and orphan["amount_minor"] == 777
    assert orphan["currency"] == "usd"
    assert orphan["advice"] == RECONCILE_ADVICE["orphan"] and orphan["level"] == "warning"
    assert orphan["job"] == "e2e" and orphan["run_date"] == DATE and orphan["ts"]
    undone = by_kind["unrecorded_reversal"]
    assert undone["adjustment_id"] == "O-1" and undone["account"] == A
    assert (undone["amount"], undone["amount_minor"]) == ("3.00 USD", 300)
    assert reversal_id in undone["detail"]
    assert undone["advice"] == RECONCILE_ADVICE["unrecorded_reversal"]
    end = logged[-1]
    assert end["event"] == "reconcile_end" and end["level"] == "warning"
    assert (end["verdict"], end["exit_code"]) == ("discrepancies", 1)
    assert end["counts"] == {"orphan": 1, "unrecorded_reversal": 1}
    assert end["succeeded_rows_checked"] == 2 and end["run_date"] == DATE
    assert end["report"].endswith("e2e.results.csv.reconcile.csv")
    assert Path(end["report"]).exists()
    assert "2 discrepancies: " in done.stdout  # stdout keeps its text for people


def test_format_json_prints_the_findings_as_one_document(tmp_path: Path, sandbox) -> None:
    job, reversal_id, stray_id = with_discrepancies(tmp_path, sandbox.url)
    done = cli("--log-format", "json", "reconcile", job, "--date", DATE, "--format", "json")
    assert done.returncode == 1
    (document,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert (document["verdict"], document["exit_code"], document["clean"]) == (
        "discrepancies", 1, False,
    )  # fmt: skip
    assert document["job"] == "e2e" and document["run_date"] == DATE
    assert document["counts"] == {"orphan": 1, "unrecorded_reversal": 1}
    assert document["succeeded_rows_checked"] == 2
    kinds = {d["kind"]: d for d in document["discrepancies"]}
    assert kinds["orphan"]["transfer_id"] == stray_id and kinds["orphan"]["amount_minor"] == 777
    assert reversal_id in kinds["unrecorded_reversal"]["detail"]
    for item in document["discrepancies"]:
        assert set(item) == {
            "kind", "adjustment_id", "account", "transfer_id", "payment_id", "amount",
            "amount_minor", "currency", "detail", "advice",
        }  # fmt: skip
        assert item["advice"] == RECONCILE_ADVICE[item["kind"]]
    # the log events carry the same discrepancies
    logged = [e for e in events(done.stderr) if e["event"] == "reconcile_discrepancy"]
    assert [
        {k: e[k] for k in item} for e, item in zip(logged, document["discrepancies"], strict=True)
    ] == document["discrepancies"]
    assert Path(document["report"]).exists() and Path(document["summary"]).exists()
    summary = json.loads(Path(document["summary"]).read_text())
    assert summary["verdict"] == "discrepancies" and summary["exit_code"] == 1


def test_text_logs_name_each_discrepancy_on_stderr(tmp_path: Path, sandbox) -> None:
    job, reversal_id, stray_id = with_discrepancies(tmp_path, sandbox.url)
    done = cli("reconcile", job, "--date", DATE)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    orphan = [line for line in lines if " orphan " in line]
    assert len(orphan) == 1 and "HAND-1" in orphan[0] and stray_id in orphan[0]
    assert "7.77 USD" in orphan[0]
    reversal = [line for line in lines if "unrecorded_reversal" in line and "O-1" in line]
    assert len(reversal) == 1 and reversal_id in reversal[0]
    assert lines[-1].startswith(f"reconcile {DATE}: discrepancies (exit 1)")
    assert "1 orphan" in lines[-1] and "reconcile.csv" in lines[-1]


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_clean_night_logs_only_its_verdict(tmp_path: Path, sandbox, log_format: str) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS)
    assert cli("run", job, "--date", DATE).returncode == 0
    done = cli("--log-format", log_format, "reconcile", job, "--date", DATE, "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["verdict"], document["discrepancies"], document["counts"]) == (
        "agrees", [], {},
    )  # fmt: skip
    if log_format == "text":
        assert done.stderr == ""  # nothing to mail when everything agrees
    else:
        (end,) = events(done.stderr)
        assert (end["event"], end["level"], end["verdict"]) == ("reconcile_end", "info", "agrees")


def test_the_cron_line_of_the_docs_mails_what_was_found(tmp_path: Path, sandbox) -> None:
    """The reconcile line of docs/scheduling.md, with its paths made local and ``mail`` a
    script that keeps what it is given: the mail names the discrepancies."""
    job, _, stray_id = with_discrepancies(tmp_path, sandbox.url)
    text = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    (line,) = [x for x in text.splitlines() if x.startswith("0 6 * * * ledgerrun ")]
    command = line.removeprefix("0 6 * * * ledgerrun ").replace("\\%", "%")
    command = command.replace("cd /srv/ledgerrun && ", "")
    command = command.replace("set -a && . /etc/ledgerrun/env && set +a && ", "")
    command = command.replace(".venv/bin/ledgerrun", " ".join(COMMAND))
    command = command.replace("jobs/nightly.toml", str(job))
    command = re.sub(r'--date "\$\(date [^)]*\)"', f"--date {DATE}", command)
    command = command.replace("/var/log/ledgerrun/", f"{tmp_path}/")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mail = bin_dir / "mail"
    kept = tmp_path / "mail.txt"
    mail.write_text(f'#!/bin/sh\necho "subject: $2" > {kept}\ncat >> {kept}\n')
    mail.chmod(0o755)
    env = {**os.environ, "STRIPE_API_KEY": KEY, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    subprocess.run(["/bin/sh", "-c", command], env=env, check=False, timeout=120)
    sent = kept.read_text()
    assert "exit 1" in sent.splitlines()[0]
    assert "orphan" in sent and "HAND-1" in sent and stray_id in sent
    assert "unrecorded_reversal" in sent and "O-1" in sent
    logged = events((tmp_path / "reconcile.jsonl").read_text())  # the log gets them as JSON
    assert [e["event"] for e in logged][-3:] == [
        "reconcile_discrepancy", "reconcile_discrepancy", "reconcile_end",
    ]  # fmt: skip
