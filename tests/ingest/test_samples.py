"""The samples and templates: finance's workbook as they keep it, the xlsx template, every code."""

from __future__ import annotations

import openpyxl
import pytest

from ledgerrun.ingest.validate import check
from ledgerrun.jobfile import load_target
from ledgerrun.vocab import FIXES
from tests.helpers.cli import cli
from tests.helpers.constants import JOBS, ROOT, RUN_DATE, SAMPLES

TEMPLATE = ROOT / "docs" / "templates" / "ledger-template.xlsx"


def test_finance_export_validates_offline_with_its_control_total_matched() -> None:
    done = cli("validate", "--offline", JOBS / "finance_export.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "30 rows, all valid" in done.stdout
    assert "The totals line (row 36) matches the rows: 37,285.06 USD" in done.stdout


def test_finance_export_is_read_as_finance_sees_it() -> None:
    v = check(load_target(JOBS / "finance_export.toml", RUN_DATE))
    assert v.ok and v.rows == 30
    assert v.ledger.header_row == 3
    rows = v.ledger.rows.to_pylist()
    assert rows[:2] == [4, 5] and 19 not in rows and rows[-1] == 34  # the blank row 19 skipped
    total = v.control_total
    assert total is not None and total.matches and total.row == 36 and total.currency == "usd"
    assert sum(v.amount_minor.to_pylist()) == 3_728_506
    # the hidden draft sheet, first in the workbook, is never read: none of its 9,999.00 rows
    assert 999_900 not in v.amount_minor.to_pylist()
    assert set(v.ledger.extras.column("Approved by").to_pylist()) <= {"cfo", "controller"}
    first = {
        **v.ledger.table.slice(0, 1).to_pylist()[0],
        **v.ledger.extras.slice(0, 1).to_pylist()[0],
    }
    assert first["metadata.invoice"].startswith("INV-") and len(first["metadata.invoice"]) == 9
    assert first["Booked on"] == "2026-11-01"
    amounts = v.ledger.column("amount").to_pylist()
    assert any("," in a for a in amounts)  # some amounts were typed as text, 1,234.56
    book = openpyxl.load_workbook(SAMPLES / "finance_export.xlsx")
    assert book.sheetnames == ["Draft (old)", "Adjustments", "Notes"]
    assert book["Draft (old)"].sheet_state == "hidden" and book.active.title == "Adjustments"


def test_the_xlsx_template_reads_without_excel() -> None:
    v = check(load_target(TEMPLATE, RUN_DATE))
    assert v.ok, v.problems
    assert v.rows == 3
    assert v.direction.to_pylist() == ["debit"] * 3
    assert v.control_total is not None and v.control_total.matches
    assert v.control_total.computed == "1,855.50"
    ws = openpyxl.load_workbook(TEMPLATE)["Ledger"]
    assert [c.value for c in ws[1]][:5] == [
        "adjustment_id",
        "account",
        "amount",
        "currency",
        "direction",
    ]
    assert ws["A2"].number_format == "@" and ws["A150"].number_format == "@"
    assert ws["C2"].number_format == "#,##0.00"
    assert str(ws["C5"].value).startswith("=SUM(")
    cached = openpyxl.load_workbook(TEMPLATE, data_only=True)["Ledger"]["C5"].value
    assert cached == 1855.5  # the SUM's value is saved beside it


def test_the_samples_produce_every_offline_code() -> None:
    offline = list(FIXES)[: list(FIXES).index("control_total_mismatch") + 1]
    seen = {p.code for p in check(load_target(JOBS / "bad_adjustments.toml", RUN_DATE)).problems}
    for path in sorted((SAMPLES / "broken").iterdir()):
        seen |= {p.code for p in check(load_target(path, RUN_DATE)).problems}
    assert sorted(set(offline) - seen) == []


def test_a_ledger_reads_the_same_in_one_thread_or_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest strips columns and checks amounts in two threads from THREADED_FROM rows on, in
    one below it: the finding of every row must not depend on which."""
    from ledgerrun.ingest import read, validate

    job = load_target(SAMPLES / "bad_adjustments.csv", RUN_DATE)
    alone = check(job)
    monkeypatch.setattr(read, "THREADED_FROM", 0)
    monkeypatch.setattr(validate, "THREADED_FROM", 0)
    threaded = check(job)
    assert alone.problems and not alone.ok  # the sample has problems of many kinds
    assert threaded.problems == alone.problems
    assert threaded.amount_minor.equals(alone.amount_minor)
    assert threaded.ledger.table.equals(alone.ledger.table)
