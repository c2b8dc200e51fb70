"""Validation: one test per problem code, all problems in one pass, spreadsheet row numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerrun.ingest.validate import Validation, check
from ledgerrun.jobfile import load_target
from tests.helpers.constants import JOBS, RUN_DATE, SAMPLES

HEADER = "adjustment_id,account,amount,currency"


def validate_text(write, text: str, name: str = "l.csv", job_text: str | None = None) -> Validation:
    path = write(name, text)
    if job_text is None:
        return check(load_target(path, RUN_DATE))
    job_path = write("j.toml", f'[job]\nname = "t"\nledger = "{path.name}"\n' + job_text)
    return check(load_target(job_path, RUN_DATE))


def codes(v: Validation) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.code) for p in v.problems]


def test_bad_adjustments_sample_shows_every_row_level_code() -> None:
    v = check(load_target(JOBS / "bad_adjustments.toml", RUN_DATE))
    assert codes(v) == [
        (1, "amount", "over_max_total"),
        (1, "metadata.ledgerrun_batch", "bad_metadata"),
        (3, "adjustment_id", "empty_value"),
        (4, "adjustment_id", "duplicate_adjustment_id"),
        (5, "adjustment_id", "duplicate_adjustment_id"),
        (6, "adjustment_id", "adjustment_id_too_long"),
        (7, "account", "bad_account"),
        (8, "account", "empty_value"),
        (9, "amount", "bad_amount"),
        (10, "amount", "bad_amount"),
        (11, "amount", "bad_amount"),
        (12, "amount", "non_positive_amount"),
        (13, "amount", "non_positive_amount"),
        (14, "amount", "too_many_decimals"),
        (15, "amount", "too_many_decimals"),
        (16, "amount_minor", "too_many_decimals"),
        (17, "amount", "amount_mismatch"),
        (18, "currency", "unknown_currency"),
        (19, "currency", "empty_value"),
        (20, "method", "bad_method"),
        (21, "metadata.invoice", "bad_metadata"),
        (22, "description", "description_too_long"),
        (23, "amount", "over_max_amount"),
        (24, "amount", "empty_value"),
    ]
    assert v.valid.to_pylist() == [True] + [False] * 22
    for problem in v.problems:
        assert problem.message and len(problem.value) <= 80


@pytest.mark.parametrize(
    ("name", "code", "row"),
    [
        ("empty.csv", "unreadable_file", 1),
        ("no_header.csv", "unreadable_file", 1),
        ("not_utf8.csv", "unreadable_file", 4),
        ("ragged.csv", "unreadable_file", 3),
        ("corrupt.xlsx", "unreadable_file", 1),
        ("corrupt.parquet", "unreadable_file", 1),
        ("adjustments.txt", "unsupported_format", 1),
        ("missing_column.csv", "missing_column", 1),
        ("over_stripe_maximum.csv", "over_stripe_maximum", 2),
        ("under_charge_minimum.csv", "under_charge_minimum", 2),
        ("control_total.csv", "control_total_mismatch", 6),
    ],
)
def test_broken_samples_show_every_file_level_code(name: str, code: str, row: int) -> None:
    v = check(load_target(SAMPLES / "broken" / name, RUN_DATE))
    assert [(p.row, p.code) for p in v.problems] == [(row, code)]
    assert not v.ok


def test_every_problem_is_reported_in_one_pass(write) -> None:
    v = validate_text(write, f"{HEADER},method\n,acct_x!,1.234,usd,wire\n2,acct_1A,-1,zzz,\n")
    assert codes(v) == [
        (2, "adjustment_id", "empty_value"),
        (2, "account", "bad_account"),
        (2, "amount", "too_many_decimals"),
        (2, "method", "bad_method"),
        (3, "amount", "non_positive_amount"),
        (3, "currency", "unknown_currency"),
    ]


def test_row_numbers_count_the_header_as_row_one_in_every_format(write) -> None:
    v = validate_text(write, f"{HEADER}\nA,acct_1A,1.00,usd\nB,acct_1A,x,usd\n")
    assert codes(v) == [(3, "amount", "bad_amount")]


@pytest.mark.parametrize(
    ("header", "missing", "needle"),
    [
        ("account,amount,currency", "adjustment_id", "no 'adjustment_id' column"),
        ("adjustment_id,amount,currency", "account", "no 'account' column"),
        ("adjustment_id,account,amount", "currency", "no 'currency' column"),
        ("adjustment_id,account,currency", "amount", "neither an 'amount' nor"),
    ],
)
def test_missing_column(write, header: str, missing: str, needle: str) -> None:
    v = validate_text(write, header + "\n")
    assert [(p.row, p.column, p.code) for p in v.problems] == [(1, missing, "missing_column")]
    assert needle in v.problems[0].message


def test_missing_mapped_column_names_the_mapped_header(write) -> None:
    v = validate_text(write, f"{HEADER}\n", job_text='[columns]\naccount = "Connected account"\n')
    (p,) = v.problems
    assert (p.code, p.column, p.value) == ("missing_column", "account", "Connected account")
    assert "maps account to the header 'Connected account'" in p.message


def test_amount_minor_alone_is_enough(write) -> None:
    v = validate_text(write, "adjustment_id,account,amount_minor,currency\nA,acct_1A,1500,usd\n")
    assert v.ok and v.amount_minor.to_pylist() == [1500]


def test_amount_and_amount_minor_must_agree_and_either_may_be_blank(write) -> None:
    text = (
        "adjustment_id,account,amount,amount_minor,currency\n"
        "A,acct_1A,15.00,1500,usd\nB,acct_1A,,700,usd\nC,acct_1A,8,,usd\nD,acct_1A,1,2,jpy\n"
    )
    v = validate_text(write, text)
    assert codes(v) == [(5, "amount", "amount_mismatch")]
    assert v.amount_minor.to_pylist()[:3] == [1500, 700, 800]


def test_duplicates_are_reported_on_every_occurrence_with_the_other_rows(write) -> None:
    rows = "".join(f"{i},acct_1A,1,usd\n" for i in ["X", "Y", "X", "Z", "X"])
    v = validate_text(write, f"{HEADER}\n{rows}")
    dups = [p for p in v.problems if p.code == "duplicate_adjustment_id"]
    assert [p.row for p in dups] == [2, 4, 6]
    assert dups[0].message == "The id 'X' is also on rows 4, 6."


def test_ids_differing_only_in_leading_zeros_are_one_adjustment(write) -> None:
    # v2: ids are compared in canonical form (a spreadsheet re-save drops leading zeros), so these
    # three name one adjustment; the ids are still kept as written for the outputs.
    v = validate_text(write, f"{HEADER}\n007,acct_1A,1,usd\n7,acct_1A,1,usd\n0007,acct_1A,1,usd\n")
    assert codes(v) == [(r, "adjustment_id", "duplicate_adjustment_id") for r in (2, 3, 4)]
    assert v.adjustment_id.to_pylist() == ["007", "7", "0007"]
    assert v.adjustment_key.to_pylist() == ["7", "7", "7"]


def test_adjustment_id_length_limit_is_200(write) -> None:
    v = validate_text(write, f"{HEADER}\n{'a' * 200},acct_1A,1,usd\n{'b' * 201},acct_1A,1,usd\n")
    assert codes(v) == [(3, "adjustment_id", "adjustment_id_too_long")]


@pytest.mark.parametrize(
    "account", ["acct_", "acct-1A", "ACCT_1A", "acct_1 A", "acct_1Ä", "1A", " "]
)
def test_bad_account(write, account: str) -> None:
    v = validate_text(write, f'{HEADER}\nA,"{account}",1,usd\n')
    expected = "bad_account" if account.strip() else "empty_value"
    assert [p.code for p in v.problems] == [expected]


def test_the_platform_itself_is_a_bad_account(write) -> None:
    path = write("l.csv", f"{HEADER}\nA,acct_1Plat,1,usd\nB,acct_1Conn,1,usd\n")
    v = check(load_target(path, RUN_DATE), platform_id="acct_1Plat")
    assert codes(v) == [(2, "account", "bad_account")]
    assert "platform's own account" in v.problems[0].message


def test_currency_any_case_stored_lower(write) -> None:
    v = validate_text(write, f"{HEADER}\nA,acct_1A,1,UsD\nB,acct_1A,1,us\n")
    assert codes(v) == [(3, "currency", "unknown_currency")]
    assert v.currency.to_pylist() == ["usd", "us"]


@pytest.mark.parametrize(
    ("amount", "currency", "code", "minor"),
    [
        ("1,500.00", "usd", None, 150000),
        ("15.5", "usd", None, 1550),
        ("1200", "jpy", None, 1200),
        ("12.34", "bhd", None, 12340),
        ("12.345", "bhd", "too_many_decimals", None),
        ("15.001", "usd", "too_many_decimals", None),
        ("1,50", "usd", "bad_amount", None),
        ("1.5e3", "usd", "bad_amount", None),
        ("$5", "usd", None, 500),  # the row's own currency symbol
        ("€5", "usd", "bad_amount", None),  # another currency's
        ("0", "usd", "non_positive_amount", None),
        ("-3.00", "usd", "non_positive_amount", None),
    ],
)
def test_amounts(write, amount: str, currency: str, code: str | None, minor: int | None) -> None:
    v = validate_text(write, f'{HEADER}\nA,acct_1A,"{amount}",{currency}\n')
    assert [p.code for p in v.problems] == ([code] if code else [])
    assert v.amount_minor.to_pylist() == [minor]


def test_method_defaults_from_the_job_and_is_checked(write) -> None:
    text = f"{HEADER},method\nA,acct_1A,1,usd,\nB,acct_1A,1,usd,CHARGE\nC,acct_1A,1,usd,ach\n"
    v = validate_text(write, text, job_text='method = "charge"\n')
    assert codes(v) == [(4, "method", "bad_method")]
    assert v.method.to_pylist() == ["charge", "charge", "ach"]


def test_description_limit(write) -> None:
    """Stripe's 5,000 characters on a transfer (charges allow more; a row may go either way)."""
    v = validate_text(
        write, f"{HEADER},description\nA,acct_1A,1,usd,{'d' * 5000}\nB,acct_1A,1,usd,{'é' * 5001}\n"
    )
    assert codes(v) == [(3, "description", "description_too_long")]


