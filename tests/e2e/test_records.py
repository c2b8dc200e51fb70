"""Records that stay true (issue 22), as a cron operator and a finance user meet them: the real
command line against the sandbox, the records judged against the store and Stripe's books.

* A refused re-run (an invalid ledger) leaves the date's results, summary and report holding
  what they held, and writes its own rows beside them.
* ``ledgerrun results`` writes the date's files again from the journal: the CSV byte for byte,
  XLSX and Parquet cell for cell; ``--run`` writes one run's own record.
* Reversed rows say so (amount_reversed, reversal_ids, reversal_status), their status staying
  succeeded, in the results, the summary and ``ledgerrun results``.
* A re-run that sends nothing keeps reconcile's verdict; a debit whose answer was lost and whose
  row was then taken out of the ledger is removed_from_ledger, never an orphan; two batches of
  one job and date never call each other's rows removed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq

from ledgerrun.output.xlsx import read_xlsx
from ledgerrun_sandbox import Faults
from tests.helpers.cli import cli, rejected_rows, results_rows, write_job
from tests.helpers.constants import HEADER, A, B, C
from tests.helpers.sandbox import debits, sandbox_state

ROWS = [f"D-{n:02d},{(A, B, C)[n % 3]},{n}.25,usd,,Day {n},INV-{n}" for n in range(1, 21)]


def write_ledger(folder: Path, rows: list[str]) -> None:
    (folder / "ledger.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


def test_a_refused_rerun_keeps_the_dates_results_and_results_writes_them_again(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS)
    assert cli("run", job).returncode == 0
    results = tmp_path / "out" / "e2e.results.csv"
    before = {name: (results.parent / name).read_bytes() for name in (
        "e2e.results.csv", "e2e.results.csv.summary.json")}  # fmt: skip
    write_ledger(tmp_path, [*ROWS[:3], "D-99,not-an-account,1.00,usd,,Bad,INV"])
    refused = cli("run", job)
    assert refused.returncode == 2 and "Refused: nothing was sent" in refused.stdout
    assert results.read_bytes() == before["e2e.results.csv"]  # all 20 rows and their ids
    summary = results.with_name(results.name + ".summary.json")
    assert summary.read_bytes() == before["e2e.results.csv.summary.json"]
    own = rejected_rows(results)
    assert [r["adjustment_id"] for r in own] == ["D-01", "D-02", "D-03", "D-99"]
    assert own[3]["status"] == "invalid" and own[0]["status"] == "succeeded"
    # The files, lost, are written again from the journal: the CSV byte for byte.
    results.unlink()
    summary.unlink()
    again = cli("results", job)
    assert again.returncode == 0, again.stdout + again.stderr
    assert results.read_bytes() == before["e2e.results.csv"]
    assert json.loads(summary.read_text())["rows"] == 20
    rows = results_rows(results)
    for fmt in ("xlsx", "parquet"):
        other = tmp_path / f"again.{fmt}"
        assert cli("results", job, "--output", other).returncode == 0
        table = read_xlsx(other) if fmt == "xlsx" else pq.read_table(other)
        cells = [{k: "" if v is None else str(v) for k, v in r.items()} for r in table.to_pylist()]
        assert cells == rows
    assert debits(sandbox_state(sandbox.url), "e2e") == {r.split(",")[0]: 1 for r in ROWS}


def test_reversed_rows_say_so_everywhere_and_a_refused_reverse_wipes_nothing(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS[:4])
    assert cli("run", job).returncode == 0
    request = tmp_path / "reverse.csv"
    request.write_text("adjustment_id,amount\nD-01,\nD-02,1.00\n", encoding="utf-8")
    assert cli("reverse", job, "--adjustments", request).returncode == 0
    rerun = cli("run", job)  # sends nothing: every row is done
    assert rerun.returncode == 0
    results = tmp_path / "out" / "e2e.results.csv"
    by_id = {r["adjustment_id"]: r for r in results_rows(results)}
    assert by_id["D-01"]["status"] == "succeeded" and by_id["D-01"]["reversal_status"] == "full"
    assert by_id["D-01"]["amount_reversed"] == "1.25" and by_id["D-01"]["reversal_ids"]
    assert (by_id["D-02"]["reversal_status"], by_id["D-02"]["amount_reversed"]) == (
        "partial", "1.00")  # fmt: skip
    assert by_id["D-03"]["reversal_status"] == "none"
    summary = json.loads(results.with_name(results.name + ".summary.json").read_text())
    assert summary["reversed_minor"] == {"usd": {"debit": 225}}
    too_much = tmp_path / "too-much.csv"
    too_much.write_text("adjustment_id,amount,reversal_id\nD-03,999.00,D-03-big\n")
    reversals = tmp_path / "out" / "e2e.results.reversals.csv"
    before = results_rows(reversals)
    assert [(r["adjustment_id"], r["status"]) for r in before] == [
        ("D-01", "succeeded"), ("D-02", "succeeded")]  # fmt: skip
    assert by_id["D-01"]["reversal_ids"] == before[0]["refund_id"].strip()  # the refund's re_
    refused = cli("reverse", job, "--adjustments", too_much)
    assert refused.returncode == 2
    assert {r["adjustment_id"]: r["reversal_status"] for r in results_rows(results)}["D-01"] == (
        "full"
    )
    assert results_rows(reversals) == before  # the date's reversals, untouched
    (rejected,) = reversals.parent.glob("e2e.results.reversals.rejected-*.csv")
    assert [(r["reversal_id"], r["status"]) for r in results_rows(rejected)] == [
        ("D-03-big", "invalid")]  # fmt: skip
    rest = tmp_path / "rest.csv"
    rest.write_text("adjustment_id\nD-03\n")
    assert cli("reverse", job, "--adjustments", rest).returncode == 0
    after = results_rows(reversals)  # every reversal of the date, the earlier ones first
    assert [(r["adjustment_id"], r["status"], r["row"]) for r in after] == [
        ("D-01", "succeeded", ""),
        ("D-02", "succeeded", ""),
        ("D-03", "succeeded", "2"),
    ]
    assert after[0]["refund_id"] == before[0]["refund_id"] and after[0]["run_id"]


def test_a_rerun_that_sends_nothing_keeps_reconciles_verdict(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS[:3])
    assert cli("run", job).returncode == 0
    assert cli("reconcile", job).returncode == 0
    report = tmp_path / "out" / "e2e.results.csv.report.html"
    assert '<span class="tag">Clean</span>' in report.read_text()
    assert cli("run", job).returncode == 0  # nothing new
    page = report.read_text()
    assert '<span class="tag">Clean</span>' in page
    assert "run it again" not in page and 'id="stale"' not in page
    summary = json.loads(report.with_name("e2e.results.csv.summary.json").read_text())
    assert summary["sent_now"] == 3 and len(summary["runs"]) == 2  # the date's, run by run
    write_ledger(tmp_path, ROWS[:4])  # a new row: the check no longer covers the date
    assert cli("run", job).returncode == 0
    assert 'id="stale"' in report.read_text()


def test_a_lost_answer_whose_row_was_then_removed_is_never_an_orphan(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS[:2], stripe="max_attempts = 1")
    sandbox.set_faults(Faults(drop_rate=1.0, writes_only=True))
    assert cli("run", job).returncode == 3  # both executed, both answers lost
    sandbox.set_faults(Faults())
    write_ledger(tmp_path, ROWS[:1])  # D-02 taken out of the ledger
    assert cli("run", job).returncode == 0
    checked = cli("reconcile", job)
    assert checked.returncode == 1
    found = results_rows(tmp_path / "out" / "e2e.results.csv.reconcile.csv")
    assert [(r["kind"], r["adjustment_id"]) for r in found] == [("removed_from_ledger", "D-02")]
    assert "orphan" not in checked.stdout
    assert checked_the_dates_view(tmp_path / "out")


def test_two_batches_of_one_day_never_call_each_others_rows_removed(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, ROWS[:2])
    assert cli("run", job).returncode == 0
    second = tmp_path / "afternoon.csv"
    second.write_text("\n".join([HEADER, *ROWS[2:4]]) + "\n", encoding="utf-8")
    assert cli("run", job, "--ledger", second).returncode == 0
    rows = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert [r["adjustment_id"] for r in rows] == ["D-03", "D-04", "D-01", "D-02"]
    assert {r["status"] for r in rows} == {"succeeded"}
    assert [r["error_code"] for r in rows[2:]] == ["not_in_ledger"] * 2
    checked = cli("reconcile", job)
    assert checked.returncode == 0, checked.stdout
    with (tmp_path / "out" / "e2e.results.csv.reconcile.csv").open() as fh:
        assert list(csv.DictReader(fh)) == []
    assert checked_the_dates_view(tmp_path / "out")


def checked_the_dates_view(out: Path) -> bool:
    """Reconcile checked the very rows the date's summary describes (it builds them a chunk at
    a time, not through the date's view): the same fingerprint."""
    checked = json.loads((out / "e2e.results.csv.reconcile.json").read_text())["view_sha256"]
    summary = json.loads((out / "e2e.results.csv.summary.json").read_text())["view_sha256"]
    return bool(checked) and checked == summary
