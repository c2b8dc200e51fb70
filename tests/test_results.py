"""The results file and its summary: one row per input row, spreadsheet-safe CSV, atomic writes."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerrun
from ledgerrun.ingest.validate import Validation, check
from ledgerrun.jobfile import load_target
from ledgerrun.output.results import (
    RESULT_COLUMNS,
    read_results,
    write_results,
)
from ledgerrun.send.prepare import Prepared
from ledgerrun.send.table import results_table as table_of
from ledgerrun.summary import Summary, count, totals
from ledgerrun.vocab import FAILED, INVALID, SKIPPED, SUCCEEDED, UNKNOWN, RowOutcome
from tests.helpers.constants import RUN_DATE, SAMPLES

FIXED = (
    "row",
    "adjustment_id",
    "account",
    "currency",
    "amount",
    "amount_minor",
    "direction",
    "method",
    "status",
    "transfer_id",
    "payment_id",
    "idempotency_key",
    "stripe_request_id",
    "error_code",
    "error_message",
    "attempts",
    "completed_at",
    "amount_reversed",
    "reversal_ids",
    "reversal_status",
)
WHEN = dt.datetime(2026, 11, 26, 2, 14, 7, tzinfo=dt.UTC)
EVERY_RISKY_START = ["=1+1", "+1", "-25.00", "@SUM(A1)", "\tTAB", "\rCR"]


def validation_of(write, text: str, name: str = "ledger.csv") -> Validation:
    return check(load_target(write(name, text), RUN_DATE))


def results_table(v: Validation, outcomes: list[RowOutcome]) -> pa.Table:
    job = load_target(v.ledger.path, RUN_DATE)
    return table_of(Prepared(job, v), outcomes)


def done(n: int) -> RowOutcome:
    return RowOutcome(
        SUCCEEDED,
        transfer_id=f"tr_{n}",
        payment_id=f"py_{n}",
        idempotency_key=f"key-{n}",
        request_id=f"req_{n}",
        attempts=1,
        completed_at=WHEN,
    )


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def csv_cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


MIXED = (
    "ref,adjustment_id,Account,amount,currency,Description,Metadata.Invoice,status,Attempts\n"
    "r1,a1,acct_1A,15.00,USD,first,inv-1,ok,x\n"
    "r2,a2,acct_1B,abc,usd,second,inv-2,,\n"
    "r3,a3,acct_1C,1500,jpy,third,,,\n"
    ",,,,,,,,\n"
    "r5,a5,acct_1D,2.50,eur,fifth,inv-5,,\n"
)


@pytest.fixture
def mixed(write) -> Validation:
    return validation_of(write, MIXED)


def test_columns_fixed_first_then_every_other_input_column_in_file_order(mixed) -> None:
    table = results_table(mixed, [done(i) for i in range(4)])
    assert RESULT_COLUMNS == FIXED
    assert table.column_names == [
        *FIXED,
        "ref",
        "Description",
        "Metadata.Invoice",
        "input_status",
        "input_Attempts",
    ]
    types = {f.name: f.type for f in table.schema}
    assert {n for n, t in types.items() if t == pa.int64()} == {"row", "amount_minor", "attempts"}
    assert all(t == pa.string() for n, t in types.items() if t != pa.int64())


def test_parquet_ledger_columns_keep_their_file_order(tmp_path: Path) -> None:
    path = tmp_path / "l.parquet"
    pq.write_table(
        pa.table(
            {
                "memo": ["m"],
                "adjustment_id": ["a1"],
                "Amount": ["1.00"],
                "account": ["acct_1A"],
                "note": ["n"],
                "currency": ["usd"],
                "metadata.k": ["v"],
            }
        ),
        path,
    )
    table = results_table(check(load_target(path, RUN_DATE)), [done(1)])
    assert table.column_names[len(FIXED) :] == ["memo", "note", "metadata.k"]
    row = table.to_pylist()[0]
    assert [row[k] for k in ("memo", "note", "metadata.k")] == ["m", "n", "v"]
    assert (row["amount"], row["amount_minor"], row["direction"]) == ("1.00", 100, "debit")


def test_the_sample_ledgers_give_the_same_results_in_every_format() -> None:
    tables = []
    for name in ("adjustments.csv", "adjustments.parquet", "adjustments.xlsx"):
        v = check(load_target(SAMPLES / name, RUN_DATE))
        table = results_table(v, [RowOutcome(SKIPPED)] * v.rows)
        assert table.column_names[len(FIXED) :] == [
            "description",
            "metadata.invoice",
            "metadata.reason",
            "booked_by",
        ]
        tables.append(table)
    assert tables[1].equals(tables[0])
    assert tables[2].equals(tables[0])


def test_one_row_per_input_row_in_input_order_with_normalised_values(mixed) -> None:
    outcomes = [done(0), RowOutcome(INVALID, error_code="bad_amount"), done(2), done(3)]
    rows = results_table(mixed, outcomes).to_pylist()
    assert [r["row"] for r in rows] == [2, 3, 4, 6]  # row 5 is blank in the ledger
    assert [r["adjustment_id"] for r in rows] == ["a1", "a2", "a3", "a5"]
    assert [r["currency"] for r in rows] == ["usd", "usd", "jpy", "eur"]
    assert [r["method"] for r in rows] == ["transfer"] * 4
    assert [r["amount_minor"] for r in rows] == [1500, None, 1500, 250]
    assert [r["status"] for r in rows] == [SUCCEEDED, INVALID, SUCCEEDED, SUCCEEDED]
    assert rows[1]["ref"] == "r2" and rows[1]["amount"] == ""  # no amount could be read
    assert [r["amount"] for r in rows] == ["15.00", "", "1500", "2.50"]  # major units, exact
    assert [r["direction"] for r in rows] == ["debit"] * 4
    assert rows[1]["transfer_id"] == "" and rows[1]["error_code"] == "bad_amount"
    assert rows[1]["attempts"] == 0 and rows[1]["completed_at"] == ""
    carried = {"Metadata.Invoice": "inv-1", "input_status": "ok", "input_Attempts": "x"}
    assert {k: rows[0][k] for k in carried} == carried
    assert (rows[0]["transfer_id"], rows[0]["payment_id"]) == ("tr_0", "py_0")
    assert (rows[0]["idempotency_key"], rows[0]["stripe_request_id"]) == ("key-0", "req_0")


def test_the_method_default_is_filled_and_amount_minor_is_not_repeated(write) -> None:
    v = validation_of(
        write, "adjustment_id,account,amount_minor,currency,method\na1,acct_1A,150,usd,\n"
    )
    table = results_table(v, [done(1)])
    assert table.column_names == list(FIXED)
    assert table.column("method").to_pylist() == ["transfer"]
    assert table.column("amount_minor").to_pylist() == [150]


def test_a_header_that_is_already_taken_gets_input_prefixes(write) -> None:
    v = validation_of(write, "adjustment_id,account,amount,currency,status,input_status\n")
    names = results_table(v, []).column_names
    assert names[len(FIXED) :] == ["input_status", "input_input_status"]


def test_outcomes_must_match_the_ledger(mixed) -> None:
    with pytest.raises(ValueError, match="3 outcomes for a ledger of 4 rows"):
        results_table(mixed, [done(0)] * 3)
    with pytest.raises(ValueError, match="unknown status 'done'"):
        results_table(mixed, [done(0), done(1), RowOutcome("done"), done(3)])


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (dt.datetime(2026, 11, 26, 2, 14, 7, 999_999, tzinfo=dt.UTC), "2026-11-26T02:14:07Z"),
        (
            dt.datetime(2026, 11, 26, 11, 14, 7, tzinfo=dt.timezone(dt.timedelta(hours=9))),
            "2026-11-26T02:14:07Z",
        ),
        (dt.datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05Z"),  # naive: already UTC
        (None, ""),
    ],
)
def test_completed_at_is_iso_utc_to_the_second(write, moment, text) -> None:
    v = validation_of(write, "adjustment_id,account,amount,currency\na1,acct_1A,1.00,usd\n")
    table = results_table(v, [RowOutcome(SUCCEEDED, completed_at=moment)])
    assert table.column("completed_at").to_pylist() == [text]


# --- CSV safety ----------------------------------------------------------------------------------


def risky_ledger(write) -> Validation:
    lines = ["adjustment_id,account,amount,currency,description,metadata.note,memo,=HYPERLINK"]
    for n, risky in enumerate(EVERY_RISKY_START):
        cell = '"' + risky + '"'
        lines.append(f'"{risky}{n}",acct_1A,15.00,usd,{cell},{cell},{cell},{cell}')
    lines.append("-25.00x,-acct,-25.00,usd,'quoted,plain,acct_1A,15.00")
    return validation_of(write, "\n".join(lines) + "\n")


def test_csv_escapes_every_formula_start_in_every_text_column(write, tmp_path: Path) -> None:
    v = risky_ledger(write)
    outcomes = [RowOutcome(FAILED, error_message="-1 is not allowed")] * v.rows
    path = tmp_path / "out.results.csv"
    write_results(results_table(v, outcomes), path)
    header, *rows = csv_cells(path)
    assert header[len(FIXED) :] == ["description", "metadata.note", "memo", "'=HYPERLINK"]
    col = {name: i for i, name in enumerate(header)}
    for n, (row, risky) in enumerate(zip(rows, EVERY_RISKY_START, strict=False)):
        kept = risky.strip()  # canonical columns are stripped, so "\tTAB" is "TAB" there
        lead = "'" if kept[0] in "=+-@" else ""
        assert row[col["adjustment_id"]] == lead + kept + str(n)
        assert row[col["description"]] == lead + kept
        assert row[col["metadata.note"]] == lead + kept
        assert row[col["memo"]] == "'" + risky  # extras are verbatim: tab and CR kept
        assert row[col["'=HYPERLINK"]] == "'" + risky
        assert row[col["error_message"]] == "'-1 is not allowed"
    last = rows[-1]
    assert last[col["adjustment_id"]] == "'-25.00x"
    assert last[col["account"]] == "'-acct"
    assert last[col["amount"]] == ""  # -25.00 is not an amount: nothing to show
    assert last[col["description"]] == "'quoted"  # a ' before no formula: as written, not doubled
    assert last[col["metadata.note"]] == "plain"
    assert last[col["memo"]] == "acct_1A"
    assert last[col["'=HYPERLINK"]] == "15.00"
    assert [r[col["amount_minor"]] for r in rows] == ["1500"] * 6 + [""]  # integers untouched
    assert [r[col["row"]] for r in rows] == [str(n) for n in range(2, 9)]


def test_parquet_keeps_values_unescaped_and_typed(write, tmp_path: Path) -> None:
    v = risky_ledger(write)
    table = results_table(v, [done(n) for n in range(v.rows)])
    path = tmp_path / "out.results.parquet"
    write_results(table, path)
    stored = pq.read_table(path)
    assert stored.equals(table)
    assert stored.schema.field("amount_minor").type == pa.int64()
    assert stored.schema.field("row").type == pa.int64()
    assert stored.schema.field("attempts").type == pa.int64()
    assert stored.column("memo").to_pylist() == [*EVERY_RISKY_START, "acct_1A"]
    assert stored.column("=HYPERLINK").to_pylist()[-1] == "15.00"
    assert stored.column("amount_minor").to_pylist()[-1] is None


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_read_results_gives_back_the_table(write, tmp_path: Path, suffix: str) -> None:
    v = risky_ledger(write)
    outcomes = [done(n) for n in range(v.rows - 1)] + [
        RowOutcome(UNKNOWN, error_message="line one\nline \"two\", 'three'", attempts=3)
    ]
    table = results_table(v, outcomes)
    path = tmp_path / f"x.results{suffix}"
    write_results(table, path)
    back = read_results(path)
    assert back.schema == table.schema
    if suffix == ".xlsx":  # XML keeps no bare carriage return: it reads back as a line feed
        table = pa.Table.from_arrays(
            [
                pc.replace_substring(c, "\r", "\n") if pa.types.is_string(c.type) else c
                for c in table.columns
            ],
            names=table.column_names,
        )
    assert back.equals(table)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=8), st.lists(st.text(), max_size=5))
def test_any_text_survives_a_csv_round_trip(tmp_path_factory, header: str, texts) -> None:
    folder = tmp_path_factory.mktemp("hyp")
    table = pa.table(
        {"row": pa.array(range(len(texts)), pa.int64()), f"x{header}": texts, header: texts},
        schema=pa.schema([("row", pa.int64()), (f"x{header}", pa.string()), (header, pa.string())]),
    )
    write_results(table, folder / "r.csv")
    assert read_results(folder / "r.csv").equals(table)


def test_an_empty_ledger_gives_a_header_only_file(write, tmp_path: Path) -> None:
    v = validation_of(write, "adjustment_id,account,amount,currency,memo\n")
    table = results_table(v, [])
    write_results(table, tmp_path / "r.csv")
    assert csv_cells(tmp_path / "r.csv") == [[*FIXED, "memo"]]
    assert read_results(tmp_path / "r.csv").equals(table)


@pytest.mark.parametrize("name", ["r.xls", "r.json", "results"])
def test_other_extensions_are_refused(tmp_path: Path, name: str) -> None:
    table = pa.table({"row": pa.array([], pa.int64())})
    with pytest.raises(ValueError, match=r"\.csv, \.xlsx or \.parquet"):
        write_results(table, tmp_path / name)
    with pytest.raises(ValueError, match=r"\.csv, \.xlsx or \.parquet"):
        read_results(tmp_path / name)
    assert files_in(tmp_path) == []


# --- atomic writes -------------------------------------------------------------------------------


def half_then_fail(table, where, *args, **kwargs) -> None:
    where.write(b"row,adjustment_id\n2,a")
    raise OSError("disk full")


@pytest.mark.parametrize(
    ("suffix", "module", "writer"),
    [(".csv", pcsv, "write_csv"), (".parquet", pq, "write_table")],
)
def test_a_failed_write_leaves_no_file_and_no_temp(
    mixed, tmp_path: Path, monkeypatch, suffix: str, module, writer: str
) -> None:
    table = results_table(mixed, [done(i) for i in range(4)])
    monkeypatch.setattr(module, writer, half_then_fail)
    folder = tmp_path / "out" / "nested"
    with pytest.raises(OSError, match="disk full"):
        write_results(table, folder / f"r{suffix}")
    assert files_in(folder) == []


@pytest.mark.parametrize(
    ("suffix", "module", "writer"),
    [(".csv", pcsv, "write_csv"), (".parquet", pq, "write_table")],
)
def test_a_failed_write_keeps_the_previous_file(
    mixed, tmp_path: Path, monkeypatch, suffix: str, module, writer: str
) -> None:
    table = results_table(mixed, [done(i) for i in range(4)])
    path = tmp_path / f"r{suffix}"
    write_results(table, path)
    before = path.read_bytes()
    monkeypatch.setattr(module, writer, half_then_fail)
    with pytest.raises(OSError):
        write_results(results_table(mixed, [RowOutcome(SKIPPED)] * 4), path)
    assert path.read_bytes() == before
    assert files_in(tmp_path) == sorted([path.name, "ledger.csv"])


def test_a_write_replaces_the_file_and_creates_its_folder(mixed, tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "r.csv"
    write_results(results_table(mixed, [RowOutcome(SKIPPED)] * 4), path)
    write_results(results_table(mixed, [done(i) for i in range(4)]), path)
    assert read_results(path).column("status").to_pylist() == [SUCCEEDED] * 4
    assert files_in(path.parent) == ["r.csv"]
    assert path.stat().st_mode & 0o777 == 0o666 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- summary -------------------------------------------------------------------------------------


def test_summary_counts_and_totals_per_currency_and_direction(write, tmp_path: Path) -> None:
    v = validation_of(
        write,
        "adjustment_id,account,amount,currency\n"
        "a1,acct_1A,10.00,usd\n"  # succeeded
        "a2,acct_1A,2.50,USD\n"  # failed
        "a3,acct_1A,1.25,usd\n"  # unknown
        "a4,acct_1A,0.05,usd\n"  # skipped
        "a5,acct_1A,abc,usd\n"  # invalid: no amount
        "a6,bad,99.00,usd\n"  # invalid with an amount: not requested
        "a7,acct_1B,1500,jpy\n"  # succeeded
        "a8,acct_1B,12.340,bhd\n",  # skipped
    )
    outcomes = [
        done(1),
        RowOutcome(FAILED, error_code="balance_insufficient"),
        RowOutcome(UNKNOWN),
        RowOutcome(SKIPPED),
        RowOutcome(INVALID),
        RowOutcome(INVALID),
        done(7),
        RowOutcome(SKIPPED),
    ]
    statuses = [o.status for o in outcomes]
    assert count(statuses) == {SUCCEEDED: 2, FAILED: 1, INVALID: 2, SKIPPED: 2, UNKNOWN: 1}
    assert list(count(statuses)) == [SUCCEEDED, FAILED, INVALID, SKIPPED, UNKNOWN]
    directions = ["debit"] * 6 + ["credit", "debit"]
    got = totals(
        zip(v.currency.to_pylist(), directions, v.amount_minor.to_pylist(), statuses, strict=True)
    )
    zero = {"requested": 0, "succeeded": 0, "failed": 0, "unknown": 0, "skipped": 0}
    assert got == {
        "bhd": {"debit": zero | {"requested": 12340, "skipped": 12340}},
        "jpy": {"credit": zero | {"requested": 1500, "succeeded": 1500}},
        "usd": {
            "debit": {
                "requested": 1380,
                "succeeded": 1000,
                "failed": 250,
                "unknown": 125,
                "skipped": 5,
            }
        },
    }


def test_the_summary_round_trips_through_json(tmp_path: Path) -> None:
    summary = Summary(
        run_id="run-1", job="demo", job_file="/jobs/demo.toml", run_date="2026-11-26",
        mode="sandbox", user="finance", host="cron-1", version=ledgerrun.__version__,
        dry_run=False, exit_code=3,
        started_at=dt.datetime(2026, 11, 26, 2, 0, 0, 123, tzinfo=dt.UTC),
        ended_at=dt.datetime(2026, 11, 26, 11, 15, tzinfo=dt.timezone(dt.timedelta(hours=9))),
        ledger="/in.csv", ledger_sha256="ab" * 32, results="/out/r.csv", rows=8,
        counts={SUCCEEDED: 8}, totals={"usd": {"debit": {"requested": 5}}}, sent_now=5,
        done_earlier=3, consent_checked=False,
    )  # fmt: skip
    data = summary.to_json()
    assert (data["started_at"], data["ended_at"]) == (
        "2026-11-26T02:00:00Z",
        "2026-11-26T02:15:00Z",
    )
    assert {"mode", "user", "host", "job_file", "run_date", "sent_now", "done_earlier"} <= set(data)
    back = Summary.from_json(json.loads(json.dumps(data)))
    assert back.to_json() == data


def test_summary_totals_do_not_overflow() -> None:
    rows = 10_000  # each near the largest amount allowed: the total is above 2**63
    got = totals(("usd", "debit", 999_999_999_999_999, SUCCEEDED) for _ in range(rows))
    assert got["usd"]["debit"]["succeeded"] == rows * 999_999_999_999_999 > 2**63


# --- size ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_large_results_file_round_trips(tmp_path: Path, suffix: str) -> None:
    n = 200_000
    ids = [f"adj-{i}" for i in range(n)]
    table = pa.table(
        {
            **{name: pa.array([""] * n) for name in FIXED},
            "row": pa.array(range(2, n + 2), pa.int64()),
            "adjustment_id": ids,
            "amount_minor": pa.array([i if i % 7 else None for i in range(n)], pa.int64()),
            "attempts": pa.array([i % 4 for i in range(n)], pa.int64()),
            "status": [SUCCEEDED if i % 3 else FAILED for i in range(n)],
            "memo": [f"-{i}" if i % 2 else f'memo {i}, "quoted"\n' for i in range(n)],
        }
    )
    path = tmp_path / f"big{suffix}"
    write_results(table, path)
    assert read_results(path).equals(table)


def test_xlsx_results_have_number_cells_text_ids_and_a_frozen_filtered_header(
    write, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    v = validation_of(
        write,
        "adjustment_id,account,amount,currency\n00456,acct_1A,1271.12,usd\n7,acct_1B,1500,jpy\n"
        "8,acct_1B,12.34,kwd\n",
    )
    path = tmp_path / "r.results.xlsx"
    write_results(results_table(v, [done(n) for n in range(3)]), path)
    sheet = load_workbook(path)["Results"]
    names = [c.value for c in sheet[1]]
    amount, ident = names.index("amount") + 1, names.index("adjustment_id") + 1
    assert (
        sheet.freeze_panes == "A2"
        and sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(names)).column_letter}4"
    )
    cells = [sheet.cell(r, amount) for r in (2, 3, 4)]
    assert [c.value for c in cells] == [1271.12, 1500, 12.34]
    assert [c.number_format for c in cells] == ["#,##0.00", "#,##0", "#,##0.000"]
    assert sheet.cell(2, ident).value == "00456" and sheet.cell(2, ident).data_type == "s"
