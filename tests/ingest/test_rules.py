"""Validation v2: identity, direction, limits, messages, and what later stages may rely on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ledgerrun.ingest import identity
from ledgerrun.ingest.validate import blocking_problems, check
from ledgerrun.jobfile import job_for_ledger
from ledgerrun.vocab import FIXES
from tests.helpers.constants import RUN_DATE
from tests.helpers.stages import plan_of
from tests.ingest.conftest import Validate, found

HEADER = "adjustment_id,account,amount,currency"


# --- identity ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "label"),
    [
        ("ADJ\u200b1", "U+200B"),
        ("ADJ\t1", "U+0009"),
        ("A\u00a0B", "U+00A0"),
        ("\u202eADJ", "U+202E"),
    ],
)
def test_ids_with_invisible_characters_are_refused(
    validated: Validate, written: str, label: str
) -> None:
    v = validated(f'{HEADER}\n"{written}",acct_1A,1,usd\n')
    (problem,) = v.problems
    assert (problem.row, problem.code) == (2, "bad_adjustment_id")
    assert label in problem.message and "Retype the id" in problem.message
    assert "\\" in problem.value  # the invisible character shown as an escape


@pytest.mark.parametrize(
    "pair",
    [("ADJ-1", "adj-1"), ("café", "cafe\u0301"), ("0000101", "101"), ("Straße", "STRASSE")],
)
def test_ids_equal_in_canonical_form_are_duplicates_every_time(
    validated: Validate, pair: tuple[str, str]
) -> None:
    first, second = pair
    v = validated(f"{HEADER}\n{first},acct_1A,1,usd\nOTHER,acct_1A,1,usd\n{second},acct_1A,2,usd\n")
    assert found(v) == [
        (2, "adjustment_id", "duplicate_adjustment_id"),
        (4, "adjustment_id", "duplicate_adjustment_id"),
    ]
    assert "row 4" in v.problems[0].message and "row 2" in v.problems[1].message
    assert v.adjustment_id.to_pylist() == [first, "OTHER", second]  # as written, for outputs


def test_the_adjustment_key_is_canonical_with_the_jobs_prefix(validated: Validate) -> None:
    v = validated(
        f"{HEADER}\n ADJ-7 ,acct_1A,1,usd\n0042,acct_1A,1,usd\n", job='id_prefix = "team-a"'
    )
    assert v.adjustment_key.to_pylist() == ["team-a:adj-7", "team-a:42"]
    assert v.adjustment_id.to_pylist() == ["ADJ-7", "0042"]


def test_ascii_ids_never_go_through_python_one_by_one(
    validated: Validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("an ASCII id went through the scalar specification")

    monkeypatch.setattr(identity, "canonical", refuse)
    monkeypatch.setattr(identity, "invisible_characters", refuse)
    rows = "".join(f"ADJ-{i:05d},acct_1A,1,usd\n" for i in range(2000))
    assert validated(f"{HEADER}\n{rows}").ok


@pytest.mark.parametrize("tables_from", [0, 10**9])
def test_an_account_id_is_judged_alike_by_either_check(
    validated: Validate, monkeypatch: pytest.MonkeyPatch, tables_from: int
) -> None:
    """A column under ALNUM_BY_TABLES_FROM rows is checked by a regular expression, a longer
    one by Arrow's ascii_is_alnum: the same accounts must be refused either way."""
    from ledgerrun.ingest import accounts

    monkeypatch.setattr(accounts, "ALNUM_BY_TABLES_FROM", tables_from)
    ids = ["acct_1A", "acct_", "acct_1A-2", "acct_1Aé", "acct_1 A", "ACCT_1A", "acc_1A",
                "acct_1A\u200b", "acct_\u0661", "acct_ab12CD"]  # fmt: skip
    rows = "".join(f'A{i},"{a}",1,usd\n' for i, a in enumerate(ids))
    v = validated(f"{HEADER}\n{rows}")
    refused = {row for row, column, code in found(v) if column == "account"}
    assert refused == {3, 4, 5, 6, 7, 8, 9, 10}  # all but the first and last (rows 2 and 11)


