"""What an operator meets at the command line: amounts people can read (and JSON fields that say
their unit), messages said once, long lists capped, a nightly ledger that has not arrived yet,
`status` for one date, and a job file that names no ledger. The real CLI against the sandbox."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import time
from pathlib import Path

from tests.helpers.cli import cli, results_rows, start_cli, write_job
from tests.helpers.constants import HEADER, SHORT

A = "acct_1ConnAA000000"
B = "acct_1ConnBA000001"


def json_events(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


# --- units: what people read is in major units; JSON says its unit ------------------------------


def test_a_refused_rows_message_gives_its_amount_in_major_units(tmp_path: Path, sandbox) -> None:
    """Stripe's (the sandbox's) balance message quotes minor units ("499900 usd requested"):
    the product's own words around it give the row's amount as people write it."""
    job = write_job(tmp_path, sandbox.url, [f"S-1,{SHORT},4999.00,usd,,,INV"])
    done = cli("run", job, "--log-format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    (row,) = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert row["error_code"] == "balance_insufficient"
    assert "no money moved (the row: 4,999.00 USD)" in row["error_message"]
    (failed,) = [e for e in json_events(done.stderr) if e["event"] == "row_failed"]
    assert failed["amount"] == "4,999.00 USD" and failed["amount_minor"] == 499900
    assert "4,999.00 USD" in str(failed["message"])


def test_the_summary_names_reversed_amounts_in_minor_units(tmp_path: Path, sandbox) -> None:
    """Version 2's `totals` keep their name (minor units, as documented); what version 3 adds
    says its unit: `reversed_minor`."""
    job = write_job(tmp_path, sandbox.url, [f"R-1,{A},25.00,usd,,,INV", f"R-2,{B},5.00,usd,,,INV"])
    assert cli("run", job).returncode == 0
    (tmp_path / "undo.csv").write_text("adjustment_id,amount\nR-1,10.00\n", encoding="utf-8")
    undone = cli("reverse", job, "--adjustments", tmp_path / "undo.csv")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    again = cli("run", job)  # the date's results, summary and report written again
    assert again.returncode == 0, again.stdout + again.stderr
    summary = json.loads((tmp_path / "out" / "e2e.results.csv.summary.json").read_text())
    assert summary["totals"]["usd"]["debit"]["succeeded"] == 3000  # version 2's, minor units
    assert summary["reversed_minor"] == {"usd": {"debit": 1000}}
    assert "reversed" not in summary


def test_a_refused_key_is_said_once(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, [f"K-1,{A},1.00,usd,,,INV"])
    done = cli("validate", job, env={"STRIPE_API_KEY": "sk_test_notAKeyTheSandboxKnows9876"})
    assert done.returncode == 2
    assert done.stderr.count("refused the API key") == 1, done.stderr
    assert "…9876" in done.stderr and "sk_test_…*" not in done.stderr  # Stripe's mask left alone


def test_a_message_quoting_a_value_is_written_with_one_quote(tmp_path: Path, sandbox) -> None:
    """A cell starting with ' is no formula: the results file writes it as it is."""
    job = write_job(tmp_path, sandbox.url, [f"Q-1,{A},12.345,usd,,,INV", f"Q-2,{A},1.00,usd,,,INV"])
    done = cli("run", job, "--skip-invalid")
    assert done.returncode == 1, done.stdout + done.stderr
    with (tmp_path / "out" / "e2e.results.csv").open(encoding="utf-8-sig", newline="") as fh:
        invalid = next(r for r in csv.DictReader(fh) if r["status"] == "invalid")
    assert invalid["error_message"].startswith("'12.345' "), invalid["error_message"]


