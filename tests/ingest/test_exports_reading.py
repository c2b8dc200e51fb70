"""Reading exports as finance systems write them, as the job file says (issue 23): a default
currency, a delimiter and a decimal mark, a debit/credit pair, the sign convention, accounting
directions, composite ids, totals lines with footers, and messages naming the likely cause."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from ledgerrun.errors import ConfigError
from ledgerrun.ingest.validate import check
from ledgerrun.jobfile import load_job_file
from ledgerrun.output import text as render
from tests.helpers.constants import RUN_DATE
from tests.helpers.stages import plan_of
from tests.ingest.conftest import Validate, found

A, B = "acct_1ConnAA000000", "acct_1ConnBA000001"


# --- the job file ------------------------------------------------------------------------------


def job_text(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "j.toml"
    path.write_text(f'[job]\nname = "t"\nledger = "l.csv"\n{body}\n', encoding="utf-8")
    return path


def test_the_ledger_table_and_the_new_columns_are_read(tmp_path: Path) -> None:
    job = load_job_file(
        job_text(
            tmp_path,
            '[columns]\nadjustment_id = ["Date", "Connected Account"]\ndebit = "Debit"\n'
            'credit = "Credit"\n[ledger]\ncurrency = "USD"\nnegative = "credit"\n'
            'delimiter = "semicolon"\ndecimal = ","\ndate_format = "mm/dd/yyyy"\n',
        ),
        RUN_DATE,
    )
    r = job.reading
    assert (r.currency, r.negative, r.delimiter, r.decimal, r.date_format) == (
        "usd",
        "credit",
        ";",
        ",",
        "MM/DD/YYYY",
    )
    assert r.id_parts == ("Date", "Connected Account")
    assert job.columns == {"debit": "Debit", "credit": "Credit"}
    defaults = load_job_file(job_text(tmp_path, ""), RUN_DATE).reading
    assert (defaults.currency, defaults.negative, defaults.delimiter, defaults.decimal) == (
        None,
        "refuse",
        None,
        ".",
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('[ledger]\ncurrency = "usx"', "'ledger.currency'"),
        ('[ledger]\nnegative = "debit"', "'ledger.negative'"),
        ('[ledger]\ndecimal = "·"', "'ledger.decimal'"),
        ('[ledger]\ndelimiter = "/"', "'ledger.delimiter'"),
        ('[ledger]\ndate_format = "MM/MM/YYYY"', "'ledger.date_format'"),
        ('[ledger]\ndate_format = "MM/DD-YYYY"', "'ledger.date_format'"),
        ("[ledger]\ncurrency = 840", "'ledger.currency' must be text"),
        ('[ledger]\nsign = "credit"', "unknown key 'ledger.sign'"),
        ('[columns]\ndebit = "Debit"', "needs 'columns.credit'"),
        ('[columns]\ndebit = "D"\ncredit = "C"\namount = "A"', "both a debit/credit pair"),
        ("[columns]\nadjustment_id = []", "'columns.adjustment_id'"),
        ('[columns]\nadjustment_id = ["Date", "date"]', "names the same header twice"),
    ],
)
def test_mistakes_name_their_key(tmp_path: Path, body: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_job_file(job_text(tmp_path, body), RUN_DATE)
    assert words in str(info.value)


# --- currency, delimiter, decimal mark ---------------------------------------------------------


def test_a_job_currency_stands_for_a_missing_column_and_fills_blank_cells(
    validated: Validate,
) -> None:
    v = validated(f"adjustment_id,account,amount\nA,{A},10.00\nB,{B},$2.50\n", job=USD)
    assert v.ok, v.problems
    assert v.currency.to_pylist() == ["usd", "usd"]
    assert v.amount_minor.to_pylist() == [1000, 250]
    v = validated(f"adjustment_id,account,amount,currency\nA,{A},10,\nB,{B},5,USD\n", job=USD)
    assert v.ok and v.currency.to_pylist() == ["usd", "usd"]


USD = '[ledger]\ncurrency = "usd"'


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_the_delimiter_is_found_from_the_header_row(validated: Validate, delimiter: str) -> None:
    text = f"Buchungen Dezember\nadjustment_id;account;amount;currency\nA;{A};1.234,56;usd\n"
    v = validated(text.replace(";", delimiter), job='[ledger]\ndecimal = ","')
    assert v.ok, v.problems
    assert v.ledger.header_row == 2 and v.amount_minor.to_pylist() == [123456]


def test_a_named_delimiter_is_used_and_a_header_read_two_ways_is_refused(
    validated: Validate,
) -> None:
    text = f"adjustment_id|account|amount|currency\nA|{A}|12.50|usd\n"
    v = validated(text, job='[ledger]\ndelimiter = "|"')
    assert v.ok and v.amount_minor.to_pylist() == [1250]
    both = "adjustment_id,account,amount,currency,x;adjustment_id;account;amount;currency\n"
    v = validated(both + "1,2,3,4,5;6;7;8;9\n")
    (problem,) = v.problems
    assert problem.code == "unreadable_file" and "[ledger] delimiter" in problem.message


def test_the_decimal_comma_is_named_never_guessed(validated: Validate) -> None:
    text = f'adjustment_id;account;amount;currency\nA;{A};"1.234,56 $";usd\nB;{A};1.234;usd\n'
    v = validated(text)
    assert found(v) == [(2, "amount", "bad_amount"), (3, "amount", "too_many_decimals")]
    assert '[ledger] decimal = ","' in v.problems[0].message
    v = validated(text, job='[ledger]\ndecimal = ","')
    assert v.ok and v.amount_minor.to_pylist() == [123456, 123400]


def test_an_xlsx_number_is_the_number_it_holds_whatever_the_decimal_mark(
    tmp_path: Path, validated: Validate
) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["adjustment_id", "account", "amount", "currency"])
    ws.append(["A", A, 1.5, "usd"])  # a number cell: 1.50, never 150
    ws.append(["B", A, "1.234,50", "usd"])  # text, read with the job's mark
    book.save(tmp_path / "l.xlsx")
    v = validated((tmp_path / "l.xlsx").read_bytes(), name="l.xlsx", job='[ledger]\ndecimal = ","')
    assert v.ok, v.problems
    assert v.amount_minor.to_pylist() == [150, 123450]


# --- the debit/credit pair, signs and directions ----------------------------------------------

PAIR = '[columns]\ndebit = "Debit"\ncredit = "Credit"\n[ledger]\ncurrency = "usd"'
JOURNAL = PAIR.replace("[ledger]", 'adjustment_id = "Num"\naccount = "Name"\n[ledger]')


def test_a_debit_and_credit_pair_gives_amount_and_direction(validated: Validate) -> None:
    text = (
        "Num,Name,Debit,Credit\n"
        f"1,{A},100.00,\n"
        f"2,{B},,25.50\n"
        f"3,{A},0.00,7.00\n"  # a zero beside an amount is no amount
        f'4,{B},"$1,000.00", $ -  \n'  # Excel's accounting zero is a dash
    )
    v = validated(text, job=JOURNAL)
    assert v.ok, v.problems
    assert v.direction.to_pylist() == ["debit", "credit", "credit", "debit"]
    assert v.amount_minor.to_pylist() == [10000, 2550, 700, 100000]


def test_both_or_neither_filled_is_a_problem_naming_the_cells(validated: Validate) -> None:
    text = f"Num,Name,Debit,Credit\n1,{A},10.00,5.00\n2,{A},,\n3,{A},0,0\n"
    v = validated(text, job=JOURNAL)
    assert found(v) == [
        (2, "Debit", "debit_and_credit"),
        (3, "Debit", "empty_value"),
        (4, "Debit", "non_positive_amount"),
    ]
    assert "Debit holds '10.00' and Credit holds '5.00'" in v.problems[0].message
    assert v.valid.to_pylist() == [False, False, False]


def test_a_pair_found_by_name_only_without_an_amount_column(validated: Validate) -> None:
    v = validated(f"adjustment_id,account,debit,credit,currency\nA,{A},,3.00,usd\n")
    assert v.ok and v.direction.to_pylist() == ["credit"]
    v = validated(f"adjustment_id,account,amount,debit,currency\nA,{A},3.00,x,usd\n")
    assert v.ok and v.ledger.extras.column_names == ["debit"]


def test_a_direction_that_contradicts_the_pair_is_refused(validated: Validate) -> None:
    text = f"Num,Name,Debit,Credit,direction\n1,{A},,5.00,DR\n2,{A},,5.00,CR\n"
    v = validated(text, job=JOURNAL)
    assert found(v) == [(2, "direction", "bad_direction")]
    assert "'DR' says debit, but the amount is in the Credit column" in v.problems[0].message


def test_a_negative_amount_names_the_setting_never_removing_the_row(validated: Validate) -> None:
    v = validated(f"adjustment_id,account,amount,currency\nA,{A},($50.00),usd\nB,{A},-5,usd\n")
    assert found(v) == [(2, "amount", "non_positive_amount"), (3, "amount", "non_positive_amount")]
    problem = v.problems[0]
    assert "is negative (-50.00 USD)" in problem.message
    assert '[ledger] negative = "credit"' in problem.message
    assert '[ledger] negative = "credit"' in problem.fix
    assert "remove the row" not in (problem.message + problem.fix).lower()


def test_with_negative_credit_a_negative_amount_is_a_credit(validated: Validate) -> None:
    text = (
        "adjustment_id,account,amount,currency,type\n"
        f"A,{A},120.00,usd,DR\n"
        f"B,{A},-45.00,usd,CR\n"  # a credit note: negative, and a credit
        f"C,{A},(10.00),usd,\n"  # blank direction: the sign decides
        f"D,{A},-1.00,usd,Dr\n"  # says debit, but negative: refused
    )
    v = validated(text, job='[columns]\ndirection = "type"\n[ledger]\nnegative = "credit"')
    assert found(v) == [(5, "amount", "non_positive_amount")]
    assert "says it is a debit" in v.problems[0].message
    assert v.direction.to_pylist()[:3] == ["debit", "credit", "credit"]
    assert v.amount_minor.to_pylist()[:3] == [12000, 4500, 1000]


@pytest.mark.parametrize(
    ("written", "meant"),
    [("DR", "debit"), ("cr", "credit"), ("Dr", "debit"), ("C", "credit"), ("d", "debit"),
     ("Credit", "credit"), ("", "debit"), ("Soll", "debit"), ("H", "credit")],
)  # fmt: skip
def test_direction_forms(validated: Validate, written: str, meant: str) -> None:
    v = validated(f"adjustment_id,account,amount,currency,direction\nA,{A},1,usd,{written}\n")
    assert v.ok and v.direction.to_pylist() == [meant]


# --- composite ids -----------------------------------------------------------------------------

DAILY = '[columns]\nadjustment_id = ["Date", "Connected Account"]\naccount = "Connected Account"'


def daily(dates: list[str]) -> str:
    rows = [f"{d},{acct},5.00" for d in dates for acct in (A, B)]
    return "Date,Connected Account,Amount\n" + "\n".join(rows) + "\n"


def test_a_composite_id_is_built_from_canonical_parts(validated: Validate) -> None:
    job = DAILY + '\n[ledger]\ncurrency = "usd"\ndate_format = "MM/DD/YYYY"'
    first = validated(daily(["12/01/2026", "12/02/2026"]), job=job)
    assert first.ok, first.problems
    assert first.adjustment_id.to_pylist()[:2] == [
        "2026-12-01-acct_1connaa000000",
        "2026-12-01-acct_1connba000001",
    ]
    again = validated(daily(["12/1/2026", "12/2/2026"]), name="m.csv", job=job)
    assert again.adjustment_key.to_pylist() == first.adjustment_key.to_pylist()
    assert again.ledger.extras.column("Date").to_pylist()[0] == "12/1/2026"  # shown as written


def test_an_ambiguous_date_in_an_id_is_refused_without_a_format(validated: Validate) -> None:
    job = DAILY + '\n[ledger]\ncurrency = "usd"'
    v = validated(daily(["05/12/2026", "13/12/2026", "2026-12-14"]), job=job)
    assert found(v) == [(2, "Date", "bad_adjustment_id"), (3, "Date", "bad_adjustment_id")]
    assert "12 May 2026 or 05 December 2026" in v.problems[0].message
    assert "date_format" in v.problems[0].fix
    assert v.adjustment_id.to_pylist()[2:] == [
        "2026-12-13-acct_1connaa000000",
        "2026-12-13-acct_1connba000001",
        "2026-12-14-acct_1connaa000000",
        "2026-12-14-acct_1connba000001",
    ]


def test_composite_parts_are_checked_each_on_its_cell(validated: Validate) -> None:
    job = DAILY + '\n[ledger]\ncurrency = "usd"\ndate_format = "DD.MM.YYYY"'
    text = (
        "Date,Connected Account,Amount\n"
        f"01.12.2026,{A},1\n,{B},1\n12/01/2026,{B},1\n01.12.2026,{A.upper()},2\n"
    )
    v = validated(text, job=job)
    assert found(v) == [
        (2, "Date + Connected Account", "duplicate_adjustment_id"),
        (3, "Date", "empty_value"),
        (4, "Date", "bad_adjustment_id"),
        (5, "Connected Account", "bad_account"),
        (5, "Date + Connected Account", "duplicate_adjustment_id"),
    ]
    assert "not written as the job's date_format says (DD.MM.YYYY)" in v.problems[2].message


def test_a_missing_part_is_named(validated: Validate) -> None:
    v = validated(f"Day,Connected Account,Amount\n12/01/2026,{A},1\n", job=DAILY + "\n" + USD)
    (problem,) = v.problems
    assert problem.code == "missing_column" and "lacks 'Date'" in problem.message
    assert "'Day'" not in problem.message or "closest" in problem.message


# --- totals lines -------------------------------------------------------------------------------

HEADER = "adjustment_id,account,amount,currency"


@pytest.mark.parametrize(
    ("stated", "basis", "matches"),
    [("1,631.21", "net", True), ("$1,731.21", "gross", True), ("1,600.00", "net", False)],
)
def test_one_total_matches_net_or_gross(
    validated: Validate, stated: str, basis: str, matches: bool
) -> None:
    text = (
        f'{HEADER}\n1,{A},"1,681.21",usd\n2,{B},(50.00),usd\n'
        f'TOTAL,,"{stated}",\n\nAccrual Basis Monday, December 1, 2026 09:41 AM GMT-08:00\n'
    )
    v = validated(text, job='[ledger]\nnegative = "credit"')
    total = v.control_total
    assert total is not None and v.rows == 2
    assert (total.row, total.basis, total.matches) == (4, basis, matches)
    assert (total.debits, total.credits) == ("1,681.21", "50.00")
    if matches:
        assert v.ok, v.problems
    else:
        assert found(v) == [(4, "amount", "control_total_mismatch")]
        assert "1,631.21 net" in v.problems[0].message and "1,731.21 gross" in v.problems[0].message


def test_the_plan_shows_the_figures_the_check_uses(validated: Validate) -> None:
    text = f'{HEADER}\n1,{A},"1,681.21",usd\n2,{B},(50.00),usd\nTotal,,"$1,631.21",\n'
    v = validated(text, job='[ledger]\nnegative = "credit"')
    shown = render.plan(plan_of(v), 10)
    assert "Control total on row 4: 1,631.21 matches the rows' net" in shown
    assert "debits 1,681.21 less credits 50.00" in shown
    assert "Net:     1,631.21 USD" in shown


def test_rows_that_cannot_be_counted_are_counted_not_summed(validated: Validate) -> None:
    text = f'{HEADER}\n1,{A},"$1,681.21",usd\n2,{B},($50.00),usd\nTotal,,"$1,631.21",\n'
    v = validated(text)  # negatives refused: one row cannot be counted
    assert [p.code for p in v.problems] == ["non_positive_amount"]
    total = v.control_total
    assert total is not None and not total.matches and total.uncounted == 1
    shown = render.plan(plan_of(v), 10)
    assert "not checked: 1 row could not be counted" in shown
    assert "add up to 0.00" not in shown


def test_a_pair_of_totals_is_compared_column_by_column(validated: Validate) -> None:
    text = f"Num,Name,Debit,Credit\n1,{A},100.00,\n2,{B},,25.50\nTOTAL,,100.00,25.00\n"
    v = validated(text, job=JOURNAL)
    assert found(v) == [(4, "Credit", "control_total_mismatch")]
    total = v.control_total
    assert total is not None and total.basis == "columns" and not total.matches
    assert (total.stated, total.stated_credits, total.credits) == ("100.00", "25.00", "25.50")
    v = validated(text.replace("25.00", "25.50"), job=JOURNAL)
    assert v.ok and v.control_total is not None and v.control_total.matches


def test_a_total_labelled_in_any_column_with_footers_after_it(validated: Validate) -> None:
    text = (
        f"{HEADER},memo\nA,{A},10.00,usd,x\nB,{A},2.50,usd,y\n"
        ",,12.50,,Grand Total\n"
        '"Accrual Basis Monday, December 1, 2026 09:41 AM GMT-08:00"\n'  # a one-cell line
        ",,,,Page 1 of 1\n"
    )
    v = validated(text)
    assert v.ok, v.problems
    assert v.rows == 2 and v.ledger.footers == [6]
    assert v.control_total is not None and v.control_total.matches


def test_a_line_with_an_account_is_never_a_total(validated: Validate) -> None:
    v = validated(f"{HEADER}\nA,{A},10.00,usd\nTotal,{B},10.00,usd\n")
    assert v.control_total is None and v.rows == 2 and v.ok


# --- header messages ---------------------------------------------------------------------------


def test_a_header_further_down_is_found_and_a_title_never_blamed(validated: Validate) -> None:
    text = (
        'Acme Platform Inc.,,,\nJournal,,,\n"December 1-15, 2026",,,\n,,,\n'
        f"Num,Name,Debit,Credit\n1,{A},10.00,\n"
    )
    job = '[columns]\nadjustment_id = "Num"\naccount = "Name"\ndebit = "Debit"\ncredit = "Credit"'
    v = validated(text, job=job)
    (problem,) = v.problems
    assert (problem.row, problem.column, problem.code) == (5, "currency", "missing_column")
    assert "Row 5 (taken as the header)" in problem.message
    assert '[ledger] currency = "usd"' in problem.fix
    assert validated(text, job=job + "\n" + USD).ok


def test_a_mapped_header_not_found_names_the_closest_text(validated: Validate) -> None:
    text = f"Ref,Stripe account ID,Amount,Currency\n1,{A},10.00,usd\n"
    v = validated(text, job='[columns]\nadjustment_id = "Ref"\naccount = "Stripe Account"')
    (problem,) = v.problems
    assert problem.code == "missing_column" and problem.column == "account"
    assert "'Stripe account ID' in the header row" in problem.message


def test_the_exports_json_plan_carries_the_basis(validated: Validate) -> None:
    text = f'{HEADER}\n1,{A},"1,681.21",usd\n2,{B},(50.00),usd\nTotal,,"1,631.21",\n'
    v = validated(text, job='[ledger]\nnegative = "credit"')
    line = plan_of(v).to_json()["control_total"]
    assert line["basis"] == "net" and line["debits"] == "1,681.21" and line["uncounted"] == 0
    assert line["matches"] is True and line["stated"] == "1,631.21"


def test_reading_is_the_same_through_check(tmp_path: Path) -> None:
    """check(job) reads with the job's [ledger] settings (the one way every front end reads)."""
    (tmp_path / "l.csv").write_text(f"adjustment_id;account;amount\nA;{A};1,50\n")
    job = load_job_file(
        job_text(tmp_path, '[ledger]\ncurrency = "usd"\ndecimal = ","'), dt.date(2026, 12, 1)
    )
    v = check(job)
    assert v.ok and v.amount_minor.to_pylist() == [150]


