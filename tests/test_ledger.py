"""Reading ledgers: every value as text, the same result from every format."""

from __future__ import annotations

import decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ledgerrun.errors import LedgerFileError
from ledgerrun.ingest.read import read_ledger
from ledgerrun.ingest.validate import check
from ledgerrun.jobfile import load_target
from tests.helpers.constants import RUN_DATE, SAMPLES


def rows(path: Path, **kw) -> list[dict[str, str]]:
    got: list[dict[str, str]] = read_ledger(path, **kw).table.to_pylist()
    return got


def test_bom_crlf_and_surrounding_whitespace(write) -> None:
    path = write(
        "l.csv",
        b"\xef\xbb\xbfadjustment_id , Account,amount,currency\r\n"
        b"  007 ,acct_1A ,\t15.00 , USD\r\n"
        b'008,acct_1B,"\xc2\xa01,500.00\xc2\xa0",usd\r\n',
    )
    ledger = read_ledger(path)
    assert ledger.table.column_names == ["adjustment_id", "account", "amount", "currency"]
    assert ledger.table.to_pylist() == [
        {"adjustment_id": "007", "account": "acct_1A", "amount": "15.00", "currency": "USD"},
        {"adjustment_id": "008", "account": "acct_1B", "amount": "1,500.00", "currency": "usd"},
    ]
    assert ledger.rows.to_pylist() == [2, 3]


def test_numeric_looking_columns_stay_text(write) -> None:
    path = write("l.csv", "adjustment_id,amount_minor,amount\n000123,0100,15.300000000000001\n")
    (row,) = rows(path)
    assert row == {
        "adjustment_id": "000123",
        "amount_minor": "0100",
        "amount": "15.300000000000001",
    }


def test_quoted_fields_may_hold_commas_quotes_and_newlines(write) -> None:
    path = write(
        "l.csv",
        'adjustment_id,description\n1,"line one\nline two"\n2,"says ""hi"", twice"\n3,plain\n',
    )
    ledger = read_ledger(path)
    assert ledger.column("description").to_pylist() == [
        "line one\nline two",
        'says "hi", twice',
        "plain",
    ]
    assert ledger.rows.to_pylist() == [2, 3, 4]


def test_blank_rows_are_dropped_but_keep_their_numbers(write) -> None:
    path = write("l.csv", "adjustment_id,amount,note\n1,5,\n,,\n\n4,6,x\n , ,\n")
    ledger = read_ledger(path)
    assert ledger.column("adjustment_id").to_pylist() == ["1", "4"]
    assert ledger.rows.to_pylist() == [2, 5]


def test_extra_columns_are_kept_verbatim_and_headers_mapped(write) -> None:
    path = write(
        "l.csv",
        "Ref,Connected account,AMOUNT,Currency, Booked by ,metadata.Invoice\n"
        "R1,acct_1A,5.00,usd,  amara ,INV-1\n",
    )
    ledger = read_ledger(path, columns={"adjustment_id": "Ref", "account": "connected account"})
    assert ledger.table.column_names == [
        "adjustment_id",
        "account",
        "amount",
        "currency",
        "metadata.Invoice",
    ]
    assert ledger.extras.to_pylist() == [{"Booked by": "  amara "}]
    assert ledger.headers["account"] == "Connected account"
    assert ledger.unmapped == {}


def test_a_mapping_to_an_absent_header_is_reported(write) -> None:
    path = write("l.csv", "adjustment_id,account,amount,currency\n1,acct_1A,5,usd\n")
    ledger = read_ledger(path, columns={"account": "Connected account"})
    assert ledger.unmapped == {"account": "Connected account"}
    # the literal 'account' column is not taken when the job maps account elsewhere
    assert "account" not in ledger.table.column_names
    assert "account" in ledger.extras.column_names


def test_duplicate_headers_are_refused(write) -> None:
    with pytest.raises(LedgerFileError, match="appears twice"):
        read_ledger(write("l.csv", "amount,Amount\n1,2\n"))


def test_ragged_rows_are_problems_with_their_row_numbers(write) -> None:
    path = write(
        "l.csv",
        "adjustment_id,account,amount,currency\n1,acct_1A,1,usd\n3,4,5,6,7\n"
        '"x\ny",acct_1A,1,usd\n7\n8,acct_1A,1,usd\n',
    )
    ledger = read_ledger(path)
    assert [(p.row, p.code) for p in ledger.read_problems] == [
        (3, "unreadable_file"),
        (5, "unreadable_file"),
    ]
    assert ledger.rows.to_pylist() == [2, 4, 6]
    assert ledger.column("adjustment_id").to_pylist() == ["1", "x\ny", "8"]


def test_rows_below_a_header_lacking_required_columns_are_not_problems_each(write) -> None:
    # The header lacks required columns: that is the one problem (missing_column, found by
    # validation), not every row that does not fit it.
    ledger = read_ledger(write("l.csv", 'a,b\n1,2\n3,4,5\n"x\ny",6\n7\n8,9\n'))
    assert ledger.read_problems == []
    assert ledger.extras.column("a").to_pylist() == ["1", "x\ny", "8"]


