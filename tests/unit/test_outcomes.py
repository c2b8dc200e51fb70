"""A run's outcomes: merged from those decided and those sent into ledger order; set aside in a
temporary file once its rows are made from them, and read back the same when asked for."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest

from ledgerrun.send.outcomes import OutcomeLog, Outcomes
from ledgerrun.vocab import RowOutcome

T0 = dt.datetime(2026, 11, 26, 2, 14, 7, 123456, tzinfo=dt.UTC)
GIVEN = [
    RowOutcome("succeeded", transfer_id="tr_1", idempotency_key="k-1", request_id="req_1",
               attempts=1, completed_at=T0),
    RowOutcome("failed", error_code="insufficient_funds", error_message="Short by $1.00.",
               attempts=2, completed_at=T0),
    RowOutcome("skipped", error_code="dry_run"),
    RowOutcome("succeeded", payment_id="py_1", attempts=1, completed_at=T0, earlier=True),
]  # fmt: skip


def test_outcomes_set_aside_read_back_as_they_were() -> None:
    outcomes = Outcomes.of(GIVEN)
    before = outcomes.table
    outcomes.set_aside()
    assert outcomes._table is None and len(outcomes) == 4  # counted without reading back
    assert list(outcomes) == GIVEN and outcomes[-1] == GIVEN[-1]
    assert outcomes.table.equals(before)
    assert outcomes.column("status").to_pylist() == ["succeeded", "failed", "skipped", "succeeded"]
    outcomes.set_aside()  # again: the file holds them still
    assert outcomes._table is None and list(outcomes) == GIVEN


def test_no_outcomes_set_aside_are_no_outcomes() -> None:
    outcomes = Outcomes.of([])
    outcomes.set_aside()
    assert len(outcomes) == 0 and list(outcomes) == [] and outcomes.table.num_rows == 0


def test_outcomes_decided_and_sent_are_merged_in_ledger_order_and_taken_from_the_log() -> None:
    log = OutcomeLog()
    for index in (3, 0):  # attempts end in any order
        log.add(index, GIVEN[index])
    decided: list[RowOutcome | None] = [None, GIVEN[1], GIVEN[2], None]
    merged = Outcomes.merged(4, decided, log)
    assert list(merged) == GIVEN
    assert len(log) == 0  # the log keeps nothing once taken, nor anything added later
    log.add(1, GIVEN[1])
    assert len(log) == 0
    with pytest.raises(AssertionError, match=r"rows without exactly one outcome: \[3\]"):
        Outcomes.merged(4, [GIVEN[0], GIVEN[1], GIVEN[2], None], OutcomeLog())


def test_outcomes_stay_in_memory_where_no_temporary_file_can_be_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    outcomes = Outcomes.of(GIVEN)
    outcomes.set_aside()
    assert outcomes._table is not None and list(outcomes) == GIVEN
