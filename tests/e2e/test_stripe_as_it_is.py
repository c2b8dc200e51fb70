"""Stripe as it is (issue 20), with the real command line against the sandbox: the API version
held still, and a run paced under Stripe's limits without a storm of 429s."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ledgerrun.stripe.sdk import pinned_version
from tests.helpers.cli import cli, results_rows, write_job
from tests.helpers.constants import A, B, C
from tests.helpers.sandbox import debits, sandbox_state

OLDER = "2025-03-31.basil"  # a version Stripe published before the one the SDK pins


def test_every_request_carries_the_api_version_and_the_summary_records_it(
    tmp_path: Path, sandbox
) -> None:
    job = write_job(tmp_path, sandbox.url, [f"V-1,{A},1.00,usd,,,INV"])
    assert cli("run", job).returncode == 0
    versions = sandbox_state(sandbox.url)["stats"]["api_versions"]
    assert set(versions) == {pinned_version()}
    summary = (tmp_path / "out" / "e2e.results.csv.summary.json").read_text()
    assert f'"api_version": "{pinned_version()}"' in summary


def test_a_new_sdk_version_is_never_taken_silently(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, [f"V-1,{A},1.00,usd,,,INV"])
    assert cli("run", job).returncode == 0
    # The store's runs so far used an older version (an SDK upgrade since moved the pin).
    with sqlite3.connect(tmp_path / "state" / "e2e.sqlite") as conn:
        conn.execute("UPDATE runs SET api_version = ?", (OLDER,))
    (tmp_path / "ledger.csv").write_text(
        (tmp_path / "ledger.csv").read_text() + f"V-2,{B},2.00,usd,,,INV\n"
    )
    refused = cli("run", job)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert OLDER in refused.stderr and pinned_version() in refused.stderr
    assert debits(sandbox_state(sandbox.url), "e2e") == {"V-1": 1}
    text = job.read_text().replace("[stripe]\n", f'[stripe]\napi_version = "{OLDER}"\n')
    job.write_text(text)
    kept = cli("run", job)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert sandbox_state(sandbox.url)["stats"]["api_versions"].get(OLDER, 0) > 0
    assert debits(sandbox_state(sandbox.url), "e2e") == {"V-1": 1, "V-2": 1}


def test_the_sandbox_refuses_a_version_stripe_never_published(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, [f"V-1,{C},1.00,usd,,,INV"])
    job.write_text(job.read_text().replace("[stripe]\n", '[stripe]\napi_version = "2019-13-45"\n'))
    done = cli("run", job)
    assert done.returncode == 2 and "Invalid Stripe API version" in done.stderr
    assert debits(sandbox_state(sandbox.url), "e2e") == {}


def test_a_platform_where_stripe_offers_no_account_debits_is_warned_and_stripe_decides(
    tmp_path: Path, make_sandbox
) -> None:
    """Stripe's availability table does not list Singapore: pre-flight warns
    region_not_supported (plan and run), sends anyway, and Stripe's refusal is the row's
    verdict: failed, nothing moved. A credit is not a debit and moves."""
    account = "acct_1ConnSG00000001"
    seed = {
        "platform": {"id": "acct_1PlatformSG000001", "country": "SG", "default_currency": "sgd",
                     "balance": {"sgd": 100_000}},
        "accounts": [{"id": account, "type": "express", "country": "SG",
                      "default_currency": "sgd", "balance": {"sgd": 100_000}}],
    }  # fmt: skip
    sandbox = make_sandbox(seed)
    ledger = tmp_path / "sg.csv"
    ledger.write_text(
        "adjustment_id,account,amount,currency,direction\n"
        f"SG-1,{account},5.00,sgd,debit\nSG-2,{account},2.00,sgd,credit\n"
    )
    job = write_job(tmp_path, sandbox.url, ledger=ledger)
    plan = cli("plan", job)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "Warning: region_not_supported" in plan.stdout and "in SG" in plan.stdout
    done = cli("run", job)
    assert done.returncode == 1 and "region_not_supported" in done.stdout + done.stderr
    rows = {r["adjustment_id"]: r for r in results_rows(tmp_path / "out" / "e2e.results.csv")}
    assert (rows["SG-1"]["status"], rows["SG-1"]["error_code"]) == (
        "failed",
        "transfers_not_allowed",
    )
    assert rows["SG-2"]["status"] == "succeeded"
