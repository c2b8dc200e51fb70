"""The totals line: a control total checked against the rows, never a row itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerrun.ingest.validate import blocking_problems
from ledgerrun.output import text as render
from ledgerrun.vocab import SKIPPED, RowOutcome
from tests.helpers.cli import cli, write_job
from tests.helpers.constants import A, B
from tests.helpers.sandbox import debits, sandbox_state
from tests.helpers.stages import plan_of, results_of
from tests.ingest.conftest import Validate, found

HEADER = "adjustment_id,account,amount,currency,description"
ROWS = 'A,acct_1A,"1,200.50",usd,\nB,acct_1B,99.50,usd,\n'


def test_a_matching_totals_line_is_not_a_row_and_the_plan_says_so(validated: Validate) -> None:
    v = validated(f'Title\n{HEADER}\n{ROWS},,"1,300.00",usd,Total\n')
    assert v.ok, v.problems
    assert v.rows == 2 and v.ledger.rows.to_pylist() == [3, 4]
    total = v.control_total
    assert total is not None
    assert (total.row, total.stated, total.computed, total.currency, total.matches) == (
        5,
        "1,300.00",
        "1,300.00",
        "usd",
        True,
    )
    plan = plan_of(v)
    assert sum(g.rows for g in plan.groups) == 2 and plan.totals == {"usd": 130000}
    assert "totals line (row 5) matches the rows: 1,300.00 USD" in render.plan(plan, 10)
    outcomes = [RowOutcome(SKIPPED) for _ in range(v.rows)]
    assert results_of(v, outcomes).column("adjustment_id").to_pylist() == ["A", "B"]


def test_a_totals_line_that_does_not_match(validated: Validate) -> None:
    v = validated(f"{HEADER}\n{ROWS},,1299.00,,Total\n")
    assert found(v) == [(4, "amount", "control_total_mismatch")]
    problem = v.problems[0]
    assert "says 1,299.00" in problem.message and "add up to 1,300.00" in problem.message
    assert "difference of 1.00" in problem.message
    assert v.valid.to_pylist() == [True, True] and not v.ok  # the ledger is invalid
    assert blocking_problems(v) == []
    assert v.control_total is not None and not v.control_total.matches
    assert v.rows == 2


def test_without_a_currency_every_row_counts_as_a_spreadsheet_adds_them(
    validated: Validate,
) -> None:
    v = validated(f"{HEADER}\nA,acct_1A,10.50,usd,\nB,acct_1A,500,jpy,\n,,510.50,,\n")
    assert v.ok and v.control_total is not None
    assert (v.control_total.computed, v.control_total.currency) == ("510.50", None)


def test_with_a_currency_only_that_currencys_rows_count(validated: Validate) -> None:
    text = f"{HEADER}\nA,acct_1A,10.50,usd,\nB,acct_1A,500,jpy,\n,,10.5,USD,\n"
    assert validated(text).ok
    v = validated(text.replace(",,10.5,USD", ",,510.50,USD"))
    assert found(v) == [(4, "amount", "control_total_mismatch")]
    assert "USD rows above add up to 10.50" in v.problems[0].message


def test_a_totals_line_in_minor_units(validated: Validate) -> None:
    header = "adjustment_id,account,amount_minor,currency"
    v = validated(f"{header}\nA,acct_1A,1050,usd\nB,acct_1A,950,usd\n,,2000,usd\n")
    assert v.ok and v.control_total is not None and v.control_total.computed == "20.00"


def test_a_totals_line_that_is_not_a_number(validated: Validate) -> None:
    v = validated(f"{HEADER}\n{ROWS},,see below,,\n")
    assert found(v) == [(4, "amount", "control_total_mismatch")]
    assert "not a number" in v.problems[0].message


@pytest.mark.parametrize(
    "last",
    [
        ",acct_1A,5.00,usd,\n",  # an account: a row missing its id
        "C,,5.00,usd,\n",  # an id: a row missing its account
        "Total,acct_1A,5.00,usd,\n",  # a label, but an account: an adjustment, never a total
    ],
)
def test_only_a_last_row_without_id_and_account_but_with_an_amount_is_a_total(
    validated: Validate, last: str
) -> None:
    v = validated(f"{HEADER}\n{ROWS}{last}")
    assert v.control_total is None and v.rows == 3


def test_a_label_with_no_figure_is_set_aside_with_nothing_to_check(validated: Validate) -> None:
    v = validated(f"{HEADER}\n{ROWS},,,,Total\n")
    assert v.ok and v.rows == 2 and v.control_total is None


def test_a_total_above_other_rows_is_just_a_bad_row(validated: Validate) -> None:
    v = validated(f"{HEADER}\nA,acct_1A,1,usd,\n,,1,usd,\nB,acct_1A,2,usd,\n")
    assert v.control_total is None
    assert found(v) == [(3, "adjustment_id", "empty_value"), (3, "account", "empty_value")]


@pytest.mark.slow
def test_a_mismatch_sends_nothing_when_the_job_aborts(tmp_path: Path, sandbox) -> None:
    accounts = [A, B]
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(
        f"{HEADER}\nT-1,{accounts[0]},10.00,usd,\nT-2,{accounts[1]},5.00,usd,\n,,16.00,usd,Total\n"
    )
    job = write_job(tmp_path / "job", sandbox.url, ledger=ledger, name="totals")
    done = cli("run", job)
    assert done.returncode == 2, done.stdout + done.stderr
    assert sum(debits(sandbox_state(sandbox.url), "totals").values()) == 0
    # the same ledger with a total that matches is sent whole
    ledger.write_text(ledger.read_text().replace("16.00", "15.00"))
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sum(debits(sandbox_state(sandbox.url), "totals").values()) == 2
