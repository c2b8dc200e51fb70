"""xlsx cells typed as dates, times, logical values or numbers under a format (issue 24).

A money cell is taken only when what the spreadsheet shows is the amount in the row's currency;
an id is what the spreadsheet shows, or refused; a date in a consent registry is the date (and
time) it shows. Never a serial number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from ledgerrun.errors import ConfigError
from ledgerrun.ingest import datefmt, numfmt
from ledgerrun.ingest.validate import Validation, check
from ledgerrun.jobfile import load_target
from ledgerrun.send.consent import load_registry
from tests.helpers.cli import cli
from tests.helpers.constants import RUN_DATE
from tests.ingest.conftest import found

HEADER = ["adjustment_id", "account", "amount", "currency"]


def book(
    tmp_path: Path, rows: Sequence[Sequence[object]], formats: dict[str, str], name: str = "l.xlsx"
) -> Path:
    """A workbook of ``rows``; ``formats`` maps a cell (``"C2"``) to its number format."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for ref, code in formats.items():
        sheet[ref].number_format = code
    path = tmp_path / name
    workbook.save(path)
    return path


def validated(path: Path) -> Validation:
    return check(load_target(path, RUN_DATE))


def one_amount(tmp_path: Path, value: object, fmt: str, currency: str = "usd") -> Validation:
    return validated(book(tmp_path, [HEADER, ["A-1", "acct_1A", value, currency]], {"C2": fmt}))


# --- money cells: never a serial number, never an amount the cell does not show ---------------


@pytest.mark.parametrize(
    ("value", "fmt", "value_shown", "says"),
    [
        (dt.date(2026, 1, 5), "yyyy-mm-dd", "2026-01-05", "shows a date (2026-01-05)"),
        (dt.date(2026, 1, 5), "m/d/yyyy", "2026-01-05", "serial number 46027"),
        (dt.date(2026, 1, 5), "mm-dd-yy", "2026-01-05", "shows a date"),
        (dt.datetime(2026, 1, 5, 14, 30), "m/d/yy h:mm", "2026-01-05 14:30", "date and time"),
        (dt.time(14, 30), "h:mm", "14:30", "shows a time (14:30)"),
        (dt.time(9, 0), "[h]:mm", "0.375", "shows a time"),
        (True, "General", "TRUE", "logical value TRUE"),
        (0.25, "0%", "25%", "a percentage (25%)"),
        (1234.5, "0.00E+00", "1.23E+03", "scientific notation (1.23E+03)"),
        (1.25, "# ?/?", "1.25", "a fraction"),
        (1234.56, "#,##0", "1,235", "shows 1,235 but holds 1234.56"),
        (1234.56, "0.0", "1234.6", "hides decimals"),
        (1234.56, "[$€-407] #,##0.00", "€ 1,234.56", "another currency (EUR)"),
        (1234.56, '#,##0.00 "kg"', "1,234.56 kg", "'kg', which is not USD's"),
        (1234.5, "[>100]0.00;0", "1234.5", "does not show the amount"),
        (1234.5, "#,##0,", "1234.5", "does not show the amount"),  # scaled by a thousand
    ],
)
def test_a_money_cell_that_shows_something_else_is_bad_amount(
    tmp_path: Path, value: object, fmt: str, value_shown: str, says: str
) -> None:
    v = one_amount(tmp_path, value, fmt)
    (problem,) = v.problems  # and nothing else about the cell
    assert (problem.row, problem.column, problem.code) == (2, "amount", "bad_amount")
    assert problem.value == value_shown and says in problem.message
    assert v.valid.to_pylist() == [False]


