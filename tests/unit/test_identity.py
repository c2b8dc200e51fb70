"""When two ids are the same adjustment: the scalar definition, and the column version held to
it by hypothesis."""

from __future__ import annotations

import unicodedata

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerrun.ingest.identity import canonical, canonical_array, invisible_characters


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ADJ-1", "adj-1"),
        ("0000101", "101"),
        ("000", "0"),
        (" adj-7 ", "adj-7"),
        ("caf\u00e9", "cafe\u0301"),  # NFC and NFD
        ("Straße", "STRASSE"),
    ],
)
def test_these_are_the_same_adjustment(a: str, b: str) -> None:
    assert canonical(a) == canonical(b)


@pytest.mark.parametrize(("a", "b"), [("adj-1", "adj-01"), ("A1", "A 1"), ("0101a", "101a")])
def test_these_are_not(a: str, b: str) -> None:
    assert canonical(a) != canonical(b)


def test_a_prefix_keeps_teams_apart() -> None:
    assert canonical("42", "north") == "north:42" != canonical("42", "south")


@pytest.mark.parametrize(
    ("value", "labels"),
    [
        ("adj\u200b1", ["U+200B"]),
        ("\u202eadj", ["U+202E"]),
        ("a\x00b", ["U+0000"]),
        ("a\u00a0b", ["U+00A0"]),
        ("a\tb\u2028c", ["U+0009", "U+2028"]),
        ("  plain id  ", []),
        ("café", []),
    ],
)
def test_invisible_and_control_characters_are_named(value: str, labels: list[str]) -> None:
    assert invisible_characters(value) == labels


@settings(deadline=None)
@given(st.lists(st.text(max_size=12), max_size=40), st.sampled_from(["", "team"]))
def test_the_column_form_agrees_with_the_definition(values: list[str], prefix: str) -> None:
    clean = [v for v in values if not invisible_characters(v)]
    got = canonical_array(pa.array(clean, pa.string()), prefix).to_pylist()
    assert got == [canonical(v, prefix) for v in clean]


def test_the_column_form_on_a_mixed_column() -> None:
    values = ["ADJ-1", "0042", "Caf\u00e9", "cafe\u0301", " x "]
    got = canonical_array(pa.chunked_array([values[:2], values[2:]]))
    assert got.to_pylist() == ["adj-1", "42", "café", unicodedata.normalize("NFC", "café"), "x"]
