"""How many metadata columns a ledger may have: one figure, from the facts, everywhere (issue 24).

Stripe allows ``facts.METADATA_MAX_KEYS`` keys on an object; ledgerrun puts its own on every debit
and credit (``send.keys.metadata``); the rest is the ledger's. The docs once promised 48 where the
product allowed 45. These tests tie the code that makes the keys, the count, the messages and the
docs together, so a key added to ``metadata()`` moves every one of them.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from ledgerrun import metadata_keys
from ledgerrun.ingest.validate import check
from ledgerrun.jobfile import load_target
from ledgerrun.send.keys import metadata
from ledgerrun.stripe import facts
from ledgerrun.vocab import FIXES
from tests.helpers.constants import ROOT, RUN_DATE


def every_part() -> dict[str, Any]:
    """A value for every part ``metadata()`` takes (the row's own metadata aside)."""
    return {
        name: "x"
        for name, parameter in inspect.signature(metadata).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "extra"
    }


def everything_ledgerrun_sets() -> dict[str, str]:
    return metadata(**every_part())


def test_the_count_is_of_the_keys_metadata_puts_on_every_movement() -> None:
    own = {k for k in everything_ledgerrun_sets() if k.startswith(metadata_keys.PREFIX)}
    assert own == set(metadata_keys.ON_MOVEMENTS)
    assert len(own) == metadata_keys.RESERVED
    assert metadata_keys.LEDGER_MAX == facts.METADATA_MAX_KEYS - len(own) == 44


def test_a_ledger_with_the_most_columns_fits_stripe_and_one_more_is_refused(write) -> None:
    most = metadata_keys.LEDGER_MAX
    extra = {f"k{i}": "v" for i in range(most)}
    assert len(metadata(**every_part(), extra=extra)) == facts.METADATA_MAX_KEYS
    header = "adjustment_id,account,amount,currency"
    for count in (most, most + 1):
        keys = ",".join(f"metadata.k{i}" for i in range(count))
        path = write(f"l{count}.csv", f"{header},{keys}\nA,acct_1A,1,usd{',v' * count}\n")
        v = check(load_target(path, RUN_DATE))
        if count == most:
            assert v.ok, v.problems
        else:
            (problem,) = v.problems
            assert problem.code == "bad_metadata"
            assert f"at most {most} fit beside ledgerrun's own {metadata_keys.RESERVED}" in (
                problem.message
            )


def test_the_advice_states_the_figures_of_the_facts() -> None:
    advice = FIXES["bad_metadata"]
    assert f"at most {metadata_keys.LEDGER_MAX} keys" in advice
    assert f"{facts.METADATA_KEY_MAX_CHARS} characters" in advice
    assert f"{facts.METADATA_VALUE_MAX_CHARS} characters" in advice
    assert f"{facts.DESCRIPTION_MAX_CHARS:,} characters" in FIXES["description_too_long"]


def test_the_ledger_docs_state_the_figures_of_the_facts() -> None:
    """docs/ledger.md's metadata row: every figure it states is the product's."""
    text = (ROOT / "docs" / "ledger.md").read_text(encoding="utf-8")
    (row,) = [line for line in text.splitlines() if line.startswith("| `metadata.KEY`")]
    figures = {
        "keys up to": facts.METADATA_KEY_MAX_CHARS,
        "values up to": facts.METADATA_VALUE_MAX_CHARS,
        "at most": metadata_keys.LEDGER_MAX,
        "Stripe allows": facts.METADATA_MAX_KEYS,
        "ledgerrun uses": metadata_keys.RESERVED,
    }
    for words, figure in figures.items():
        stated = re.search(rf"{words} (\d+)", row)
        assert stated is not None, f"docs/ledger.md no longer says '{words} N' for metadata"
        assert int(stated.group(1)) == figure, (words, stated.group(0), figure)