# --- direction and method ----------------------------------------------------------------------


def test_direction_any_case_stored_lower_the_job_default_and_bad_values(
    validated: Validate,
) -> None:
    text = (
        f"{HEADER},direction\nA,acct_1A,1,usd,CREDIT\nB,acct_1A,1,usd,\n"
        "C,acct_1A,1,usd,Debit\nD,acct_1A,1,usd,refund\n"
    )
    v = validated(text, job='direction = "credit"')
    assert v.direction.to_pylist() == ["credit", "credit", "debit", "refund"]
    assert found(v) == [(5, "direction", "bad_direction")]
    assert "'debit' or 'credit'" in v.problems[0].message


def test_direction_defaults_to_debit_without_a_column(validated: Validate) -> None:
    assert validated(f"{HEADER}\nA,acct_1A,1,usd\n").direction.to_pylist() == ["debit"]


def test_a_credit_has_no_method(validated: Validate) -> None:
    text = (
        f"{HEADER},direction,method\nA,acct_1A,1,usd,credit,\nB,acct_1A,1,usd,credit,charge\n"
        "C,acct_1A,1,usd,debit,\nD,acct_1A,1,usd,debit,CHARGE\n"
    )
    v = validated(text)
    assert found(v) == [(3, "method", "bad_method")]
    assert "credit has none" in v.problems[0].message
    assert v.method.to_pylist() == ["", "", "transfer", "charge"]


# --- limits ------------------------------------------------------------------------------------


def test_stripes_maximum_per_debit_in_usd_and_its_equivalent(validated: Validate) -> None:
    """100,000 USD "or equivalent": USD exactly, other currencies at a conservative ceiling
    (80,000.00 EUR, 10,000,000 JPY); a credit is not a debit; a currency Stripe offers no
    account debits in has no ceiling here (the job's max_amount is the guard)."""
    text = (
        f'{HEADER},direction\nA,acct_1A,"100,000.00",usd,\nB,acct_1A,100000.01,usd,\n'
        "C,acct_1A,100000.01,usd,credit\nD,acct_1A,80000.01,eur,\nE,acct_1A,80000.00,eur,\n"
        "F,acct_1A,20000000,jpy,\nG,acct_1A,10000000,jpy,\nH,acct_1A,999999.00,sgd,\n"
    )
    v = validated(text)
    assert found(v) == [(r, "amount", "over_stripe_maximum") for r in (3, 5, 7)]
    assert "100,000.00 USD" in v.problems[0].message
    assert "80,000.00 EUR" in v.problems[1].message
    assert "10,000,000 JPY" in v.problems[2].message


def test_the_jobs_maximum_per_row_holds_for_credits_too(validated: Validate) -> None:
    text = f"{HEADER},direction\nA,acct_1A,60,usd,credit\nB,acct_1A,40,usd,debit\n"
    v = validated(text, job='[limits]\nmax_amount = { usd = "50.00" }')
    assert found(v) == [(2, "amount", "over_max_amount")]
    assert "50.00" in v.problems[0].message


def test_the_total_is_held_per_currency_and_direction(validated: Validate) -> None:
    limit = '[limits]\nmax_total = { usd = "100.00" }'
    text = f"{HEADER},direction\nA,acct_1A,60,usd,debit\nB,acct_1A,60,usd,credit\n"
    assert validated(text, job=limit).ok  # 60 each way: neither is above 100
    v = validated(text + "C,acct_1A,50,usd,credit\n", job=limit)
    assert found(v) == [(1, "amount", "over_max_total")]
    assert "USD credits add up to 110.00" in v.problems[0].message


def test_a_total_that_would_wrap_an_int64_is_still_above_the_limit(validated: Validate) -> None:
    # sgd: no account debits in Singapore, so no Stripe ceiling to meet first
    rows = "".join(f'R{i},acct_1A,"9,999,999,999,999.99",sgd\n' for i in range(9224))
    v = validated(f"{HEADER}\n{rows}", job='[limits]\nmax_total = { sgd = "1000.00" }')
    assert found(v) == [(1, "amount", "over_max_total")]
    assert v.problems[0].value == "92239999999999907.76"
    assert pc.sum(v.amount_minor).as_py() < 0  # what an int64 sum would have said