@pytest.mark.parametrize(
    ("header", "needle"),
    [
        ("metadata.", "needs a key"),
        ("metadata." + "k" * 41, "41 characters"),
        ("metadata.a[b]", "[ or ]"),
        ("metadata.LEDGERRUN_job", "ledgerrun's own"),
    ],
)
def test_bad_metadata_headers(write, header: str, needle: str) -> None:
    v = validate_text(write, f"{HEADER},{header}\nA,acct_1A,1,usd,v\n")
    (p,) = v.problems
    assert (p.row, p.code) == (1, "bad_metadata") and needle in p.message


def test_metadata_values_and_key_count(write) -> None:
    keys = ",".join(f"metadata.k{i}" for i in range(49))
    v = validate_text(write, f"{HEADER},{keys}\nA,acct_1A,1,usd{',v' * 49}\n")
    assert [(p.row, p.code) for p in v.problems] == [(1, "bad_metadata")]
    v = validate_text(
        write, f"{HEADER},metadata.note\nA,acct_1A,1,usd,{'n' * 500}\nB,acct_1A,1,usd,{'n' * 501}\n"
    )
    assert codes(v) == [(3, "metadata.note", "bad_metadata")]
    assert v.metadata["note"].to_pylist()[0] == "n" * 500


def test_limits_per_row_and_per_ledger(write) -> None:
    text = (
        f"{HEADER}\nA,acct_1A,60.00,usd\nB,acct_1A,50.01,usd\nC,acct_1B,50.00,usd\n"
        "D,acct_1B,9,eur\n"
    )
    job = '[limits]\nmax_amount = { usd = "50.00" }\nmax_total = { usd = "100.00", eur = "9" }\n'
    v = validate_text(write, text, job_text=job)
    assert codes(v) == [
        (2, "amount", "over_max_amount"),
        (3, "amount", "over_max_amount"),
    ]
    # the total counts only rows that are otherwise valid: 50.00 here, under 100.00
    job = '[limits]\nmax_total = { usd = "100.00" }\n'
    v = validate_text(write, text, job_text=job)
    assert codes(v) == [(1, "amount", "over_max_total")]
    assert v.problems[0].value == "160.01"
    assert v.valid.to_pylist() == [True] * 4