def test_reverse_caps_the_rows_it_lists_as_validate_does(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, [f"C-1,{A},1.00,usd,,,INV"])
    assert cli("run", job).returncode == 0
    lines = ["adjustment_id,amount"] + [f"NOPE-{n},1.00" for n in range(60)]
    (tmp_path / "undo.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = cli("reverse", job, "--adjustments", tmp_path / "undo.csv", "--dry-run")
    assert done.returncode == 2, done.stdout + done.stderr
    listed = [line for line in done.stdout.splitlines() if ": invalid [" in line]
    assert len(listed) == 50, done.stdout
    assert "... and 10 more" in done.stdout
    counts = [line.split()[:2] for line in done.stdout.splitlines()]
    assert ["adjustment_conflict", "60"] in counts, done.stdout
    few = cli(
        "reverse", job, "--adjustments", tmp_path / "undo.csv", "--dry-run", "--max-problems", "3"
    )
    assert len([line for line in few.stdout.splitlines() if ": invalid [" in line]) == 3


# --- a nightly ledger that has not arrived yet --------------------------------------------------


def dated_job(folder: Path, url: str, ledger: str = "inbox/adjustments-{date}.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    job = folder / "nightly.toml"
    job.write_text(
        f'[job]\nname = "nightly"\nledger = "{ledger}"\nresults = "out/{{job}}-{{date}}.csv"\n'
        f'journal = "state/{{job}}.sqlite"\n[stripe]\napi_base = "{url}"\nrate_limit = 200\n',
        encoding="utf-8",
    )
    return job


def test_a_dated_ledger_not_there_yet_is_incomplete_and_a_fixed_one_is_wrong(
    tmp_path: Path, sandbox
) -> None:
    job = dated_job(tmp_path, sandbox.url)
    for command in ("run", "validate", "plan"):
        done = cli(command, job, "--date", "2026-11-26")
        assert done.returncode == 3, (command, done.stdout + done.stderr)
        assert "the ledger for 2026-11-26 has not arrived yet" in done.stderr
        assert "adjustments-2026-11-26.csv" in done.stderr and "Traceback" not in done.stderr
    fixed = dated_job(tmp_path / "fixed", sandbox.url, ledger="inbox/adjustments.csv")
    done = cli("run", fixed, "--date", "2026-11-26")
    assert done.returncode == 2 and "ledger file not found" in done.stderr, done.stderr
    other = cli("run", job, "--ledger", tmp_path / "inbox" / "other.csv")  # a path given: fixed
    assert other.returncode == 2, other.stderr


def test_wait_for_ledger_runs_the_ledger_once_it_arrives(tmp_path: Path, sandbox) -> None:
    job = dated_job(tmp_path, sandbox.url)
    runner = start_cli(
        "run", job, "--date", "2026-11-26", "--wait-for-ledger", "2m", "--log-format", "json",
        stderr=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert runner.stderr is not None
    first = json.loads(runner.stderr.readline())  # it says it waits before it waits
    assert first["event"] == "waiting_for_ledger", first
    assert "adjustments-2026-11-26.csv" in first["message"] and "2m" in first["message"]
    assert not (tmp_path / "state" / "nightly.sqlite").exists()  # no journal, no lock yet
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    partial = inbox / ".adjustments.tmp"
    partial.write_text(f"{HEADER}\nW-1,{A},3.00,usd,,,INV\n", encoding="utf-8")
    partial.rename(inbox / "adjustments-2026-11-26.csv")  # dropped as cron drops it
    out, err = runner.communicate(timeout=120)
    assert runner.returncode == 0, out + err
    (row,) = results_rows(tmp_path / "out" / "nightly-2026-11-26.csv")
    assert row["status"] == "succeeded" and row["amount"] == "3.00"


def test_wait_for_ledger_gives_up_with_the_same_exit_codes(tmp_path: Path, sandbox) -> None:
    job = dated_job(tmp_path, sandbox.url)
    started = time.monotonic()
    done = cli("validate", "--offline", job, "--date", "2026-11-26", "--wait-for-ledger", "1s")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "waiting up to 1s" in done.stderr and "has not arrived yet" in done.stderr
    assert time.monotonic() - started < 60  # it gave up; no duration asserted beyond that
    fixed = dated_job(tmp_path / "fixed", sandbox.url, ledger="inbox/adjustments.csv")
    assert cli("plan", "--offline", fixed, "--wait-for-ledger", "1s").returncode == 2
    bad = cli("run", job, "--wait-for-ledger", "soon")
    assert bad.returncode == 2 and "30m, 2h" in bad.stderr


# --- status for one date, with what was reversed ------------------------------------------------


def test_status_shows_one_date_with_its_reversed_amounts(tmp_path: Path, sandbox) -> None:
    job = dated_job(tmp_path, sandbox.url)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "adjustments-2026-11-25.csv").write_text(
        f"{HEADER}\nD1-1,{A},40.00,usd,,,INV\nD1-2,{B},2.50,usd,,,INV\n", encoding="utf-8"
    )
    (inbox / "adjustments-2026-11-26.csv").write_text(
        f"{HEADER}\nD2-1,{A},7.00,usd,,,INV\n", encoding="utf-8"
    )
    for day in ("2026-11-25", "2026-11-26"):
        assert cli("run", job, "--date", day).returncode == 0
    (tmp_path / "undo.csv").write_text("adjustment_id,amount\nD1-1,15.00\n", encoding="utf-8")
    undone = cli("reverse", job, "--date", "2026-11-25", "--adjustments", tmp_path / "undo.csv")
    assert undone.returncode == 0, undone.stdout + undone.stderr

    shown = json.loads(cli("status", job, "--date", "2026-11-25", "--format", "json").stdout)
    assert shown["date"] == "2026-11-25"
    assert list(shown["dates"]) == ["2026-11-25"] and shown["dates"]["2026-11-25"]["succeeded"] == 2
    assert {r["run_date"] for r in shown["runs"]} == {"2026-11-25"}
    assert shown["reversed_minor"] == {"2026-11-25": {"usd": 1500}}
    other = json.loads(cli("status", job, "--date", "2026-11-26", "--format", "json").stdout)
    assert list(other["dates"]) == ["2026-11-26"] and other["reversed_minor"] == {}
    assert other["reversals"] == {}

    text = cli("status", job, "--date", "2026-11-25").stdout
    assert re.search(r"^  2026-11-25  .*succeeded 2; reversed 15\.00 USD$", text, re.M), text
    assert "2026-11-26" not in text
    every = cli("status", job).stdout
    assert re.search(r"^  2026-11-26  .*succeeded 1$", every, re.M) and "2026-11-25" in every
    nothing = cli("status", job, "--date", "2026-11-01")
    assert nothing.returncode == 0 and "has not run yet for 2026-11-01" in nothing.stdout


# --- a job file that names no ledger ------------------------------------------------------------


def test_a_job_file_need_not_name_a_ledger_when_every_use_gives_one(
    tmp_path: Path, sandbox
) -> None:
    job = tmp_path / "uploads.toml"
    job.write_text(
        '[job]\nname = "uploads"\nresults = "out/{job}-{date}.csv"\n'
        f'journal = "state/{{job}}.sqlite"\n[stripe]\napi_base = "{sandbox.url}"\n',
        encoding="utf-8",
    )
    for command in ("validate", "plan", "run"):
        done = cli(command, job)
        assert done.returncode == 2, (command, done.stdout + done.stderr)
        assert "names no ledger" in done.stderr and "--ledger" in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "state").exists()  # said before anything was opened
    ledger = tmp_path / "today.csv"
    ledger.write_text(f"{HEADER}\nU-1,{A},4.00,usd,,,INV\n", encoding="utf-8")
    assert cli("run", job, "--ledger", ledger).returncode == 0
    assert cli("status", job).returncode == 0  # needs no ledger
    checked = cli("check", job, "--format", "json")
    line = next(c for c in json.loads(checked.stdout)["checks"] if c["check"] == "ledger")
    assert line["status"] == "note" and "names none" in line["message"]


def test_the_python_api_takes_a_dataframe_for_a_job_without_a_ledger(tmp_path: Path) -> None:
    import pandas as pd

    import ledgerrun
    from ledgerrun.errors import ConfigError

    job = tmp_path / "frames.toml"
    job.write_text('[job]\nname = "frames"\njournal = "state/{job}.sqlite"\n', encoding="utf-8")
    frame = pd.DataFrame(
        {"adjustment_id": ["F-1"], "account": [A], "amount": ["1.00"], "currency": ["usd"]}
    )
    assert ledgerrun.validate(job, frame, offline=True).valid
    try:
        ledgerrun.validate(job, offline=True)
    except ConfigError as exc:
        assert "names no ledger" in str(exc)
    else:
        raise AssertionError("a job without a ledger validated nothing without saying so")