def test_the_total_sits_on_the_header_row_below_a_title(validated: Validate) -> None:
    text = f"November\n\n{HEADER}\nA,acct_1A,60,usd\nB,acct_1A,60,usd\n"
    v = validated(text, job='[limits]\nmax_total = { usd = "100.00" }')
    assert found(v) == [(3, "amount", "over_max_total")]
    assert blocking_problems(v) == []  # a total over its limit can be run around (skip)


# --- messages ------------------------------------------------------------------------------


def test_a_three_decimal_currency_says_the_third_decimal_must_be_zero(validated: Validate) -> None:
    v = validated(f"{HEADER}\nA,acct_1A,1.235,KWD\nB,acct_1A,1.23,kwd\n")
    (problem,) = v.problems
    assert (problem.row, problem.code) == (2, "too_many_decimals")
    assert "third decimal must be 0" in problem.message and "KWD" in problem.message
    assert v.amount_minor.to_pylist() == [None, 1230]


def test_an_amount_too_large_says_the_most_allowed(validated: Validate) -> None:
    v = validated(f'{HEADER}\nA,acct_1A,"10,000,000,000,000.00",usd\nB,acct_1A,1e3,usd\n')
    assert [p.code for p in v.problems] == ["bad_amount", "bad_amount"]
    assert "9,999,999,999,999.99 USD" in v.problems[0].message
    assert "not a number ledgerrun can read" in v.problems[1].message
    assert "no exponent" in v.problems[1].message


def test_a_megabyte_cell_is_never_repeated_whole(validated: Validate) -> None:
    huge = "9" * (1 << 20)
    v = validated(f"{HEADER},description\nA,acct_1A,{huge},usd,{'d' * (1 << 20)}\n")
    assert {p.code for p in v.problems} == {"bad_amount", "description_too_long"}
    for problem in v.problems:
        assert len(problem.value) <= 80 and len(problem.message) < 400


def test_control_characters_in_values_are_escaped_in_problems(validated: Validate) -> None:
    v = validated(f'{HEADER}\nA,"acct_1\nA\x00",1,usd\n')
    (problem,) = v.problems
    assert problem.value == "acct_1\\nA\\x00"
    assert problem.value in problem.message


# --- files that are not there --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_wrong_path_says_so_and_does_not_advise_exporting_again(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "ledger.csv"
    if kind == "folder":
        path.mkdir()
    (problem,) = check(job_for_ledger(path, RUN_DATE)).problems
    assert problem.code == "unreadable_file"
    if kind == "missing":
        assert problem.message == f"ledger file not found: {path}"
    else:
        assert "is a folder" in problem.message
    assert problem.fix != FIXES["unreadable_file"]
    assert "export" not in problem.fix.lower()


# --- what later stages rely on -----------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["adjustment_id,account,currency", "account,amount,currency", "adjustment_id,amount,currency"],
)
def test_a_missing_column_leaves_no_row_valid_and_the_plan_sums_safely(
    validated: Validate, header: str
) -> None:
    cells = {"adjustment_id": "A", "account": "acct_1A", "amount": "1", "currency": "usd"}
    row = ",".join(cells[name] for name in header.split(","))
    v = validated(f"{header}\n{row}\n{row.replace('A', 'B', 1)}\n")
    assert [p.code for p in v.problems] == ["missing_column"]
    assert v.valid.to_pylist() == [False, False]
    plan = plan_of(v)
    assert plan.groups == [] and plan.totals == {}


def test_blocking_problems_are_those_on_the_header_row(validated: Validate) -> None:
    v = validated(f"Title\n{HEADER},metadata.ledgerrun_x\nA,acct_1A,1,usd,v\nB,acct_1A,-1,usd,v\n")
    assert found(v) == [
        (2, "metadata.ledgerrun_x", "bad_metadata"),
        (4, "amount", "non_positive_amount"),
    ]
    assert [(p.row, p.code) for p in blocking_problems(v)] == [(2, "bad_metadata")]