def test_the_closest_header_is_a_likely_one_not_any_near_spelling(validated: Validate) -> None:
    v = validated(f"Reference,Stripe Account,Amount,Currency\nR-1,{A},1.00,usd\n")
    account = next(p for p in v.problems if p.column == "account")
    assert "'Stripe Account' in the header row" in account.message
    assert "'Amount'" not in account.message


def test_an_amount_that_reads_two_ways_in_a_column_of_decimal_commas_is_refused(
    validated: Validate,
) -> None:
    text = (
        "adjustment_id;account;amount;currency\n"
        f"A;{A};12,50;usd\nB;{A};1,234;usd\nC;{A};100;usd\nD;{A};1.500;usd\nE;{A};2,000.00;usd\n"
    )
    v = validated(text)  # the job says nothing: a decimal point
    assert found(v) == [(2, "amount", "bad_amount"), (3, "amount", "bad_amount"),
                        (5, "amount", "bad_amount")]  # fmt: skip
    assert "1,234.00 USD with a decimal '.'" in v.problems[1].message
    assert "1.234 USD with a decimal ','" in v.problems[1].message
    assert "row 2 ('12,50')" in v.problems[1].message
    assert v.amount_minor.to_pylist() == [None, None, 10000, None, 200000]
    plain = validated(f'adjustment_id,account,amount,currency\nA,{A},"1,234",usd\n', name="p.csv")
    assert plain.ok and plain.amount_minor.to_pylist() == [123400]  # no sign of decimal commas


def test_a_number_in_an_id_part_is_the_same_however_a_re_save_writes_it(
    validated: Validate,
) -> None:
    job = (
        '[columns]\nadjustment_id = ["Invoice", "Fee"]\namount = "Fee"\n[ledger]\ncurrency = "usd"'
    )
    header = "Invoice,account,Fee\n"
    first = validated(header + f"007,{A},12.50\n008,{A},3.00\n", job=job)
    again = validated(header + f"7,{A},12.5\n8,{A},3\n", name="m.csv", job=job)
    assert first.ok and again.ok
    assert (
        first.adjustment_key.to_pylist()
        == again.adjustment_key.to_pylist()
        == [
            "7-12.5",
            "8-3",
        ]
    )
