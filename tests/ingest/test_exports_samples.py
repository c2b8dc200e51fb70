"""The five finance-system exports of data_samples/exports/, each read exactly as its system wrote
it by its job file in jobs/: exact debits, credits and control totals. The files are first
checked to be made as their systems make them, and to be what their generator makes."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import openpyxl
import pytest

from ledgerrun import money
from ledgerrun.ingest.validate import Validation, check
from ledgerrun.jobfile import load_target
from tests.helpers.constants import JOBS, RUN_DATE, SAMPLES

EXPORTS = SAMPLES / "exports"


def read(job: str, ledger: Path | None = None) -> Validation:
    target = load_target(JOBS / f"{job}.toml", RUN_DATE)
    if ledger is not None:
        target = target.replace(ledger=ledger)
    v = check(target)
    assert v.ok, v.problems
    return v


def totals(v: Validation) -> tuple[str, str]:
    """(debits, credits) of the rows, exactly, in major units."""
    out = {"debit": 0, "credit": 0}
    for amount, way in zip(v.amount_minor.to_pylist(), v.direction.to_pylist(), strict=True):
        out[way] += amount
    return money.format_major(out["debit"], 2), money.format_major(out["credit"], 2)


def test_the_generator_makes_the_committed_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(SAMPLES))
    generator = importlib.import_module("generate_exports")
    try:
        monkeypatch.setattr(generator, "HERE", tmp_path)
        generator.main()
    finally:
        sys.modules.pop("generate_exports", None)
        sys.modules.pop("generate", None)
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in EXPORTS.iterdir())
    for name in made:
        assert (tmp_path / name).read_bytes() == (EXPORTS / name).read_bytes(), name


# --- NetSuite ----------------------------------------------------------------------------------


def test_netsuite_is_a_saved_search_csv_as_netsuite_writes_it() -> None:
    raw = (EXPORTS / "netsuite_saved_search.csv").read_bytes()
    assert (
        raw.startswith(b"\xef\xbb\xbf")
        and b"\r\n" in raw
        and b"\n" not in raw.replace(b"\r\n", b"")
    )
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0] == '"Stripe Connect adjustments (Saved Search)"'  # a title line
    assert '"$1,681.21"' in lines[2] and '"($50.00)"' in raw.decode()
    assert lines[-2].startswith('"Total"')


def test_netsuite_reads_as_exported() -> None:
    v = read("netsuite")
    assert v.rows == 30 and v.ledger.header_row == 2
    assert v.ledger.rows.to_pylist()[:2] == [3, 4]
    assert totals(v) == ("31973.44", "144.04")
    assert v.direction.to_pylist().count("credit") == 3
    assert v.amount_minor.to_pylist()[0] == 168121  # $1,681.21
    assert (v.adjustment_id[7].as_py(), v.amount_minor[7].as_py()) == ("JE-NS-10238", 5000)
    total = v.control_total
    assert total is not None and total.matches and total.row == 33
    assert (total.basis, total.stated, total.debits, total.credits) == (
        "net",
        "31,829.40",
        "31,973.44",
        "144.04",
    )


# --- QuickBooks Online -------------------------------------------------------------------------


def test_quickbooks_is_a_journal_report_as_quickbooks_writes_it() -> None:
    book = openpyxl.load_workbook(EXPORTS / "quickbooks_journal.xlsx")
    ws = book.active
    assert "A1:H1" in {str(r) for r in ws.merged_cells.ranges}  # the merged title row
    assert [c.value for c in ws[5]] == [
        "Date", "Transaction Type", "Num", "Name", "Memo/Description", "Account", "Debit",
        "Credit",
    ]  # fmt: skip
    assert "Currency" not in [c.value for c in ws[5]]
    assert ws["A30"].value == "TOTAL" and ws["A32"].value.startswith("Accrual Basis")
    assert ws["G6"].number_format == "#,##0.00" and ws["A6"].is_date


def test_quickbooks_reads_as_exported() -> None:
    v = read("quickbooks")
    assert v.rows == 24 and v.ledger.header_row == 5
    assert v.ledger.rows.to_pylist()[-1] == 29  # the TOTAL row and the footer are no rows
    assert v.ledger.footers == [32]
    assert set(v.currency.to_pylist()) == {"usd"}
    assert totals(v) == ("18726.51", "310.01")
    assert v.direction.to_pylist()[5] == "credit"
    assert v.ledger.extras.column("Date").to_pylist()[0] == "2026-12-01"
    total = v.control_total
    assert total is not None and total.matches and total.row == 30
    assert (total.basis, total.stated, total.stated_credits) == ("columns", "18,726.51", "310.01")


# --- Xero --------------------------------------------------------------------------------------


def test_xero_reads_as_exported() -> None:
    raw = (EXPORTS / "xero_transactions.csv").read_text(encoding="utf-8")
    assert ",Dr," in raw and ",dr," in raw and ",CR,-" in raw  # as people type them
    v = read("xero")
    assert v.rows == 20
    assert totals(v) == ("8614.39", "322.30")
    notes = [i for i, ref in enumerate(v.adjustment_id.to_pylist()) if ref.startswith("CN-")]
    assert len(notes) == 4
    assert {v.direction[i].as_py() for i in notes} == {"credit"}
    assert all(v.amount_minor[i].as_py() > 0 for i in notes)
    assert v.control_total is None


def test_xero_without_the_sign_setting_names_it() -> None:
    target = load_target(JOBS / "xero.toml", RUN_DATE)
    v = check(target.replace(reading=type(target.reading)(negative="refuse")))
    assert [p.code for p in v.problems] == ["non_positive_amount"] * 4
    for problem in v.problems:
        assert '[ledger] negative = "credit"' in problem.fix
        assert "remove the row" not in problem.fix.lower()


# --- German Excel ------------------------------------------------------------------------------


def test_german_excel_reads_as_exported() -> None:
    raw = (EXPORTS / "german_excel.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";1.234,56;" in raw and b" $;" in raw
    v = read("german_excel")
    assert v.rows == 16 and v.ledger.header_row == 2
    assert v.amount_minor.to_pylist()[0] == 123456
    assert totals(v) == ("16754.31", "92.00")
    total = v.control_total
    assert total is not None and total.matches and total.row == 19
    assert (total.basis, total.stated) == ("net", "16,662.31")


def test_german_excel_without_the_decimal_setting_says_so() -> None:
    target = load_target(JOBS / "german_excel.toml", RUN_DATE)
    v = check(target.replace(reading=type(target.reading)()))
    assert not v.ok
    first = next(p for p in v.problems if p.code == "bad_amount")
    assert '[ledger] decimal = ","' in first.message


# --- the daily sheet ---------------------------------------------------------------------------


def test_the_daily_sheet_builds_ids_from_date_and_account() -> None:
    v = read("daily_sheet")
    assert v.rows == 32 and "adjustment_id" not in v.ledger.table.column_names
    ids = v.adjustment_id.to_pylist()
    assert ids[0] == "2026-12-01-acct_1connaa000000" and ids[-1] == "2026-12-02-acct_1connra000015"
    assert len(set(ids)) == 32
    assert totals(v) == ("1093.89", "0.00")


def test_the_re_exported_daily_sheet_makes_the_same_ids() -> None:
    first = read("daily_sheet")
    again = read("daily_sheet", EXPORTS / "daily_sheet_reexported.csv")
    raw = (EXPORTS / "daily_sheet_reexported.csv").read_text()
    assert "12/1/2026" in raw and "12/01/2026" not in raw
    assert again.adjustment_key.to_pylist() == first.adjustment_key.to_pylist()
    assert again.amount_minor.to_pylist() == first.amount_minor.to_pylist()


def test_without_a_date_format_the_daily_sheet_is_refused_not_guessed() -> None:
    target = load_target(JOBS / "daily_sheet.toml", RUN_DATE)
    reading = target.reading
    v = check(target.replace(reading=type(reading)(currency="usd", id_parts=reading.id_parts)))
    codes = {(p.column, p.code) for p in v.problems}
    assert codes == {("Date", "bad_adjustment_id")}  # 12/01/2026: 1 December or 12 January
    assert len(v.problems) == 32


@pytest.mark.parametrize("job", ["netsuite", "quickbooks", "xero", "german_excel", "daily_sheet"])
def test_every_export_job_runs_against_the_sample_accounts(job: str) -> None:
    import json

    seed = json.loads((SAMPLES / "accounts.json").read_text())
    usd = {a["id"] for a in seed["accounts"] if a["default_currency"] == "usd"}
    us = {a["id"] for a in seed["accounts"] if a["country"] == "US"}
    v = read(job)
    assert set(v.account.to_pylist()) <= usd & us
    assert set(v.currency.to_pylist()) == {"usd"}


def test_a_date_formatted_with_slashes_reads_as_a_date() -> None:
    from ledgerrun.ingest import numfmt

    assert numfmt.shown("46357", "mm/dd/yyyy") == "2026-12-01"
    assert numfmt.shown("46357", "d/m/yyyy") == "2026-12-01"
    assert numfmt.shown("46357.5", "# ?/?") == "46357.5"  # a fraction stays exotic