def test_flagged_returns_a_new_validation_and_leaves_this_one_alone(validated: Validate) -> None:
    v = validated(f"{HEADER}\nA,acct_1A,1,usd\nB,acct_1B,-1,usd\nC,acct_1C,1,usd\n")
    before = (list(v.problems), v.valid.to_pylist())
    mask = pa.array([True, False, False])
    flagged = v.flagged(mask, "account", "account_not_found", v.account, lambda s, i: f"no {s}")
    assert (v.problems, v.valid.to_pylist()) == before
    assert [(p.row, p.code) for p in flagged.problems] == [
        (2, "account_not_found"),
        (3, "non_positive_amount"),
    ]
    assert flagged.problems[0].message == "no acct_1A"
    assert flagged.valid.to_pylist() == [False, False, True]
    same = v.flagged(
        pa.array([False] * 3), "account", "account_not_found", v.account, lambda s, i: s
    )
    assert same.problems == v.problems and same is not v
    copy = dataclasses.replace(v)
    assert copy.flag(mask, "account", "account_not_found", v.account, lambda s, i: s) == 1


def test_flag_still_adds_in_place(validated: Validate) -> None:
    v = validated(f"{HEADER}\nA,acct_1A,1,usd\n")
    assert v.flag(pa.array([True]), "account", "bad_account", v.account, lambda s, i: "x") == 1
    assert found(v) == [(2, "account", "bad_account")] and v.valid.to_pylist() == [False]


# --- cells the reader flagged ----------------------------------------------------------------


def test_error_cells_and_uncalculated_formulas_make_their_rows_invalid(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append([*HEADER.split(","), "note"])
    ws.append(["A", "acct_1A", "#N/A", "usd", "x"])
    ws.append(["B", "acct_1A", 2, "usd", "#REF!"])
    ws.append(["C", "acct_1A", "=1+1", "usd", "x"])
    ws.append(["D", "acct_1A", 4, "usd", "x"])
    path = tmp_path / "l.xlsx"
    book.save(path)
    v = check(job_for_ledger(path, RUN_DATE))
    assert found(v) == [
        (2, "amount", "bad_value"),  # only the cell's error: not also bad_amount
        (3, "note", "bad_value"),
        (4, "amount", "formula_not_calculated"),
    ]
    assert v.valid.to_pylist() == [False, False, False, True]
    assert blocking_problems(v) == []


def test_no_header_in_the_first_rows_gives_missing_columns_not_a_problem_per_row(
    validated: Validate,
) -> None:
    rows = "".join(f"A{i},acct_1A,1.00,usd\n" for i in range(120))
    v = validated(f"Adjustments for November\n{rows}")
    assert [(p.row, p.code) for p in v.problems] == [(1, "missing_column")] * 4
    assert not any(v.valid.to_pylist())


def test_a_debit_by_charge_below_stripes_minimum_charge_is_refused(validated: Validate) -> None:
    """A debit by charge is a charge on the platform: Stripe's minimum (0.50 USD, 0.30 GBP, 50
    JPY) holds for it; a debit by transfer or a credit of the same amount is fine."""
    text = (
        f"{HEADER},direction,method\nA,acct_1A,0.49,usd,,charge\nB,acct_1A,0.50,usd,,charge\n"
        "C,acct_1A,0.49,usd,,transfer\nD,acct_1A,0.49,usd,credit,\nE,acct_1A,0.29,gbp,,charge\n"
        "F,acct_1A,49,jpy,,charge\n"
    )
    v = validated(text)
    assert found(v) == [(r, "amount", "under_charge_minimum") for r in (2, 6, 7)]
    assert "below Stripe's minimum for a charge, 0.50 USD" in v.problems[0].message
    assert "0.30 GBP" in v.problems[1].message and "50 JPY" in v.problems[2].message