@pytest.mark.parametrize(
    ("value", "fmt", "currency", "minor"),
    [
        (1234.56, "General", "usd", 123456),
        (1234.56, "#,##0.00", "usd", 123456),
        (1234.5, "0.00", "usd", 123450),
        (12.3, "0.0", "usd", 1230),  # 12.30 held, 12.3 shown: the same amount
        (1500, "#,##0", "usd", 150000),
        (1234.56, '_("$"* #,##0.00_);_("$"* (#,##0.00);_("$"* "-"??_);_(@_)', "usd", 123456),
        (1234.56, '"$"#,##0.00_);[Red]("$"#,##0.00)', "usd", 123456),
        (1234.56, "[$€-407] #,##0.00", "eur", 123456),
        (1234.56, '#,##0.00 "EUR"', "EUR", 123456),
        (1234.56, '"USD "#,##0.00', "usd", 123456),
        (1200, "[$¥-411]#,##0", "jpy", 1200),
        (1234.5, "£#,##0.00", "gbp", 123450),
        (99.5, '"$"General', "usd", 9950),
    ],
)
def test_plain_accounting_and_own_currency_formats_are_fine(
    tmp_path: Path, value: object, fmt: str, currency: str, minor: int
) -> None:
    v = one_amount(tmp_path, value, fmt, currency)
    assert v.ok, v.problems
    assert v.amount_minor.to_pylist() == [minor]


def test_more_decimals_than_the_currency_has_is_still_too_many_decimals(tmp_path: Path) -> None:
    """12.345 shown as 12.35: the format hides a decimal USD does not have (SPEC section 2)."""
    v = one_amount(tmp_path, 12.345, "0.00")
    assert found(v) == [(2, "amount", "too_many_decimals")]


def test_a_symbol_shared_by_several_currencies_is_fine_for_each(tmp_path: Path) -> None:
    assert one_amount(tmp_path, 10, '"$"#,##0.00', "cad").ok
    eur = one_amount(tmp_path, 10, '"$"#,##0.00', "eur")
    assert found(eur) == [(2, "amount", "bad_amount")]
    assert "'$', which is not EUR's symbol or code" in eur.problems[0].message


def test_amount_minor_and_both_columns(tmp_path: Path) -> None:
    header = ["adjustment_id", "account", "amount", "amount_minor", "currency"]
    path = book(
        tmp_path,
        [
            header,
            ["A-1", "acct_1A", None, 1500, "usd"],
            ["A-2", "acct_1A", None, dt.date(2026, 1, 5), "usd"],
            ["A-3", "acct_1A", 15, 1500, "usd"],
            ["A-4", "acct_1A", dt.date(2026, 1, 5), 4602700, "usd"],
            ["A-5", "acct_1A", None, 0.5, "usd"],
        ],
        {"D2": "#,##0", "D3": "yyyy-mm-dd", "D4": "0.00", "C5": "yyyy-mm-dd", "D6": "0%"},
    )
    v = validated(path)
    assert found(v) == [
        (3, "amount_minor", "bad_amount"),
        (5, "amount", "bad_amount"),  # not also amount_mismatch: the cell is not an amount
        (6, "amount_minor", "bad_amount"),
    ]
    assert v.valid.to_pylist() == [True, False, True, False, False]


def test_minor_units_under_a_currency_format_show_a_hundred_times_the_amount(
    tmp_path: Path,
) -> None:
    header = ["adjustment_id", "account", "amount_minor", "currency"]
    path = book(
        tmp_path,
        [header, ["A-1", "acct_1A", 1500, "usd"], ["A-2", "acct_1A", 1500, "usd"]],
        {"C2": '"$"#,##0.00', "C3": "#,##0"},
    )
    v = validated(path)
    assert found(v) == [(2, "amount_minor", "bad_amount")]
    assert "$1,500.00" in v.problems[0].message and "minor units" in v.problems[0].message


def test_an_iso_date_cell_in_a_money_column(tmp_path: Path) -> None:
    """A cell of type ``d`` (an ISO date stored as text, as some programs write it)."""
    path = raw_sheet(
        tmp_path,
        '<row r="2"><c r="A2" t="inlineStr"><is><t>A-1</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t>acct_1A</t></is></c>'
        '<c r="C2" t="d"><v>2026-01-05T00:00:00</v></c>'
        '<c r="D2" t="inlineStr"><is><t>usd</t></is></c></row>',
    )
    (problem,) = validated(path).problems
    assert problem.code == "bad_amount" and "holds a date (2026-01-05)" in problem.message