@pytest.mark.parametrize(
    ("name", "content", "code", "needle"),
    [
        ("l.csv", b"", "unreadable_file", "empty (0 bytes)"),
        ("l.csv", b"\n\n", "unreadable_file", "no header row"),
        ("l.csv", b"a,b\n1,2\n3,caf\xe9\n", "unreadable_file", "row 3 is not UTF-8"),
        ("l.xlsx", b"not a zip", "unreadable_file", "cannot be read as an .xlsx"),
        ("l.parquet", b"PAR1 nope PAR1", "unreadable_file", "cannot be read as Parquet"),
        ("l.ods", b"x", "unsupported_format", "must be .csv, .parquet or .xlsx"),
        ("l", b"x", "unsupported_format", "no extension"),
    ],
)
def test_unreadable_files(write, name: str, content: bytes, code: str, needle: str) -> None:
    with pytest.raises(LedgerFileError) as info:
        read_ledger(write(name, content))
    assert info.value.code == code
    assert needle in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LedgerFileError, match="not found"):
        read_ledger(tmp_path / "none.csv")


def test_xlsx_cells_read_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["adjustment_id", "amount", "amount_minor", "flag", "when", "account", "currency"])
    ws.append(["0042", 15.3, 1500, True, None, "acct_1A", "usd"])
    ws.append([None, None, None, None, None])  # a blank row, skipped but counted
    ws.append([43, 1234.56, 2.5, False, "x", "acct_1A", "usd"])
    ws.append([44, 15.0, 7, None, None, "acct_1A", "usd", "stray"])
    book.save(tmp_path / "l.xlsx")
    ledger = read_ledger(tmp_path / "l.xlsx")
    assert ledger.table.select(["adjustment_id", "amount", "amount_minor"]).to_pylist() == [
        {"adjustment_id": "0042", "amount": "15.3", "amount_minor": "1500"},
        {"adjustment_id": "43", "amount": "1234.56", "amount_minor": "2.5"},
    ]
    assert ledger.extras.column("flag").to_pylist() == ["TRUE", "FALSE"]
    assert ledger.rows.to_pylist() == [2, 4]
    assert [(p.row, p.code) for p in ledger.read_problems] == [(5, "unreadable_file")]


def test_xlsx_sheet_by_name(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["other"])
    ws = book.create_sheet("Adjustments")
    ws.append(["adjustment_id"])
    ws.append(["A1"])
    book.save(tmp_path / "l.xlsx")
    assert rows(tmp_path / "l.xlsx", sheet="Adjustments") == [{"adjustment_id": "A1"}]
    with pytest.raises(LedgerFileError, match="no sheet named 'Nope'"):
        read_ledger(tmp_path / "l.xlsx", sheet="Nope")


def test_parquet_columns_of_every_kind_become_exact_text(tmp_path: Path) -> None:
    table = pa.table(
        {
            "adjustment_id": pa.array(["001", "002"]).dictionary_encode(),
            "amount": pa.array([decimal.Decimal("15.30"), None], pa.decimal128(10, 2)),
            "amount_minor": pa.array([1500, 7], pa.int64()),
            "f64": pa.array([15.3, 0.1 + 0.2], pa.float64()),
            "f32": pa.array([15.3, 2.5], pa.float32()),
            "nothing": pa.nulls(2),
        }
    )
    pq.write_table(table, tmp_path / "l.parquet")
    ledger = read_ledger(tmp_path / "l.parquet")
    assert ledger.table.to_pylist() == [
        {"adjustment_id": "001", "amount": "15.30", "amount_minor": "1500"},
        {"adjustment_id": "002", "amount": "", "amount_minor": "7"},
    ]
    assert ledger.extras.to_pylist() == [
        {"f64": "15.3", "f32": "15.3", "nothing": ""},
        {"f64": "0.30000000000000004", "f32": "2.5", "nothing": ""},
    ]


def test_the_three_sample_formats_give_identical_results() -> None:
    results = []
    for suffix in ("csv", "parquet", "xlsx"):
        job = load_target(SAMPLES / f"adjustments.{suffix}", RUN_DATE, job_name="same")
        v = check(job)
        assert v.ok, v.problems[:3]
        results.append(
            {
                "rows": v.ledger.rows.to_pylist(),
                "ids": v.adjustment_id.to_pylist(),
                "accounts": v.account.to_pylist(),
                "currency": v.currency.to_pylist(),
                "minor": v.amount_minor.to_pylist(),
                "method": v.method.to_pylist(),
                "metadata": {k: a.to_pylist() for k, a in v.metadata.items()},
            }
        )
    assert results[0] == results[1] == results[2]
    assert results[0]["ids"][0] == "0000001"  # leading zeros kept in every format
    assert len(set(results[0]["accounts"])) >= 20
    assert set(results[0]["currency"]) == {"usd"}  # US accounts: USD only
