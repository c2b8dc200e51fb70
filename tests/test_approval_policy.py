"""A job's approval policy: the [approval] table as the job file gives it (version 2's
[job] approval still working), and how many distinct approvers a batch needs and has."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ledgerrun.approval_policy import Policy, Rule, counted, moved, standing
from ledgerrun.errors import ConfigError
from ledgerrun.jobfile import load_job_file

MINIMAL = '[job]\nname = "j"\nledger = "l.csv"\n'
RULE = '[approval]\nrules = [{ above = "10000.00", currency = "usd", approvers = 2 }]\n'


def job_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "j.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_approval_table_is_read(tmp_path: Path) -> None:
    job = load_job_file(job_file(tmp_path, MINIMAL + "[approval]\nrequired = true\n" + RULE[11:]))
    assert job.approval == "required"
    assert job.policy == Policy(True, (Rule(1_000_000, "usd", 2),))
    assert job.approval_rules[0].describe() == (
        "above 10,000.00 USD moved (debits plus credits): 2 approvers"
    )


def test_version_2s_job_approval_keeps_working(tmp_path: Path) -> None:
    job = load_job_file(job_file(tmp_path, MINIMAL + 'approval = "required"\n'))
    assert job.policy == Policy(True, ())
    agreeing = MINIMAL + 'approval = "required"\n[approval]\nrequired = true\n'
    assert load_job_file(job_file(tmp_path, agreeing)).policy.required
    assert not load_job_file(job_file(tmp_path, MINIMAL)).policy.any


@pytest.mark.parametrize(
    ("old", "new"),
    [('"required"', "false"), ('"none"', "true")],
)
def test_both_keys_disagreeing_is_refused_naming_both(tmp_path: Path, old: str, new: str) -> None:
    text = MINIMAL + f"approval = {old}\n[approval]\nrequired = {new}\n"
    with pytest.raises(ConfigError) as caught:
        load_job_file(job_file(tmp_path, text))
    assert "'job.approval'" in str(caught.value) and "'approval.required'" in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ("required = 1", "'approval.required' must be true or false"),
        ("needed = 2", "unknown key 'approval.needed'"),
        ('rules = { above = "1" }', "'approval.rules' must be a list of tables"),
        ('rules = [{ above = 100.5, currency = "usd", approvers = 2 }]',
         "'approval.rules[1].above' must be written in quotes"),
        ('rules = [{ above = "100", currency = "usx", approvers = 2 }]',
         "'approval.rules[1].currency': 'usx' is not an ISO 4217 currency code"),
        ('rules = [{ above = "100", currency = "usd", approvers = 0 }]',
         "'approval.rules[1].approvers' must be between 1 and 10"),
        ('rules = [{ above = "100", currency = "usd" }]', "'approval.rules[1]' needs 'approvers'"),
        ('rules = [{ above = "1.001", currency = "usd", approvers = 2 }]',
         "'approval.rules[1].above'"),
        ('rules = [{ above = "1", currency = "usd", approvers = 2, who = "x" }]',
         "unknown key 'who' in 'approval.rules[1]'"),
    ],
)  # fmt: skip
def test_a_bad_approval_table_names_its_key(tmp_path: Path, table: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        load_job_file(job_file(tmp_path, MINIMAL + f"[approval]\n{table}\n"))
    assert needle in str(caught.value)


def totals(debits: dict[str, int], credits: dict[str, int] | None = None) -> dict[str, Any]:
    credits = credits or {}
    net = {c: debits.get(c, 0) - credits.get(c, 0) for c in sorted({*debits, *credits})}
    return {"rows": 3, "debits": debits, "credits": credits, "net": net}


def test_a_rule_compares_the_gross_each_currency_alone() -> None:
    policy = Policy(rules=(Rule(1_000_000, "usd", 2),))
    # 6,000 USD taken and 6,000 USD paid out: nets to nothing, moves 12,000
    both_ways = totals({"usd": 600_000}, {"usd": 600_000})
    assert moved(both_ways, "usd") == 1_200_000 and both_ways["net"] == {"usd": 0}
    assert policy.needed(both_ways) == 2
    assert "it moves 12,000.00 USD" in policy.reasons(both_ways)[0]
    # 9,000 USD and 9,000 EUR: each currency alone is under the rule's amount
    assert policy.needed(totals({"usd": 900_000, "eur": 900_000})) == 0
    assert policy.needed(totals({"usd": 1_000_000})) == 0  # above, strictly
    assert policy.needed(totals({"usd": 1_000_001})) == 2
    required = Policy(required=True, rules=policy.rules)
    assert required.needed(totals({"usd": 1})) == 1


@dataclass
class D:
    decision: str
    by: str
    totals: dict[str, Any] = field(default_factory=dict)


def test_approvers_are_distinct_never_the_uploader_and_for_these_totals() -> None:
    now = totals({"usd": 2_000_000})
    policy = Policy(rules=(Rule(1_000_000, "usd", 2),))
    assert standing(policy, now, [D("approved", "ada", now)], "pat").missing == 1
    twice = [D("approved", "ada", now), D("approved", "ada", now)]
    assert standing(policy, now, twice, "pat").approvers == ("ada",)
    own = [D("approved", "pat", now), D("approved", "ada", now)]
    assert not standing(policy, now, own, "pat").approved
    other = [D("approved", "bob", totals({"usd": 1})), D("approved", "ada", now)]
    found = standing(policy, now, other, "pat")
    assert found.approvers == ("ada",) and found.stale == ("bob",) and not found.approved
    two = [D("approved", "ada", now), D("approved", "bob", now)]
    assert standing(policy, now, two, "pat").approved
    ended = [D("approved", "ada", now), D("sent_back", "bob", now), D("approved", "cy", now)]
    found = standing(policy, now, ended, "pat")
    assert (found.ended, found.ended_by, found.approved) == ("sent_back", "bob", False)
    assert counted(0, now, []).approved  # nothing needed: nothing to wait for
