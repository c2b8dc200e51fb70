"""Canonical ids: the column forms agree with the specification (identity.canonical) everywhere."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledgerrun.ingest.identity import (
    canonical,
    canonical_array,
    invisible_array,
    invisible_characters,
)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Mostly ids as people write them, with every kind of trouble mixed in.
ids = st.lists(
    st.one_of(
        st.from_regex(r"[A-Za-z0-9_ -]{0,12}", fullmatch=True),
        st.from_regex(r"0*[0-9]{0,6}", fullmatch=True),
        st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=12),
        st.text(max_size=12),
        st.sampled_from(
            ["café", "cafe\u0301", "Straße", "STRASSE", "ǅ", "ﬁ", "A\u200bB", "\ufeffA"]
        ),
    ),
    max_size=30,
)


@given(values=ids, prefix=st.sampled_from(["", "team-a"]))
@PROPERTY
@example(values=["\x1cA\x1f", " 007 ", "000", "0", ""], prefix="")
def test_canonical_array_agrees_with_canonical(values: list[str], prefix: str) -> None:
    result = canonical_array(pa.array(values, pa.string()), prefix).to_pylist()
    assert result == [canonical(v, prefix) for v in values]


@given(values=ids)
@PROPERTY
@example(values=["a\tb", "\ta", "a\x7f", "a b", "\x1ca", "a\u00a0b", "a\u2028b"])
def test_invisible_array_agrees_with_invisible_characters(values: list[str]) -> None:
    result = invisible_array(pa.array(values, pa.string())).to_pylist()
    assert result == [bool(invisible_characters(v)) for v in values]


def test_chunked_columns_and_the_prefix() -> None:
    column = pa.chunked_array([["ADJ-1", "0101"], ["café"]])
    assert canonical_array(column, "t").to_pylist() == ["t:adj-1", "t:101", "t:café"]
    assert invisible_array(column).to_pylist() == [False, False, False]


# Columns of printable ASCII without spaces (the usual ledger) are told apart by their bytes
# alone and take a shorter way; sliced columns look at bytes beyond their own values.
printable = st.lists(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12),
    max_size=30,
)


@given(values=printable, prefix=st.sampled_from(["", "team-a"]), start=st.integers(0, 5))
@PROPERTY
@example(values=["ADJ-1", "0007", "000", ""], prefix="", start=0)
@example(values=[" a", "ADJ-1", "0007"], prefix="", start=1)
@example(values=["\ta", "B", "0012"], prefix="t", start=1)
def test_printable_columns_agree_with_the_specification(
    values: list[str], prefix: str, start: int
) -> None:
    column = pa.array(values, pa.string()).slice(start)
    kept = values[start:]
    assert canonical_array(column, prefix).to_pylist() == [canonical(v, prefix) for v in kept]
    assert invisible_array(column).to_pylist() == [bool(invisible_characters(v)) for v in kept]
