"""Exactly once whatever the operator does (issue 9's cases), judged on the sandbox's books.

Each test reproduces something an operator did that made version 1 move money twice or give
wrong advice: renamed ledgers, other job names, spreadsheet re-saves, lost journals, other
Unicode forms, two nights of one job, outputs pointed at the wrong file, dry runs after real
runs, corrected rows, and version-1 journals."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from ledgerrun_sandbox import Faults
from tests.helpers.cli import cli, rejected_rows, results_rows, start_cli, write_job
from tests.helpers.constants import HEADER, PLATFORM, SHORT, A, B, C
from tests.helpers.sandbox import advance_clock, balances, debits, make_client, sandbox_state


def ledger(folder: Path, name: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def rows(*specs: tuple[str, str, str]) -> list[str]:
    return [f"{i},{a},{amount},usd,,Adjustment {i},INV" for i, a, amount in specs]


def money_moved(url: str) -> int:
    """How many ledgerrun objects the sandbox holds (debits and credits of any job)."""
    return sum(debits(sandbox_state(url)).values())


def bare(url: str, path: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return cli("run", path, "--api-base", url, *args)


# --- 1. renamed copies, other job names, other job files ---------------------------------------


def test_a_renamed_copy_or_another_job_name_never_debits_again(tmp_path: Path, sandbox) -> None:
    lines = rows(("R-1", A, "1.00"), ("R-2", B, "2.00"))
    first = bare(sandbox.url, ledger(tmp_path / "inbox", "adjustments.csv", lines))
    assert first.returncode == 0, first.stdout + first.stderr
    assert money_moved(sandbox.url) == 2
    copy = ledger(tmp_path / "elsewhere", "Copy of adjustments (final).csv", lines)
    again = bare(sandbox.url, copy)
    assert again.returncode == 0, again.stdout + again.stderr
    renamed = bare(sandbox.url, copy, "--job", "other-name")
    assert renamed.returncode == 0
    assert "2 rows found done earlier" in renamed.stdout
    assert debits(sandbox_state(sandbox.url)) == {"R-1": 1, "R-2": 1}


def test_a_second_job_file_on_the_same_or_another_journal_never_debits_again(
    tmp_path: Path, sandbox
) -> None:
    lines = rows(("J-1", A, "1.00"), ("J-2", B, "2.00"))
    first = write_job(tmp_path / "one", sandbox.url, lines, name="first")
    assert cli("run", first).returncode == 0
    shared = write_job(tmp_path / "two", sandbox.url, lines, name="second")
    journal = (tmp_path / "one" / "state" / "first.sqlite").as_posix()
    shared.write_text(shared.read_text().replace('"state/{job}.sqlite"', f'"{journal}"'))
    assert cli("run", shared).returncode == 0
    own = write_job(tmp_path / "three", sandbox.url, lines, name="third")  # a journal of its own
    done = cli("run", own)
    assert done.returncode == 0, done.stdout + done.stderr
    assert debits(sandbox_state(sandbox.url)) == {"J-1": 1, "J-2": 1}
    out = {
        r["adjustment_id"]: r
        for r in results_rows(tmp_path / "three" / "out" / "third.results.csv")
    }
    transfers = {t["id"] for t in sandbox_state(sandbox.url)["transfers"]}
    assert all(r["status"] == "succeeded" and r["transfer_id"] in transfers for r in out.values())


# --- 2. spreadsheet re-saves, 4. other Unicode forms and case ------------------------------------


def test_a_resaved_spreadsheet_or_another_spelling_of_an_id_is_the_same_adjustment(
    tmp_path: Path, sandbox
) -> None:
    before = rows(("0000101", A, "1.00"), ("caf\u00e9-7", B, "2.00"), ("ADJ-9", C, "3.00"))
    job = write_job(tmp_path, sandbox.url, before)
    assert cli("run", job).returncode == 0
    after = rows(("101", A, "1.00"), ("cafe\u0301-7", B, "2.00"), ("adj-9", C, "3.00"))
    (tmp_path / "ledger.csv").write_text("\n".join([HEADER, *after]) + "\n", encoding="utf-8")
    again = cli("run", job)
    assert again.returncode == 0, again.stdout + again.stderr
    assert money_moved(sandbox.url) == 3
    # And with a fresh journal, Stripe's own books say the same.
    fresh = write_job(tmp_path / "fresh", sandbox.url, after, name="fresh")
    done = cli("run", fresh)
    assert done.returncode == 0, done.stdout + done.stderr
    assert money_moved(sandbox.url) == 3


# --- 3. a lost, copied or deleted journal --------------------------------------------------------


def test_a_deleted_journal_a_day_later_never_debits_again(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, rows(("D-1", A, "1.00"), ("D-2", B, "2.00")))
    assert cli("run", job).returncode == 0
    for file in (tmp_path / "state").iterdir():
        file.unlink()
    advance_clock(sandbox.url, 25 * 3600)  # Stripe has forgotten the idempotency keys
    writes = sandbox_state(sandbox.url)["stats"]["write_requests"]
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == writes
    assert debits(sandbox_state(sandbox.url)) == {"D-1": 1, "D-2": 1}
    out = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert {r["status"] for r in out} == {"succeeded"} and all(r["transfer_id"] for r in out)


def test_a_sigkilled_run_whose_wal_was_lost_never_debits_twice(tmp_path: Path, sandbox) -> None:
    specs = [(f"W-{n}", (A, B, C)[n % 3], "1.00") for n in range(60)]
    job = write_job(tmp_path, sandbox.url, rows(*specs[:1]), concurrency=3)
    assert cli("run", job).returncode == 0  # the journal file exists, checkpointed
    (tmp_path / "ledger.csv").write_text("\n".join([HEADER, *rows(*specs)]) + "\n")
    sandbox.set_faults(Faults(latency_ms=30))
    runner = start_cli("run", job)
    deadline = time.monotonic() + 60
    while money_moved(sandbox.url) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    sandbox.set_faults(Faults())
    wal = tmp_path / "state" / "e2e.sqlite-wal"
    assert wal.exists()
    wal.unlink()  # lost with the crash, or left behind by a `cp` of the journal
    (tmp_path / "state" / "e2e.sqlite-shm").unlink(missing_ok=True)
    advance_clock(sandbox.url, 25 * 3600)
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    assert debits(sandbox_state(sandbox.url)) == {i: 1 for i, _, _ in specs}


def test_a_journal_backup_keeps_what_a_plain_copy_loses(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, rows(("B-1", A, "1.00")))
    assert cli("run", job).returncode == 0
    backup = tmp_path / "backups" / "journal.sqlite"
    made = cli("journal", "backup", job, backup)
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(backup) as raw:
        assert raw.execute("SELECT count(*) FROM adjustments").fetchone() == (1,)
    again = cli("journal", "backup", job, backup)
    assert again.returncode == 2 and "exists already" in again.stderr


# --- 5. two nights of one job --------------------------------------------------------------------


def test_two_nights_reconcile_clean_and_a_removed_row_is_named_for_what_it_is(
    tmp_path: Path, sandbox
) -> None:
    folder = tmp_path / "nightly"
    folder.mkdir()
    (folder / "inbox").mkdir()
    for date, specs in {
        "2026-11-25": [("N25-1", A, "1.00"), ("N25-2", B, "2.00")],
        "2026-11-26": [("N26-1", A, "3.00"), ("N26-2", C, "4.00")],
    }.items():
        (folder / "inbox" / f"adj-{date}.csv").write_text("\n".join([HEADER, *rows(*specs)]) + "\n")
    job = folder / "nightly.toml"
    job.write_text(
        '[job]\nname = "nightly"\nledger = "inbox/adj-{date}.csv"\n'
        'results = "out/{job}-{date}.results.csv"\njournal = "state/journal.sqlite"\n'
        f'[stripe]\napi_base = "{sandbox.url}"\nrate_limit = 200\nlimits = "off"\n'
    )
    for date in ("2026-11-25", "2026-11-26"):
        assert cli("run", job, "--date", date).returncode == 0
    for date in ("2026-11-25", "2026-11-26"):
        checked = cli("reconcile", job, "--date", date)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "2 objects of other run dates: not discrepancies" in checked.stdout
    assert cli("reconcile", job, "--all").returncode == 0
    # A row removed from the night's ledger after its money moved.
    path = folder / "inbox" / "adj-2026-11-26.csv"
    path.write_text("\n".join([HEADER, *rows(("N26-1", A, "3.00"))]) + "\n")
    rerun = cli("run", job, "--date", "2026-11-26")
    assert rerun.returncode == 0
    assert "N26-2" in rerun.stdout and "no longer in the ledger" in rerun.stdout
    checked = cli("reconcile", job, "--date", "2026-11-26")
    assert checked.returncode == 1
    report = results_rows(folder / "out" / "nightly-2026-11-26.results.csv.reconcile.csv")
    assert [(r["kind"], r["adjustment_id"]) for r in report] == [("removed_from_ledger", "N26-2")]
    assert "reverse" in report[0]["what_to_do"] and "orphan" not in checked.stdout
    assert debits(sandbox_state(sandbox.url)) == {"N25-1": 1, "N25-2": 1, "N26-1": 1, "N26-2": 1}


# --- 8. outputs pointed at the wrong file --------------------------------------------------------


def test_outputs_over_the_ledger_or_the_journal_are_refused_before_sending(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, rows(("P-1", A, "1.00")))
    ledger_text = (tmp_path / "ledger.csv").read_text()
    for results in (tmp_path / "ledger.csv", tmp_path / "state" / "e2e.sqlite"):
        done = cli("run", job, "--results", results)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "same file" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "file").write_text("x")
    bad = {
        "x" * 250 + ".csv": "too long",
        "file/under/results.csv": "is a file, not a folder",
        "results.txt": "must end in",
    }
    for name, words in bad.items():
        done = cli("run", job, "--results", tmp_path / name)
        assert done.returncode == 2 and words in done.stderr, (name, done.stderr)
    assert (tmp_path / "ledger.csv").read_text() == ledger_text
    assert sandbox_state(sandbox.url)["stats"]["requests"] == 0  # checked before the first request


# --- 9. a dry run after a real run ---------------------------------------------------------------


def test_a_dry_run_after_a_real_run_leaves_its_files_alone(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, rows(("Y-1", A, "1.00")))
    assert cli("run", job).returncode == 0
    real = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    dry = cli("run", job, "--dry-run")
    assert dry.returncode == 0 and "dry run: nothing sent" in dry.stdout
    for name, content in real.items():
        assert (tmp_path / "out" / name).read_bytes() == content
    assert (tmp_path / "out" / "e2e.results.dry-run.csv").exists()
    assert money_moved(sandbox.url) == 1


# --- 10. a failed row corrected under the same id ------------------------------------------------


def test_a_failed_row_corrected_under_its_own_id_is_sent(tmp_path: Path, sandbox) -> None:
    short = SHORT
    available = balances(sandbox_state(sandbox.url))[short]["usd"]
    too_much = f"{(available + 100) / 100:.2f}"
    job = write_job(tmp_path, sandbox.url, rows(("X-1", short, too_much)))
    first = cli("run", job)
    assert first.returncode == 1
    (row,) = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert row["status"] == "failed" and "corrected values included" in first.stdout
    (tmp_path / "ledger.csv").write_text("\n".join([HEADER, *rows(("X-1", short, "1.00"))]) + "\n")
    second = cli("run", job)
    assert second.returncode == 0, second.stdout + second.stderr
    (row,) = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert row["status"] == "succeeded" and row["idempotency_key"] == "ledgerrun.v2:debit:1:x-1"
    assert debits(sandbox_state(sandbox.url)) == {"X-1": 1}


def test_a_row_that_moved_money_cannot_be_changed_under_its_id(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, rows(("Z-1", A, "1.00")))
    assert cli("run", job).returncode == 0
    (tmp_path / "ledger.csv").write_text("\n".join([HEADER, *rows(("Z-1", A, "9.00"))]) + "\n")
    done = cli("run", job)
    assert done.returncode == 2
    (kept,) = results_rows(tmp_path / "out" / "e2e.results.csv")  # the date's record stands
    assert kept["status"] == "succeeded" and kept["amount"] == "1.00"
    (row,) = rejected_rows(tmp_path / "out" / "e2e.results.csv")
    assert (row["status"], row["error_code"]) == ("succeeded", "adjustment_conflict")
    assert row["transfer_id"] == kept["transfer_id"]
    assert "amount_minor 100 -> 900" in row["error_message"]
    # Another journal, the same answer: Stripe holds it with other values.
    other = write_job(tmp_path / "other", sandbox.url, rows(("Z-1", A, "9.00")), name="other")
    again = cli("run", other)
    assert again.returncode == 2
    (row,) = rejected_rows(tmp_path / "other" / "out" / "other.results.csv")
    assert (row["status"], row["error_code"]) == ("succeeded", "adjustment_conflict")
    assert (
        row["transfer_id"] == kept["transfer_id"] and "Stripe already holds" in row["error_message"]
    )
    assert debits(sandbox_state(sandbox.url)) == {"Z-1": 1}


# --- upgrades from version 1 -------------------------------------------------------------------


def test_debits_made_by_version_1_are_found_and_never_repeated(tmp_path: Path, sandbox) -> None:
    client = make_client(sandbox.url)
    # Version 1 named the transfer group after the job, and had no run date in the metadata.
    client.v1.transfers.create(
        {"amount": 100, "currency": "usd", "destination": PLATFORM, "transfer_group": "e2e",
         "metadata": {"ledgerrun_job": "e2e", "ledgerrun_adjustment_id": "V1-1"}},
        {"stripe_account": A, "idempotency_key": "ledgerrun:e2e:0:V1-1"},
    )  # fmt: skip
    client.v1.charges.create(
        {"amount": 200, "currency": "usd", "source": B, "transfer_group": "e2e",
         "metadata": {"ledgerrun_job": "e2e", "ledgerrun_adjustment_id": "V1-2"}},
        {"idempotency_key": "ledgerrun:e2e:0:V1-2"},
    )  # fmt: skip
    job = write_job(
        tmp_path, sandbox.url, [f"V1-1,{A},1.00,usd,,,INV", f"V1-2,{B},2.00,usd,charge,,INV"]
    )
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    assert debits(sandbox_state(sandbox.url)) == {"V1-1": 1, "V1-2": 1}
    assert "2 rows found done earlier" in done.stdout
    checked = cli("reconcile", job)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_version_1_journal_resends_a_pending_row_only_under_its_own_key(
    tmp_path: Path, sandbox
) -> None:
    from tests.helpers.store import write_v1

    job = write_job(tmp_path, sandbox.url, [f"0000101,{A},5.00,usd,,,INV"])
    journal = tmp_path / "state" / "e2e.sqlite"
    write_v1(journal, [("e2e", "0000101", "pending")])
    with sqlite3.connect(journal) as raw:  # the request version 1 recorded, to the platform
        request = {"amount": 500, "currency": "usd", "destination": PLATFORM,
                   "transfer_group": "e2e", "metadata": {"ledgerrun_job": "e2e",
                   "ledgerrun_adjustment_id": "0000101"}}  # fmt: skip
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
        raw.execute(
            "UPDATE adjustments SET request = ?, amount_minor = 500, account = ?,"
            " attempted_at = ?, attempted_at_server = ?",
            (json.dumps(request), A, now, now),
        )
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert row["idempotency_key"] == "ledgerrun:e2e:0:0000101"  # never a new key
    (made,) = [t for t in sandbox_state(sandbox.url)["transfers"] if t["account"] == A]
    assert made["transfer_group"] == "e2e" and made["amount"] == 500
