"""Problems as a person reads them: values escaped and cut, advice that fits."""

from __future__ import annotations

import pytest

from ledgerrun.vocab import FIXES, VALUE_CUT, Problem, shown


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("two\nlines", "two\\nlines"),
        ("nul\x00here", "nul\\x00here"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("tab\tand\rreturn", "tab\\tand\\rreturn"),
        ("no\u00a0break", "no\\xa0break"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("café ✓", "café ✓"),
    ],
)
def test_control_and_invisible_characters_are_shown_as_escapes(value: str, expected: str) -> None:
    assert shown(value) == expected
    assert Problem.make(2, "c", "empty_value", value, "m").value == expected


def test_values_are_cut_to_80_characters_even_after_escaping() -> None:
    assert shown("x" * 80) == "x" * 80
    assert shown("x" * 81) == "x" * 79 + "…"
    escaped = shown("\x00" * 100)
    assert len(escaped) <= VALUE_CUT and escaped.endswith("…")
    assert escaped.startswith("\\x00\\x00")  # never cut in the middle of an escape
    assert "\\x0…" not in escaped and not escaped[:-1].endswith("\\")


def test_a_megabyte_value_is_never_repeated_whole() -> None:
    huge = "A" * (1 << 20)
    problem = Problem.make(2, "c", "bad_amount", huge, f"'{shown(huge)}' is not a plain amount.")
    assert len(problem.value) == VALUE_CUT
    assert len(problem.message) < 200


def test_messages_have_their_control_characters_escaped_and_a_runaway_message_is_cut() -> None:
    problem = Problem.make(2, "c", "empty_value", "", "first\nsecond")
    assert problem.message == "first\\nsecond"
    assert len(Problem.make(2, "c", "empty_value", "", "m" * 10_000).message) <= 2000


def test_a_problem_may_carry_advice_of_its_own() -> None:
    plain = Problem.make(1, "", "unreadable_file", "", "broken")
    assert plain.fix == FIXES["unreadable_file"]
    own = Problem.make(1, "", "unreadable_file", "", "not found", fix="Check the path.")
    assert own.fix == "Check the path."
    assert own.to_json() == {
        "row": 1,
        "column": "",
        "code": "unreadable_file",
        "value": "",
        "message": "not found",
    }


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown problem code"):
        Problem.make(1, "", "no_such_code", "", "m")
