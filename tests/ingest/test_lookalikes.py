"""An account id holding a character that only looks right names it (issue 24)."""

from __future__ import annotations

import pytest

from ledgerrun.ingest.characters import foreign
from tests.ingest.conftest import Validate, found

HEADER = "adjustment_id,account,amount,currency"


@pytest.mark.parametrize(
    ("account", "named"),
    [
        ("acct_\u0430ConnAA000000", "U+0430 CYRILLIC SMALL LETTER A at position 6"),
        ("acct_1ConnAA00000\u039f", "U+039F GREEK CAPITAL LETTER OMICRON at position 18"),
        ("acct_1Conn\uff21A000000", "U+FF21 FULLWIDTH LATIN CAPITAL LETTER A at position 11"),
        ("acct_1ConnAA\u200b000000", "U+200B ZERO WIDTH SPACE at position 13"),
        ("acct\u20131ConnAA000000", "U+2013 EN DASH at position 5"),
    ],
)
def test_a_lookalike_character_in_an_account_is_named(
    validated: Validate, account: str, named: str
) -> None:
    v = validated(f"{HEADER}\nA-1,{account},1.00,usd\n")
    assert found(v) == [(2, "account", "bad_account")]
    message = v.problems[0].message
    assert named in message and "Retype it" in message


def test_a_plain_bad_account_says_nothing_of_characters(validated: Validate) -> None:
    (problem,) = validated(f"{HEADER}\nA-1,acct-1ConnAA,1.00,usd\n").problems
    assert problem.code == "bad_account" and "U+" not in problem.message


def test_many_foreign_characters_are_counted_not_all_listed() -> None:
    named = foreign("acct_\u0430\u0430\u0430\u0430\u0430")
    assert named[0] == "U+0430 CYRILLIC SMALL LETTER A at position 6"
    assert len(named) == 4 and named[-1] == "2 more"