def test_header_only_ledger_is_valid_and_empty(write) -> None:
    v = validate_text(write, f"{HEADER}\n")
    assert v.ok and v.rows == 0


def test_long_values_are_cut_to_80_characters(write) -> None:
    v = validate_text(write, f"{HEADER}\nA,acct_{'!' * 200},1,usd\n")
    assert len(v.problems[0].value) == 80


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_sample_ledgers_are_valid(fmt: str, tmp_path: Path) -> None:
    v = check(load_target(SAMPLES / f"adjustments.{fmt}", RUN_DATE))
    assert v.ok and v.rows == 240


def test_finance_export_is_valid_through_its_mapping() -> None:
    v = check(load_target(JOBS / "finance_export.toml", RUN_DATE))
    assert v.ok, v.problems
    assert v.rows == 30
    assert set(v.metadata) == {"invoice"}
    assert v.ledger.extras.column_names == ["Booked on", "Approved by"]  # v2: a date column too
    assert set(v.method.to_pylist()) == {"charge"}


def test_offline_validation_never_opens_the_journal(write) -> None:
    """Offline, the file alone is checked: a journal is not opened (a million-row ledger would
    otherwise be a million look-ups in it), whatever it holds; ``plan --offline`` reads it."""
    from ledgerrun.errors import LedgerrunError
    from ledgerrun.send.readonly import plan_job, validate_job

    write("journal.sqlite", "this is not a journal\n" * 100)
    ledger = write("l.csv", f"{HEADER}\nADJ-1,acct_1Abc,1.00,usd\n")
    text = f'[job]\nname = "t"\nledger = "{ledger.name}"\njournal = "journal.sqlite"\n'
    job = write("j.toml", text)
    checked = validate_job(load_target(job, RUN_DATE), offline=True)
    assert checked.ok and checked.earlier == {}
    with pytest.raises(LedgerrunError):
        plan_job(load_target(job, RUN_DATE), offline=True)