def test_validate_and_plan_refuse_a_date_amount_on_the_command_line(tmp_path: Path) -> None:
    """The finding: 2026-01-05 in an amount cell became 46,027.00 USD, with no problem."""
    path = book(tmp_path, [HEADER, ["A-1", "acct_1A", dt.date(2026, 1, 5), "usd"]], {})
    for command in ("validate", "plan"):
        done = cli(command, "--offline", path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "bad_amount" in done.stdout and "46,027" not in done.stdout


# --- id cells: what the spreadsheet shows, or refused ------------------------------------------


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (dt.date(2026, 1, 5), "yyyy-mm-dd", "2026-01-05"),
        (dt.date(2026, 1, 5), "m/d/yyyy", "2026-01-05"),
        (dt.date(2026, 1, 5), "dd.mm.yyyy", "2026-01-05"),
        (dt.date(2026, 1, 5), "d mmmm yyyy", "2026-01-05"),
        (dt.datetime(2026, 1, 5, 9, 15, 30), "dd/mm/yyyy hh:mm:ss", "2026-01-05 09:15:30"),
        (dt.datetime(2026, 1, 5, 21, 15), "m/d/yyyy h:mm AM/PM", "2026-01-05 21:15"),
        (dt.date(2026, 1, 5), "mmm-yy", "2026-01"),
        (dt.time(9, 15), "hh:mm", "09:15"),
    ],
)
def test_a_date_in_an_id_column_is_the_date_it_shows(
    tmp_path: Path, value: object, fmt: str, text: str
) -> None:
    path = book(
        tmp_path,
        [[*HEADER, "metadata.booked", "note"], [value, "acct_1A", 10, "usd", value, value]],
        {"A2": fmt, "E2": fmt, "F2": fmt},
    )
    v = validated(path)
    assert v.ok, v.problems
    row = v.ledger.table.to_pylist()[0]
    assert row["adjustment_id"] == row["metadata.booked"] == text
    assert v.ledger.extras.column("note").to_pylist() == [text]


@pytest.mark.parametrize(
    ("value", "fmt", "shown_as"),
    [
        (dt.date(2026, 1, 5), "d-mmm", "a date (2026-01-05)"),  # no year: not writable as shown
        (dt.date(2026, 1, 5), "dddd", "a date (2026-01-05)"),  # a weekday
        (1.75, "[h]:mm", "a time 1.75"),
        (1.25, "# ?/?", "the number 1.25"),
    ],
)
def test_an_id_the_spreadsheet_shows_otherwise_is_refused(
    tmp_path: Path, value: object, fmt: str, shown_as: str
) -> None:
    path = book(
        tmp_path,
        [[*HEADER, "metadata.booked", "note"], [value, value, 10, "usd", value, value]],
        {"A2": fmt, "B2": fmt, "E2": fmt, "F2": fmt},
    )
    v = validated(path)
    assert found(v) == [
        (2, "adjustment_id", "bad_adjustment_id"),
        (2, "account", "bad_account"),
        (2, "metadata.booked", "bad_metadata"),
    ]  # the note moves no money and names nothing: kept as best shown
    problem = v.problems[0]
    assert shown_as in problem.message and fmt in problem.message
    assert "Text" in problem.fix


def test_date_formats_written_in_iso_form() -> None:
    assert numfmt.shown("46027", "m/d/yyyy") == "2026-01-05"
    assert numfmt.shown("46027.75", "yyyy-mm-dd hh:mm") == "2026-01-05 18:00"
    assert numfmt.shown("46027.99998", "yyyy-mm-dd hh:mm:ss") == "2026-01-05 23:59:58"
    assert numfmt.shown("46027.9999999", "yyyy-mm-dd hh:mm:ss") == "2026-01-06 00:00:00"
    assert numfmt.shown("59", "yyyy-mm-dd") == "1900-02-28"
    assert numfmt.shown("61", "yyyy-mm-dd") == "1900-03-01"
    assert numfmt.display("-1", "yyyy-mm-dd") == ("-1", False)  # Excel shows ####
    assert numfmt.display("3000000", "yyyy-mm-dd") == ("3000000", False)
    assert numfmt.display("46027", "d-mmm") == ("2026-01-05", False)
    assert datefmt.serial("2026-01-05T18:00:00") == Decimal("46027.75")
    assert datefmt.serial("1900-02-28") == 59 and datefmt.serial("nonsense") is None


