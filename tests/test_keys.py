"""Idempotency keys: deterministic, bounded, never from row order, file or time."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledgerrun.send.keys import debit_metadata, idempotency_key


def test_plain_key_reads_well() -> None:
    assert idempotency_key("nightly", "ADJ-0001", 0) == "ledgerrun:nightly:0:ADJ-0001"
    assert idempotency_key("nightly", "ADJ-0001", 2) == "ledgerrun:nightly:2:ADJ-0001"


def test_generation_job_and_id_all_change_the_key() -> None:
    keys = {
        idempotency_key(job, adj, gen)
        for job in ("a", "b")
        for adj in ("1", "01")
        for gen in (0, 1)
    }
    assert len(keys) == 8


def test_long_or_exotic_ids_are_hashed_within_255() -> None:
    long_id = "x" * 200
    key = idempotency_key("j" * 40, long_id, 12345)
    assert len(key) <= 255 and ":sha256:" in key
    assert idempotency_key("job", "café 1", 0).startswith("ledgerrun:job:0:sha256:")


@given(st.text(min_size=1, max_size=200), st.integers(0, 10_000))
def test_keys_are_deterministic_ascii_and_bounded(adjustment_id: str, generation: int) -> None:
    key = idempotency_key("nightly-adjustments", adjustment_id, generation)
    assert key == idempotency_key("nightly-adjustments", adjustment_id, generation)
    assert len(key) <= 255 and key.isascii() and " " not in key


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60))
def test_distinct_ids_give_distinct_keys(a: str, b: str) -> None:
    if a != b:
        assert idempotency_key("j", a, 0) != idempotency_key("j", b, 0)


def test_metadata_drops_empty_values_and_adds_ledgerruns_keys() -> None:
    assert debit_metadata("j", "A1", {"invoice": "INV-1", "note": ""}) == {
        "invoice": "INV-1",
        "ledgerrun_job": "j",
        "ledgerrun_adjustment_id": "A1",
    }
