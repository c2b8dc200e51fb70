"""A Stripe key in a ledger cell is ``secret_in_ledger``, and is never written (issue 24)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledgerrun.ingest.secret_cells import redacted
from ledgerrun.ingest.validate import check
from ledgerrun.jobfile import load_target
from ledgerrun.vocab import FIXES
from tests.helpers.cli import cli
from tests.helpers.constants import KEY, RUN_DATE
from tests.helpers.stages import plan_of
from tests.ingest.conftest import Validate, found

HEADER = "adjustment_id,account,amount,currency,description,metadata.invoice,note"
# Key-shaped texts, built so that no scanner takes this file for one holding real keys.
LIVE = "rk_" + "live_" + "51AbCdEfGhIjKlMnOpQr7788"
TEST = "sk_" + "test_" + "4eC39HqLyjWDarjtT1zdp7dc"


def secrets_of(text: str) -> list[str]:
    """The parts of a key that must never be written: all but its prefix and last 4."""
    return [k.split("_", 2)[2][:-4] for k in (KEY, LIVE, TEST)]


@pytest.mark.parametrize(
    ("line", "column"),
    [
        (f"{TEST},acct_1A,1.00,usd,,,", "adjustment_id"),
        (f"A-1,{TEST},1.00,usd,,,", "account"),
        (f"A-1,acct_1A,{TEST},usd,,,", "amount"),
        (f"A-1,acct_1A,1.00,{TEST},,,", "currency"),
        (f"A-1,acct_1A,1.00,usd,key: {TEST} (test),,", "description"),
        (f"A-1,acct_1A,1.00,usd,,{LIVE},", "metadata.invoice"),
        (f'A-1,acct_1A,1.00,usd,,,"copied ""{LIVE}"" from chat"', "note"),
        (f"A-1,acct_1A,1.00,usd,,,x={TEST}", "note"),
        (f"A-1,acct_1A,1.00,usd,,,({TEST.upper()[:3]}{TEST[3:]})", None),  # not a prefix
    ],
)
def test_a_key_shaped_value_in_any_column_is_refused_and_redacted(
    validated: Validate, line: str, column: str | None
) -> None:
    v = validated(f"{HEADER}\n{line}\nB-1,acct_1B,2.00,usd,,,\n")
    if column is None:
        assert v.ok
        return
    secret = [p for p in v.problems if p.code == "secret_in_ledger"]
    assert [(p.row, p.column) for p in secret] == [(2, column)]
    assert {p.column for p in v.problems if p.row == 2} == {column}  # nothing else on that cell
    assert v.valid.to_pylist() == [False, True]
    problem = secret[0]
    assert "…7788" in problem.value or "…p7dc" in problem.value
    assert "…" in problem.message and problem.fix == FIXES["secret_in_ledger"]
    everything = json.dumps(
        [p.to_json() for p in v.problems] + v.ledger.table.to_pylist() + v.ledger.extras.to_pylist()
    )
    for part in secrets_of(everything):
        assert part not in everything


@pytest.mark.parametrize(
    "text",
    [
        "task_test_2026_11_ledger_1",  # the prefix inside a word
        "sk_test_short",  # too short to be a key
        "use an sk_live_ key",
        "rk_test_",
    ],
)
def test_words_that_only_resemble_a_key_pass(validated: Validate, text: str) -> None:
    assert validated(f"{HEADER}\nA-1,acct_1A,1.00,usd,{text},,\n").ok


def test_the_key_in_use_is_found_whatever_its_shape(write, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key the job's environment variable holds is matched as written, even where its
    shape alone would pass (short, glued to a word)."""
    short = "sk_" + "test_" + "Ab12"
    path = write("l.csv", f"{HEADER}\nA-1,acct_1A,1.00,usd,ref{short},,\nB-1,acct_1B,1,usd,,,\n")
    job = write("j.toml", '[job]\nname = "t"\nledger = "l.csv"\n[stripe]\napi_key_env = "K"\n')
    monkeypatch.delenv("K", raising=False)
    assert check(load_target(job, RUN_DATE)).ok  # without the key, a word like any other
    monkeypatch.setenv("K", short)
    v = check(load_target(job, RUN_DATE))
    assert found(v) == [(2, "description", "secret_in_ledger")]
    assert short not in json.dumps([p.to_json() for p in v.problems])
    assert short not in json.dumps(v.ledger.table.to_pylist())
    monkeypatch.setenv("K", "not a key at all")  # a malformed key is never looked for
    assert check(load_target(path, RUN_DATE)).ok


def test_a_key_on_the_totals_line_is_reported_there(validated: Validate) -> None:
    v = validated(
        f"{HEADER}\nA-1,acct_1A,1.00,usd,,,\n,,1.00,,Total {TEST},,\n",
    )
    assert found(v) == [(3, "description", "secret_in_ledger")]
    assert TEST not in repr(v.ledger.totals)
    assert v.valid.to_pylist() == [True]


def test_a_key_in_a_ragged_row_is_not_quoted(validated: Validate) -> None:
    v = validated(f"adjustment_id,account,amount,currency\nA-1,acct_1A,1.00,usd,{TEST}\n")
    assert v.problems and all(TEST not in p.message + p.value for p in v.problems)


def test_redacted_keeps_at_most_the_last_four_characters() -> None:
    assert redacted(f"a {TEST} b {LIVE}") == "a …p7dc b …7788"
    assert redacted("sk_test_abc", "sk_test_abc") == "…"


def test_the_plan_never_holds_the_key(validated: Validate) -> None:
    v = validated(f"{HEADER}\nA-1,acct_1A,1.00,usd,{TEST},,\nB-1,acct_1B,2.00,usd,,{LIVE},\n")
    plan = plan_of(v)
    assert TEST[8:-4] not in repr(plan) and LIVE[8:-4] not in repr(plan)


def test_validate_on_the_command_line_never_prints_the_key(write) -> None:
    path = write("l.csv", f"{HEADER}\nA-1,acct_1A,1.00,usd,{KEY},,{TEST}\n")
    for fmt in ("text", "json"):
        done = cli("validate", "--offline", "--format", fmt, path)
        assert done.returncode == 2 and "secret_in_ledger" in done.stdout
        for part in secrets_of(""):
            assert part not in done.stdout + done.stderr
    assert Path(path).read_text().count(KEY) == 1  # the ledger itself is the user's, untouched
