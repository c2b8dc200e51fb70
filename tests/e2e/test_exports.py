"""Finance's exports as they come (issue 23), end to end: each shipped job runs its export,
unedited, through the real command line against the sandbox, and the sandbox's books hold
exactly the debits and credits the export says. The daily sheet exported again, with its dates
written the way Excel rewrites them, sends nothing, with its journal or without it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import cli, results_rows
from tests.helpers.constants import JOBS, PLATFORM, RUN_DATE, SAMPLES
from tests.helpers.sandbox import balances, sandbox_state

EXPORTS = SAMPLES / "exports"
SOAK = pytest.mark.soak


def run(command: str, job: str, tmp_path: Path, url: str, *extra: object) -> Any:
    return cli(
        command,
        JOBS / f"{job}.toml",
        "--api-base",
        url,
        "--journal",
        tmp_path / "journal.sqlite",
        "--date",
        RUN_DATE.isoformat(),
        *extra,
    )


def books(url: str, job: str) -> dict[str, dict[str, int]]:
    """What the sandbox holds of the job: per direction, per account, minor units moved."""
    out: dict[str, dict[str, int]] = {"debit": {}, "credit": {}}
    snapshot = sandbox_state(url)
    for obj in [*snapshot["transfers"], *snapshot["charges"]]:
        if (obj.get("metadata") or {}).get("ledgerrun_job") != job:
            continue
        if obj["object"] == "charge":
            way, account = "debit", obj["source"]["id"]
        elif obj["account"] == PLATFORM:
            way, account = "credit", obj["destination"]
        else:
            way, account = "debit", obj["account"]
        out[way][account] = out[way].get(account, 0) + int(obj["amount"])
    return out


def total(amounts: dict[str, int]) -> str:
    return f"{Decimal(sum(amounts.values())) / 100:.2f}"


@pytest.mark.parametrize(
    ("job", "name", "rows", "debits", "credits"),
    [
        ("netsuite", "netsuite-adjustments", 30, "31973.44", "144.04"),
        ("german_excel", "german-excel", 16, "16754.31", "92.00"),
        # make soak: the other exports (each is read in tests/ingest; these also send it)
        pytest.param("quickbooks", "quickbooks-journal", 24, "18726.51", "310.01", marks=SOAK),
        pytest.param("xero", "xero-transactions", 20, "8614.39", "322.30", marks=SOAK),
        pytest.param("daily_sheet", "daily-fees", 32, "1093.89", "0.00", marks=SOAK),
    ],
)
def test_each_export_runs_unedited_and_the_books_hold_what_it_says(
    tmp_path: Path, sandbox: Any, job: str, name: str, rows: int, debits: str, credits: str
) -> None:
    start = balances(sandbox_state(sandbox.url))
    results = tmp_path / "out" / f"{job}.results.csv"
    plan = run("plan", job, tmp_path, sandbox.url, "--format", "json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    planned = json.loads(plan.stdout)
    assert planned["valid"] and sum(g["todo"] for g in planned["groups"]) == rows
    done = run("run", job, tmp_path, sandbox.url, "--results", results)
    assert done.returncode == 0, done.stdout + done.stderr
    moved = books(sandbox.url, name)
    assert (total(moved["debit"]), total(moved["credit"])) == (debits, credits)
    end = balances(sandbox_state(sandbox.url))
    for account in set(moved["debit"]) | set(moved["credit"]):
        change = start[account]["usd"] - end[account]["usd"]
        assert change == moved["debit"].get(account, 0) - moved["credit"].get(account, 0)
    out = results_rows(results)
    assert len(out) == rows and {r["status"] for r in out} == {"succeeded"}
    summary = json.loads(results.with_name(results.name + ".summary.json").read_text())
    line = summary["control_total"]
    if line is not None:  # the plan's figures are the check's, and the run records them
        assert line["matches"] is True
        assert {key: planned["control_total"][key] for key in line} == line
        assert line["debits"].replace(",", "") == debits


def test_the_daily_sheet_exported_again_sends_nothing(tmp_path: Path, sandbox: Any) -> None:
    first = tmp_path / "out" / "first.results.csv"
    done = run("run", "daily_sheet", tmp_path, sandbox.url, "--results", first)
    assert done.returncode == 0, done.stdout + done.stderr
    sent = books(sandbox.url, "daily-fees")
    assert sum(len(accounts) for accounts in sent.values()) == 16
    ids = [r["adjustment_id"] for r in results_rows(first)]
    assert ids[0] == "2026-12-01-acct_1connaa000000" and len(set(ids)) == 32
    again = EXPORTS / "daily_sheet_reexported.csv"
    plan = run("plan", "daily_sheet", tmp_path, sandbox.url, "--ledger", again, "--format", "json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    groups = json.loads(plan.stdout)["groups"]
    assert sum(g["done"] for g in groups) == 32 and sum(g["todo"] for g in groups) == 0
    second = tmp_path / "out" / "second.results.csv"
    done = run("run", "daily_sheet", tmp_path, sandbox.url, "--ledger", again, "--results", second)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = results_rows(second)
    assert [r["adjustment_id"] for r in rows] == ids
    assert [r["transfer_id"] for r in rows] == [r["transfer_id"] for r in results_rows(first)]
    # The journal lost: Stripe's books still know every adjustment by its built id.
    lost = tmp_path / "lost"
    lost.mkdir()
    third = tmp_path / "out" / "third.results.csv"
    done = run("run", "daily_sheet", lost, sandbox.url, "--ledger", again, "--results", third)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {r["status"] for r in results_rows(third)} == {"succeeded"}
    summary = json.loads(third.with_name(third.name + ".summary.json").read_text())
    assert summary["sent_now"] == 0 and summary["done_earlier"] == 32
    assert books(sandbox.url, "daily-fees") == sent
    snapshot = sandbox_state(sandbox.url)
    made = [t for t in snapshot["transfers"] if t["metadata"].get("ledgerrun_job") == "daily-fees"]
    assert len(made) == 32
