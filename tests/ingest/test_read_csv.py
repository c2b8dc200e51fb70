"""Reading CSV ledgers: the header found below title rows, row numbers as shown, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerrun.errors import LedgerFileError
from ledgerrun.ingest.read import read_ledger

HEADER = "adjustment_id,account,amount,currency"


def test_title_and_blank_rows_above_the_header_are_skipped(write) -> None:
    path = write(
        "l.csv",
        f"Adjustments for November,,,\n,,,\n{HEADER}\nA,acct_1A,1.00,usd\nB,acct_1B,2.00,usd\n",
    )
    ledger = read_ledger(path)
    assert ledger.header_row == 3
    assert ledger.rows.to_pylist() == [4, 5]
    assert ledger.column("adjustment_id").to_pylist() == ["A", "B"]


def test_the_header_is_found_through_the_jobs_mapping(write) -> None:
    path = write(
        "l.csv",
        "Export of 2026-11-26\nRef,Connected account,Amount,Currency\nR1,acct_1A,5.00,usd\n",
    )
    ledger = read_ledger(path, columns={"adjustment_id": "Ref", "account": "Connected account"})
    assert ledger.header_row == 2
    assert ledger.table.column_names == ["adjustment_id", "account", "amount", "currency"]
    assert ledger.rows.to_pylist() == [3]


def test_a_title_row_with_a_quoted_line_break_and_a_bom(write) -> None:
    path = write(
        "l.csv",
        f'\ufeff"Adjustments\nNovember",x\r\n{HEADER}\r\nA,acct_1A,"1,500.00",usd\r\n',
    )
    ledger = read_ledger(path)
    assert ledger.header_row == 2
    assert ledger.table.to_pylist() == [
        {"adjustment_id": "A", "account": "acct_1A", "amount": "1,500.00", "currency": "usd"}
    ]
    assert ledger.rows.to_pylist() == [3]


def test_a_header_with_a_line_break_inside_a_quoted_name(write) -> None:
    path = write("l.csv", f'{HEADER},"Booked\nby"\nA,acct_1A,1,usd,li\n')
    ledger = read_ledger(path)
    assert ledger.extras.column_names == ["Booked\nby"]
    assert ledger.extras.column("Booked\nby").to_pylist() == ["li"]


def test_old_mac_line_ends(write) -> None:
    path = write("l.csv", f"Title\r{HEADER}\rA,acct_1A,1,usd\rB,acct_1A,2,usd\r")
    ledger = read_ledger(path)
    assert (ledger.header_row, ledger.rows.to_pylist()) == (2, [3, 4])


def test_the_header_must_be_within_the_first_twenty_rows(write) -> None:
    path = write("l.csv", "note\n" * 20 + f"{HEADER}\nA,acct_1A,1,usd\n")
    ledger = read_ledger(path)
    # no row qualifies: the first non-blank row stands as the header, to be judged (missing
    # columns), rather than each row becoming a problem of its own
    assert ledger.header_row == 1
    assert ledger.read_problems == []
    assert "adjustment_id" not in ledger.table.column_names


@pytest.mark.parametrize(
    "body",
    [
        "A,acct_1A,1,usd\n\nB,acct_1A,2,usd\n",  # a blank line
        "A,acct_1A,1,usd\n,,,\nB,acct_1A,2,usd\n",  # a row of empty cells
        "A,acct_1A,1,usd\n , ,\t,\nB,acct_1A,2,usd\n",  # a row of spaces
    ],
)
def test_blank_rows_are_skipped_in_a_ledger_of_standard_columns_only(write, body: str) -> None:
    ledger = read_ledger(write("l.csv", f"{HEADER}\n{body}"))
    assert ledger.column("adjustment_id").to_pylist() == ["A", "B"]
    assert ledger.rows.to_pylist() == [2, 4]
    assert ledger.read_problems == []


def test_a_trailing_row_of_commas_is_not_a_row(write) -> None:
    ledger = read_ledger(write("l.csv", f"{HEADER}\nA,acct_1A,1,usd\n,,,\n,,,\n"))
    assert ledger.num_rows == 1 and ledger.totals is None


def test_blank_lines_in_a_file_without_any_standard_column(write) -> None:
    ledger = read_ledger(write("l.csv", "a,b\n1,2\n\n,\n6,7\n"))
    assert ledger.rows.to_pylist() == [2, 5]
    assert ledger.extras.column("a").to_pylist() == ["1", "6"]


def test_header_only_and_header_with_blank_lines(write) -> None:
    assert read_ledger(write("l.csv", HEADER + "\n")).num_rows == 0
    assert read_ledger(write("m.csv", HEADER)).num_rows == 0  # no line end at all
    assert read_ledger(write("n.csv", HEADER + "\n\n\n,,,\n")).num_rows == 0


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("\n\n\n", "has no header row"),
        (" , ,\n\r\n", "has no header row"),
        ("x" * (2 << 20) + "\n" + HEADER + "\n", "run past the first MiB"),
        ('"' + "x" * (2 << 20), "run past the first MiB"),
    ],
)
def test_files_without_a_usable_header_are_refused_cleanly(
    write, content: str, needle: str
) -> None:
    with pytest.raises(LedgerFileError, match=needle):
        read_ledger(write("l.csv", content))


def test_a_header_over_a_mebibyte_is_refused_cleanly(write) -> None:
    wide = ",".join(f"column_{i}" for i in range(120_000))
    with pytest.raises(LedgerFileError, match="first MiB"):
        read_ledger(write("l.csv", f"{HEADER},{wide}\nA,acct_1A,1,usd\n"))


def test_invalid_utf8_inside_a_ragged_row_is_a_problem_on_that_row(
    write, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write(
        "l.csv",
        f"{HEADER}\nA,acct_1A,1,usd\nB,acct_1A,1,usd,caf\xe9\nC,acct_1A,1,usd\n".encode("latin-1"),
    )
    with pytest.raises(LedgerFileError) as info:
        read_ledger(path)
    assert info.value.row == 3
    assert "row 3 is not UTF-8" in str(info.value)
    assert "Traceback" not in capfd.readouterr().err


def test_invalid_utf8_at_the_start_of_a_row_names_that_row(write) -> None:
    path = write("l.csv", f"{HEADER}\nA,acct_1A,1,usd\n".encode() + b"\xff,acct_1A,1,usd\n")
    with pytest.raises(LedgerFileError) as info:
        read_ledger(path)
    assert info.value.row == 3


def test_invalid_utf8_in_a_title_row_is_ignored_with_the_title(write) -> None:
    path = write("l.csv", b"Ledger \xe9t\xe9 2026\n" + f"{HEADER}\nA,acct_1A,1,usd\n".encode())
    ledger = read_ledger(path)
    assert (ledger.header_row, ledger.num_rows) == (2, 1)


def test_ragged_rows_below_a_title_keep_their_spreadsheet_numbers(write) -> None:
    path = write("l.csv", f"Title\n{HEADER}\nA,acct_1A,1,usd\nB,acct_1A,1,usd,x\nC,acct_1A,1,usd\n")
    ledger = read_ledger(path)
    assert [(p.row, p.code) for p in ledger.read_problems] == [(4, "unreadable_file")]
    assert "header (row 2)" in ledger.read_problems[0].message
    assert ledger.rows.to_pylist() == [3, 5]


def test_a_long_quoted_value_crossing_pyarrows_blocks(write, tmp_path: Path) -> None:
    note = "line\n" * 300_000  # 1.5 MB inside one quoted cell, across read blocks
    rows = "".join(f'R{i},acct_1A,1,usd,"{note if i == 5 else "n"}"\n' for i in range(10))
    ledger = read_ledger(write("l.csv", f"{HEADER},note\n{rows}"))
    assert ledger.num_rows == 10
    assert ledger.extras.column("note")[5].as_py() == note
    assert ledger.rows.to_pylist() == list(range(2, 12))
