"""Reading Parquet ledgers: decimals exact as they stand, floats at their shortest, nulls blank."""

from __future__ import annotations

import decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ledgerrun.ingest.read import read_ledger
from ledgerrun.ingest.validate import check
from ledgerrun.jobfile import job_for_ledger
from tests.helpers.constants import RUN_DATE


def ledger_file(tmp_path: Path, amount: pa.Array, **more: pa.Array) -> Path:
    n = len(amount)
    table = pa.table(
        {
            "adjustment_id": pa.array([f"A{i}" for i in range(n)]),
            "account": pa.array(["acct_1A"] * n),
            "amount": amount,
            "currency": pa.array(["usd"] * n),
            **more,
        }
    )
    path = tmp_path / "l.parquet"
    pq.write_table(table, path)
    return path


def test_a_decimal_is_exact_as_it_stands_never_an_exponent(tmp_path: Path) -> None:
    values = [decimal.Decimal("1E-10"), decimal.Decimal("12.3400000000")]
    path = ledger_file(tmp_path, pa.array(values, pa.decimal128(20, 10)))
    assert read_ledger(path).column("amount").to_pylist() == ["0.0000000001", "12.3400000000"]
    v = check(job_for_ledger(path, RUN_DATE))
    assert [(p.row, p.code) for p in v.problems] == [(2, "too_many_decimals")]
    assert v.amount_minor.to_pylist() == [None, 1234]


def test_a_float_is_its_shortest_round_trip_decimal_without_an_exponent(tmp_path: Path) -> None:
    path = ledger_file(tmp_path, pa.array([15.3, 0.1 + 0.2, 1e20, 1e-7], pa.float64()))
    assert read_ledger(path).column("amount").to_pylist() == [
        "15.3",
        "0.30000000000000004",
        "100000000000000000000",
        "0.0000001",
    ]
    codes = [p.code for p in check(job_for_ledger(path, RUN_DATE)).problems]
    assert codes == ["too_many_decimals", "bad_amount", "too_many_decimals"]


def test_all_null_rows_are_blank_rows(tmp_path: Path) -> None:
    table = pa.table(
        {
            "adjustment_id": pa.array(["A", None, "B"]),
            "account": pa.array(["acct_1A", None, "acct_1A"]),
            "amount": pa.array([decimal.Decimal("1.00"), None, decimal.Decimal("2.00")]),
            "currency": pa.array(["usd", None, "usd"]),
            "note": pa.array(["x", None, None]),
        }
    )
    path = tmp_path / "l.parquet"
    pq.write_table(table, path)
    ledger = read_ledger(path)
    assert ledger.rows.to_pylist() == [2, 4]
    assert check(job_for_ledger(path, RUN_DATE)).ok
