"""End to end: the real CLI, in its own process, against the sandbox over HTTP.

Every assertion about money is made on the sandbox's own state, not on what ledgerrun says.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers.cli import cli, held_by_another_process, rejected_rows, results_rows, write_job
from tests.helpers.constants import (
    CHF,
    EU_PLATFORM,
    EUR,
    EUR_FR,
    GBP,
    JOBS,
    JP_PLATFORM,
    JPY,
    KEY,
    PLATFORM,
    SAMPLE_ACCOUNTS_EU,
    SAMPLE_ACCOUNTS_JP,
    SAMPLES,
    SHORT,
    STRIPE_LOSSES,
    A,
    B,
    C,
)
from tests.helpers.sandbox import balances, debits, make_client, sandbox_state


def row_date(folder: Path) -> str:
    summary = json.loads((folder / "out" / "e2e.results.csv.summary.json").read_text())
    return str(summary["run_date"])


def rows_for(*specs: tuple[str, str, str, str]) -> list[str]:
    """(id, account, amount, currency) -> ledger lines with default method and a description."""
    return [
        f'{i},{a},"{amt}",{cur},,Adjustment {i},INV-{n}' for n, (i, a, amt, cur) in enumerate(specs)
    ]


def test_transfer_debits_move_money_once_and_are_reconciled(tmp_path: Path, sandbox) -> None:
    before = balances(sandbox_state(sandbox.url))
    job = write_job(
        tmp_path,
        sandbox.url,
        rows_for(
            ("T-1", A, "10.00", "usd"),
            ("T-2", A, "1,000.50", "USD"),
            ("T-3", B, "5", "usd"),
        ),
    )
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    after = sandbox_state(sandbox.url)
    assert debits(after, "e2e") == {f"T-{n}": 1 for n in range(1, 4)}
    moved = balances(after)
    assert before[A]["usd"] - moved[A]["usd"] == 1000 + 100050
    assert moved[PLATFORM]["usd"] - before[PLATFORM]["usd"] == 1000 + 100050 + 500
    out = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert [r["adjustment_id"] for r in out] == [f"T-{n}" for n in range(1, 4)]
    by_id = {t["id"]: t for t in after["transfers"]}
    for row in out:
        assert row["status"] == "succeeded" and row["method"] == "transfer"
        transfer = by_id[row["transfer_id"]]
        assert transfer["destination_payment"] == row["payment_id"]
        assert transfer["account"] == row["account"]
        assert transfer["amount"] == int(row["amount_minor"])
        assert transfer["transfer_group"] == "ledgerrun"  # one group for the whole platform
        assert transfer["metadata"]["ledgerrun_job"] == "e2e"
        assert transfer["metadata"]["ledgerrun_run_date"] == row_date(tmp_path)
        assert row["idempotency_key"] == f"ledgerrun.v2:debit:0:{row['adjustment_id'].lower()}"
        assert row["direction"] == "debit" and row["amount"]
        assert row["stripe_request_id"].startswith("req_") and row["completed_at"].endswith("Z")
    summary = json.loads((tmp_path / "out" / "e2e.results.csv.summary.json").read_text())
    assert summary["counts"]["succeeded"] == 3 and summary["exit_code"] == 0
    assert summary["totals"]["usd"]["debit"]["succeeded"] == 1000 + 100050 + 500
    assert (summary["sent_now"], summary["done_earlier"], summary["mode"]) == (3, 0, "sandbox")


def test_a_european_platform_debits_euro_pound_and_franc_accounts(
    tmp_path: Path, make_sandbox
) -> None:
    """Other currencies on a platform that could hold them: a German platform debits accounts
    across Europe, each in its own currency."""
    sandbox = make_sandbox(SAMPLE_ACCOUNTS_EU)
    before = balances(sandbox_state(sandbox.url))
    specs = [("E-1", EUR, "7.25", "eur"), ("E-2", EUR_FR, "1,000.00", "EUR"),
             ("E-3", GBP, "12.50", "gbp"), ("E-4", CHF, "3.10", "chf")]  # fmt: skip
    job = write_job(tmp_path, sandbox.url, rows_for(*specs))
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    moved = balances(sandbox_state(sandbox.url))
    assert moved[EU_PLATFORM]["eur"] - before[EU_PLATFORM]["eur"] == 725 + 100_000
    assert moved[EU_PLATFORM]["gbp"] - before[EU_PLATFORM]["gbp"] == 1250
    assert moved[EU_PLATFORM]["chf"] - before[EU_PLATFORM]["chf"] == 310
    assert before[GBP]["gbp"] - moved[GBP]["gbp"] == 1250
    out = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert [(r["status"], r["currency"]) for r in out] == [
        ("succeeded", "eur"),
        ("succeeded", "eur"),
        ("succeeded", "gbp"),
        ("succeeded", "chf"),
    ]


def test_a_japanese_platform_debits_yen_which_has_no_minor_unit(
    tmp_path: Path, make_sandbox
) -> None:
    sandbox = make_sandbox(SAMPLE_ACCOUNTS_JP)
    before = balances(sandbox_state(sandbox.url))
    job = write_job(tmp_path, sandbox.url, rows_for(("J-1", JPY, "1,200", "jpy")))
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    moved = balances(sandbox_state(sandbox.url))
    assert moved[JP_PLATFORM]["jpy"] - before[JP_PLATFORM]["jpy"] == 1200  # yen, not cents
    (row,) = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert (row["status"], row["amount_minor"], row["currency"]) == ("succeeded", "1200", "jpy")


def test_charge_method_through_a_mapped_finance_export(tmp_path: Path, sandbox) -> None:
    job = tmp_path / "finance.toml"
    text = (JOBS / "finance_export.toml").read_text()
    text = text.replace(
        'ledger = "../data_samples/finance_export.xlsx"',
        f'ledger = "{(SAMPLES / "finance_export.xlsx").as_posix()}"',
    )
    text = text.replace('sandbox = "../data_samples/accounts.json"', f'api_base = "{sandbox.url}"')
    text = text.replace('"../out/', '"out/').replace('"../state/', '"state/')
    job.write_text(text)
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    snapshot = sandbox_state(sandbox.url)
    assert sum(debits(snapshot, "finance-month-end").values()) == 30
    out = results_rows(next((tmp_path / "out").glob("*.results.csv")))
    charges = {c["id"]: c for c in snapshot["charges"]}
    for row in out:
        assert row["status"] == "succeeded" and row["method"] == "charge"
        charge = charges[row["payment_id"]]
        assert charge["source"]["id"] == row["account"]
        assert charge["source_transfer"] == row["transfer_id"]
        assert charge["metadata"]["invoice"] == row["Invoice #"]
    assert out[0]["Approved by"] in ("cfo", "controller")


@pytest.mark.parametrize("suffix", ["csv", "parquet", "xlsx"])
def test_the_sample_ledger_in_every_format(tmp_path: Path, sandbox, suffix: str) -> None:
    job = write_job(
        tmp_path,
        sandbox.url,
        ledger=SAMPLES / f"adjustments.{suffix}",
        name=f"fmt-{suffix}",
        concurrency=8,
    )
    done = cli("run", job)
    assert done.returncode == 1, done.stdout + done.stderr  # one row fails for balance
    out = results_rows(tmp_path / "out" / f"fmt-{suffix}.results.csv")
    failed = [r for r in out if r["status"] == "failed"]
    assert [(r["row"], r["error_code"]) for r in failed] == [("241", "balance_insufficient")]
    assert sum(r["status"] == "succeeded" for r in out) == 239
    counts = debits(sandbox_state(sandbox.url), f"fmt-{suffix}")
    assert len(counts) == 239 and set(counts.values()) == {1}
    assert failed[0]["adjustment_id"] not in counts


def test_balance_failure_moves_nothing_and_is_retried_with_a_new_key(
    tmp_path: Path, sandbox
) -> None:
    short = SHORT
    available = balances(sandbox_state(sandbox.url))[short]["usd"]
    too_much = f"{(available + 1) / 100:.2f}"
    job = write_job(
        tmp_path, sandbox.url, rows_for(("F-1", short, too_much, "usd"), ("F-2", A, "1.00", "usd"))
    )
    first = cli("run", job)
    assert first.returncode == 1
    out = {r["adjustment_id"]: r for r in results_rows(tmp_path / "out" / "e2e.results.csv")}
    assert out["F-1"]["status"] == "failed" and out["F-1"]["error_code"] == "balance_insufficient"
    assert out["F-1"]["transfer_id"] == "" and out["F-1"]["idempotency_key"].endswith(":0:f-1")
    assert "no money moved" in out["F-1"]["error_message"]
    assert balances(sandbox_state(sandbox.url))[short]["usd"] == available
    # Top the account up from the platform, then run again: the failed row gets generation 1.
    client = make_client(sandbox.url)
    client.v1.transfers.create(  # fund the platform from account C, then top up the short one
        {"amount": 200_000, "currency": "usd", "destination": PLATFORM}, {"stripe_account": C}
    )
    client.v1.transfers.create({"amount": 200_000, "currency": "usd", "destination": short})
    second = cli("run", job)
    assert second.returncode == 0, second.stdout + second.stderr
    out = {r["adjustment_id"]: r for r in results_rows(tmp_path / "out" / "e2e.results.csv")}
    assert out["F-1"]["status"] == "succeeded"
    assert out["F-1"]["idempotency_key"] == "ledgerrun.v2:debit:1:f-1"
    assert out["F-2"]["idempotency_key"] == "ledgerrun.v2:debit:0:f-2"
    assert debits(sandbox_state(sandbox.url), "e2e") == {"F-1": 1, "F-2": 1}


def test_rerunning_a_finished_job_sends_no_write(tmp_path: Path, sandbox) -> None:
    job = write_job(
        tmp_path, sandbox.url, rows_for(("R-1", A, "3.00", "usd"), ("R-2", B, "4.00", "usd"))
    )
    assert cli("run", job).returncode == 0
    first = results_rows(tmp_path / "out" / "e2e.results.csv")
    writes = sandbox_state(sandbox.url)["stats"]["write_requests"]
    again = cli("run", job)
    assert again.returncode == 0
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == writes
    second = results_rows(tmp_path / "out" / "e2e.results.csv")
    keep = ("transfer_id", "payment_id", "idempotency_key", "completed_at", "status")
    assert [{k: r[k] for k in keep} for r in first] == [{k: r[k] for k in keep} for r in second]


PREFLIGHT = [
    ("P-ok", A, "1.00", "usd"),
    ("P-standard", "acct_1StandardSSSSSSS", "1.00", "usd"),
    ("P-revoked", "acct_1RevokedRRRRRRRR", "1.00", "usd"),
    ("P-missing", "acct_1NoSuchAccount00", "1.00", "usd"),
    ("P-london", "acct_1LondonLLLLLLLLL", "1.00", "gbp"),
    ("P-currency", B, "1.00", "eur"),
    ("P-stripe-losses", STRIPE_LOSSES, "1.00", "usd"),
    ("P-platform", PLATFORM, "1.00", "usd"),
]
EXPECTED = {
    "P-standard": ("account", "account_not_eligible"),
    "P-revoked": ("account", "account_inaccessible"),
    "P-missing": ("account", "account_inaccessible"),  # Stripe: 403 account_invalid, as revoked
    "P-london": ("account", "region_mismatch"),
    "P-currency": ("currency", "currency_mismatch"),
    "P-stripe-losses": ("account", "account_not_eligible"),
    "P-platform": ("account", "bad_account"),
}


def test_preflight_problems_abort_and_nothing_is_sent(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, rows_for(*PREFLIGHT))
    done = cli("run", job)
    assert done.returncode == 2, done.stdout + done.stderr
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == 0
    results = tmp_path / "out" / "e2e.results.csv"
    assert not results.exists()  # a refused run writes no results of the date...
    out = {r["adjustment_id"]: r for r in rejected_rows(results)}  # ...but its rows, beside
    assert out["P-ok"]["status"] == "skipped"
    for adjustment_id, (_, code) in EXPECTED.items():
        assert (out[adjustment_id]["status"], out[adjustment_id]["error_code"]) == ("invalid", code)
    checked = cli("validate", job, "--format", "json")
    assert checked.returncode == 2
    found = {(p["row"], p["column"], p["code"]) for p in json.loads(checked.stdout)["problems"]}
    rows = {spec[0]: n + 2 for n, spec in enumerate(PREFLIGHT)}
    assert found == {(rows[i], col, code) for i, (col, code) in EXPECTED.items()}


def test_skip_invalid_sends_the_valid_rows_only(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, [*rows_for(*PREFLIGHT), "bad,acct_1A,x,usd,,,"])
    done = cli("run", job, "--skip-invalid")
    assert done.returncode == 1, done.stdout + done.stderr
    assert debits(sandbox_state(sandbox.url), "e2e") == {"P-ok": 1}
    out = results_rows(tmp_path / "out" / "e2e.results.csv")
    # every pre-flight problem of PREFLIGHT (all but P-ok), and the bad line
    assert [r["status"] for r in out] == ["succeeded"] + ["invalid"] * len(PREFLIGHT)


def test_changed_adjustment_is_a_conflict_and_never_sent(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, rows_for(("C-1", A, "2.00", "usd")))
    assert cli("run", job).returncode == 0
    write_job(tmp_path, sandbox.url, rows_for(("C-1", A, "2.50", "usd"), ("C-2", A, "1.00", "usd")))
    done = cli("run", job)
    assert done.returncode == 2
    results = tmp_path / "out" / "e2e.results.csv"
    (kept,) = results_rows(results)  # the date's results still hold what moved
    assert (kept["adjustment_id"], kept["status"]) == ("C-1", "succeeded") and kept["transfer_id"]
    out = {r["adjustment_id"]: r for r in rejected_rows(results)}
    assert (out["C-1"]["status"], out["C-1"]["error_code"]) == ("succeeded", "adjustment_conflict")
    assert out["C-1"]["transfer_id"] == kept["transfer_id"]  # it keeps its ids, never invalid
    assert "amount_minor 200 -> 250" in out["C-1"]["error_message"]
    assert out["C-2"]["status"] == "skipped" and "Refused" in done.stdout
    assert debits(sandbox_state(sandbox.url), "e2e") == {"C-1": 1}


def test_a_second_run_of_the_job_exits_4(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, rows_for(("L-1", A, "1.00", "usd")))
    lock_it = (
        "import sys; from ledgerrun.store import open_store\n"
        "j = open_store(sys.argv[1]); j.lock('e2e')"
    )
    with held_by_another_process(lock_it, tmp_path / "state" / "e2e.sqlite"):
        done = cli("run", job)
        assert done.returncode == 4, done.stdout + done.stderr
        assert "another run" in done.stderr and "Traceback" not in done.stderr
        assert sandbox_state(sandbox.url)["stats"]["write_requests"] == 0
    assert cli("run", job).returncode == 0  # the lock died with its process


def test_dry_run_sends_nothing_and_writes_results(tmp_path: Path, sandbox) -> None:
    job = write_job(
        tmp_path,
        sandbox.url,
        rows_for(("D-1", A, "1.00", "usd"), ("D-2", "acct_1StandardSSSSSSS", "1.00", "usd")),
    )
    done = cli("run", job, "--dry-run", "--skip-invalid")
    assert done.returncode == 1  # one row is invalid
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == 0
    assert "dry run: nothing sent" in done.stdout
    assert not (tmp_path / "out" / "e2e.results.csv").exists()  # the real files are not touched
    out = results_rows(tmp_path / "out" / "e2e.results.dry-run.csv")
    assert [(r["status"], r["error_code"]) for r in out] == [
        ("skipped", "dry_run"),
        ("invalid", "account_not_eligible"),
    ]
    clean = write_job(tmp_path / "clean", sandbox.url, rows_for(("D-3", A, "1.00", "usd")))
    assert cli("run", clean, "--dry-run").returncode == 0
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == 0


def test_max_total_with_skip_sends_up_to_the_limit(tmp_path: Path, sandbox) -> None:
    job = write_job(
        tmp_path,
        sandbox.url,
        rows_for(("M-1", A, "6.00", "usd"), ("M-2", A, "6.00", "usd"), ("M-3", B, "3.00", "usd")),
        extra='on_invalid = "skip"\n[limits]\nmax_total = { usd = "10.00" }',
    )
    done = cli("run", job)
    assert done.returncode == 1
    out = results_rows(tmp_path / "out" / "e2e.results.csv")
    assert [(r["status"], r["error_code"]) for r in out] == [
        ("succeeded", ""),
        ("skipped", "over_max_total"),
        ("succeeded", ""),
    ]
    assert debits(sandbox_state(sandbox.url), "e2e") == {"M-1": 1, "M-3": 1}


def test_the_key_never_appears_in_any_output_or_file(tmp_path: Path, sandbox) -> None:
    job = write_job(
        tmp_path,
        sandbox.url,
        rows_for(("K-1", A, "1.00", "usd"), ("K-2", SHORT, "99999.00", "usd")),
    )
    outputs = [cli("run", job), cli("status", job), cli("validate", job), cli("plan", job)]
    outputs.append(cli("run", job, env={"STRIPE_API_KEY": KEY.replace("test", "live")}))
    texts = [o.stdout + o.stderr for o in outputs]
    texts += [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()]
    secret = KEY.split("_", 2)[2]
    for text in texts:
        for start in range(0, len(secret) - 8):
            assert secret[start : start + 9] not in text


def test_live_key_needs_live_flag_and_missing_key_is_clear(tmp_path: Path, sandbox) -> None:
    job = write_job(tmp_path, sandbox.url, rows_for(("Z-1", A, "1.00", "usd")))
    fake_live = "sk_" + "live_abcdefghijklmnop1234"  # built, so no scanner takes it for a secret
    live = cli("run", job, env={"STRIPE_API_KEY": fake_live})
    assert live.returncode == 2 and "need --live" in live.stderr and "…1234" in live.stderr
    assert "abcdefgh" not in live.stderr
    missing = cli("run", job, env={"STRIPE_API_KEY": ""})
    assert missing.returncode == 2 and "STRIPE_API_KEY" in missing.stderr
    refused = cli("run", job, "--live", env={"STRIPE_API_KEY": fake_live})
    assert refused.returncode == 2 and "refused the API key" in refused.stderr
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == 0


def test_status_lists_runs_and_counts(tmp_path: Path, sandbox) -> None:
    job = write_job(
        tmp_path,
        sandbox.url,
        rows_for(("S-1", A, "1.00", "usd"), ("S-2", SHORT, "99999.00", "usd")),
    )
    assert cli("status", job).stdout.startswith("Job e2e has not run yet")
    cli("run", job)
    time.sleep(1.1)  # run ids carry the second they started
    cli("run", job)
    shown = json.loads(cli("status", job, "--format", "json").stdout)
    (date,) = shown["dates"]
    assert {k: v for k, v in shown["dates"][date].items() if v} == {"succeeded": 1, "failed": 1}
    assert [r["exit_code"] for r in shown["runs"]] == [1, 1]
    assert [r["state"] for r in shown["runs"]] == ["finished", "finished"]
    assert shown["runs"][1]["counts"]["succeeded"] == 1 and shown["running"] is None
    assert shown["runs"][0]["run_date"] == date and shown["runs"][0]["mode"] == "sandbox"
    assert shown["runs"][0]["ledger"].endswith("ledger.csv") and shown["runs"][0]["host"]
    text = cli("status", job).stdout
    assert "failed 1" in text and "succeeded 1" in text and date in text


def test_plan_online_shows_balances_and_warns_when_short(tmp_path: Path, sandbox) -> None:
    job = write_job(
        tmp_path,
        sandbox.url,
        rows_for(("B-1", A, "1.00", "usd"), ("B-2", SHORT, "99999.00", "usd")),
    )
    done = cli("plan", job, "--format", "json")
    assert done.returncode == 0, done.stderr
    groups = {g["account"]: g for g in json.loads(done.stdout)["groups"]}
    assert groups[A]["available"] == balances(sandbox_state(sandbox.url))[A]["usd"]
    assert groups[SHORT]["short"] is True and groups[A]["short"] is False
    text = cli("plan", job).stdout
    assert "short by" in text and "fails unless reserves cover it" in text
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == 0
