"""The latest truth of a results row (ledgerrun.send.records.overlay): the store's state, except
where the run knows better than a pending intent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ledgerrun.output.results import INTEGER_COLUMNS, RESULT_COLUMNS
from ledgerrun.send.records import overlay
from ledgerrun.vocab import Status
from tests.helpers.fakes import FakeStore, as_journal
from tests.helpers.store import T0, intent


def row(status: str, **values: Any) -> pa.Table:
    cells: dict[str, Any] = {name: "" for name in RESULT_COLUMNS}
    cells |= {"row": 2, "adjustment_id": "ADJ-1", "amount_minor": 12345, "attempts": 0}
    cells |= {"currency": "eur", "status": status, **values}
    types = {n: pa.int64() if n in INTEGER_COLUMNS else pa.string() for n in RESULT_COLUMNS}
    return pa.table({n: pa.array([cells[n]], types[n]) for n in RESULT_COLUMNS})


def test_an_intent_whose_request_never_left_reads_skipped_not_unknown() -> None:
    """A stop between an intent and its request: the journal keeps the intent (the next run
    sends it under its key), and the run knows nothing left: the row is skipped."""
    fake = FakeStore()
    fake.record_intent(intent("adj-1"))
    store = as_journal(fake)
    stopped = row(Status.SKIPPED, error_code="stopped", error_message="Not sent: stopping.")
    (shown,) = overlay(stopped, store, "").to_pylist()
    assert (shown["status"], shown["error_code"]) == ("skipped", "stopped")
    sent = row(Status.UNKNOWN, error_code="stopped")  # in flight when the run stopped
    assert overlay(sent, store, "").to_pylist()[0]["status"] == "unknown"
    earlier = row("", error_code="not_in_ledger")  # not this run's: the journal's word
    assert overlay(earlier, store, "").to_pylist()[0]["status"] == "unknown"


def test_an_edited_row_that_moved_money_says_its_own_words_once_however_often_overlaid() -> None:
    """A run's own rows are kept overlaid, and `ledgerrun results` overlays them again: the
    conflict message stays the same (journals from before 3.0.0 kept it wrapped twice)."""
    fake = FakeStore()
    fake.record_intent(intent("adj-1"))
    fake.record_success(
        "adj-1", run_id="run-1", transfer_id="tr_1", payment_id="", request_id=None, completed_at=T0
    )
    store = as_journal(fake)
    edited = row(Status.INVALID, error_code="invalid", error_message="amount_minor 12345 -> 999.")
    once = overlay(edited, store, "")
    (shown,) = once.to_pylist()
    assert (shown["status"], shown["error_code"]) == ("succeeded", "adjustment_conflict")
    message = shown["error_message"]
    assert (
        message.startswith("This adjustment moved as a debit of")
        and message.count("amount_minor 12345 -> 999.") == 1
        and message.count("Restore the row") == 1
    )
    assert overlay(overlay(once, store, ""), store, "").to_pylist() == [shown]
    head, _, _ = message.partition(" amount_minor")
    wrapped = f"{head} {message} Restore the row, or give a new adjustment its own id."
    old = once.set_column(
        once.column_names.index("error_message"), "error_message", pa.array([wrapped])
    )
    assert overlay(old, store, "").to_pylist()[0]["error_message"] == message


def test_a_run_keeps_its_rows_with_zstd_and_rows_kept_with_snappy_still_read() -> None:
    import io

    import pyarrow.parquet as pq

    from ledgerrun.send.records import ROWS, keep, own

    fake = FakeStore()
    store = as_journal(fake)
    rows = pa.concat_tables([row(Status.SUCCEEDED, transfer_id=f"tr_{n}") for n in range(3)])
    keep(store, "run-new", rows, {"rows": 3})
    kept = fake.files[("run-new", ROWS)]
    group = pq.ParquetFile(io.BytesIO(kept)).metadata.row_group(0)
    assert group.column(0).compression == "ZSTD"
    assert not any(group.column(i).has_dictionary_page for i in range(group.num_columns))
    assert own(store, "run-new") == rows
    before = io.BytesIO()  # as version 2 kept them
    pq.write_table(rows, before, compression="snappy")
    fake.files[("run-old", ROWS)] = before.getvalue()
    assert own(store, "run-old", ["adjustment_id", "transfer_id"]) == rows.select(
        ["adjustment_id", "transfer_id"]
    )


def test_a_run_keeps_its_rows_where_no_temporary_file_can_be_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The rows are written to a temporary file the store reads in pieces; with no temporary
    folder to write in, they are made in memory instead, and kept all the same."""
    import tempfile

    from ledgerrun.send.records import keep, own

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    with pytest.raises(OSError), tempfile.TemporaryFile():
        pass
    store = as_journal(FakeStore())
    rows = pa.concat_tables([row(Status.SUCCEEDED, transfer_id=f"tr_{n}") for n in range(3)])
    keep(store, "run-1", rows, {"rows": 3})
    assert own(store, "run-1") == rows
