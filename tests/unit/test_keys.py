"""Idempotency keys and metadata: deterministic, bounded, from the canonical id alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledgerrun.send.keys import idempotency_key, key_from_metadata, metadata


def test_plain_key_reads_well_and_never_names_the_job() -> None:
    assert idempotency_key("debit", "adj-0001", 0) == "ledgerrun.v2:debit:0:adj-0001"
    assert idempotency_key("credit", "adj-0001", 2) == "ledgerrun.v2:credit:2:adj-0001"
    assert idempotency_key("reversal", "team:42", 0) == "ledgerrun.v2:reversal:0:team:42"


def test_operation_generation_and_id_all_change_the_key() -> None:
    keys = {
        idempotency_key(op, key, gen)
        for op in ("debit", "credit", "reversal")
        for key in ("1", "01")
        for gen in (0, 1)
    }
    assert len(keys) == 12


def test_version_1_keys_can_never_collide_with_these() -> None:
    # Version 1: ledgerrun:<job>:<generation>:<id>; a job may have been called "debit".
    assert idempotency_key("debit", "x", 0) != "ledgerrun:debit:0:x"


def test_long_or_exotic_ids_are_hashed_within_255() -> None:
    key = idempotency_key("debit", "x" * 250, 12345)
    assert len(key) <= 255 and ":sha256:" in key
    assert idempotency_key("debit", "café 1", 0).startswith("ledgerrun.v2:debit:0:sha256:")


@given(st.text(min_size=1, max_size=300), st.integers(0, 10_000))
def test_keys_are_deterministic_ascii_and_bounded(key: str, generation: int) -> None:
    made = idempotency_key("debit", key, generation)
    assert made == idempotency_key("debit", key, generation)
    assert len(made) <= 255 and made.isascii() and " " not in made


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60))
def test_distinct_ids_give_distinct_keys(a: str, b: str) -> None:
    if a != b:
        assert idempotency_key("debit", a, 0) != idempotency_key("debit", b, 0)


def test_metadata_names_job_id_as_written_date_and_prefix() -> None:
    got = metadata(
        job="j",
        adjustment_id="ADJ-1",
        account="acct_1A",
        run_date="2026-11-26",
        id_prefix="team",
        consent="C-9",
        extra={"invoice": "INV-1", "note": ""},
    )
    assert got == {
        "invoice": "INV-1",
        "ledgerrun_job": "j",
        "ledgerrun_adjustment_id": "ADJ-1",
        "ledgerrun_account": "acct_1A",
        "ledgerrun_run_date": "2026-11-26",
        "ledgerrun_id_prefix": "team",
        "ledgerrun_consent": "C-9",
    }
    assert key_from_metadata(got) == "team:adj-1"
    assert key_from_metadata({"ledgerrun_adjustment_id": "0042"}) == "42"
    assert key_from_metadata({"invoice": "x"}) is None