# --- the consent registry: real Excel dates are the dates they show ----------------------------


@pytest.mark.parametrize(
    ("fmt", "granted", "expected"),
    [
        ("m/d/yyyy", dt.date(2026, 1, 5), dt.datetime(2026, 1, 5, tzinfo=dt.UTC)),
        ("dd/mm/yyyy", dt.date(2026, 1, 5), dt.datetime(2026, 1, 5, tzinfo=dt.UTC)),
        (
            "m/d/yyyy h:mm",
            dt.datetime(2026, 1, 5, 14, 30),
            dt.datetime(2026, 1, 5, 14, 30, tzinfo=dt.UTC),
        ),
        (
            "yyyy-mm-dd hh:mm:ss",
            dt.datetime(2026, 1, 5, 14, 30, 5),
            dt.datetime(2026, 1, 5, 14, 30, 5, tzinfo=dt.UTC),
        ),
    ],
)
def test_a_consent_registry_of_real_excel_dates_is_read_as_they_show(
    tmp_path: Path, fmt: str, granted: object, expected: dt.datetime
) -> None:
    path = book(
        tmp_path,
        [
            ["account", "reference", "granted_at", "revoked_at"],
            ["acct_1A", "MANDATE-A", granted, dt.datetime(2026, 12, 1, 9, 0)],
        ],
        {"C2": fmt, "D2": "m/d/yyyy h:mm"},
        "consents.xlsx",
    )
    (consent,) = load_registry(path)["acct_1A"]
    assert consent.granted_at == expected
    assert consent.revoked_at == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_a_consent_date_that_is_not_a_whole_date_is_still_refused(tmp_path: Path) -> None:
    path = book(
        tmp_path,
        [["account", "reference", "granted_at"], ["acct_1A", "MANDATE-A", dt.date(2026, 1, 5)]],
        {"C2": "mmm-yy"},
        "consents.xlsx",
    )
    with pytest.raises(ConfigError, match="row 2, column granted_at"):
        load_registry(path)


def test_a_consent_max_amount_typed_as_a_date_is_refused(tmp_path: Path) -> None:
    path = book(
        tmp_path,
        [
            ["account", "reference", "granted_at", "max_amount", "currency"],
            ["acct_1A", "MANDATE-A", dt.date(2026, 1, 5), dt.date(2026, 1, 5), "usd"],
        ],
        {"C2": "m/d/yyyy", "D2": "m/d/yyyy"},
        "consents.xlsx",
    )
    with pytest.raises(ConfigError, match="column max_amount: The cell shows a date"):
        load_registry(path)


def test_a_job_with_an_xlsx_registry_of_dates_validates(tmp_path: Path) -> None:
    """The finding: the whole run stopped on "write the date consent was given"."""
    registry = book(
        tmp_path,
        [["account", "reference", "granted_at"], ["acct_1A", "MANDATE-A", dt.date(2026, 1, 5)]],
        {"C2": "m/d/yyyy"},
        "consents.xlsx",
    )
    ledger = tmp_path / "l.csv"
    ledger.write_text("adjustment_id,account,amount,currency\nA-1,acct_1A,10.00,usd\n")
    job = tmp_path / "j.toml"
    job.write_text(
        f'[job]\nname = "t"\nledger = "l.csv"\n[consent]\nregistry = "{registry.name}"\n'
    )
    done = cli("validate", "--offline", job, "--date", RUN_DATE)
    assert done.returncode == 0, done.stdout + done.stderr
    late = cli("validate", "--offline", job, "--date", "2026-01-04")
    assert late.returncode == 2 and "no_consent" in late.stdout


# --- helpers -----------------------------------------------------------------------------------


def raw_sheet(tmp_path: Path, rows_xml: str) -> Path:
    """A workbook whose sheet holds the header and ``rows_xml`` as written (for cell types
    openpyxl never writes)."""
    from tests.ingest.test_read_xlsx import HEADER_XML, raw_book

    return raw_book(tmp_path, HEADER_XML + rows_xml)
