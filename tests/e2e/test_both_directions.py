"""Both directions and undo (issue 13): credits, reversals of a bad batch, and consent, judged on
the sandbox's books, with balances conserved in every test."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from ledgerrun_sandbox import Faults
from tests.helpers.cli import cli, results_rows, start_cli
from tests.helpers.constants import PLATFORM, A, B, C
from tests.helpers.sandbox import advance_clock, balances, debits, make_client, sandbox_state

HEADER = "adjustment_id,account,amount,currency,direction,method,description"


def job_for(folder: Path, url: str, lines: list[str], extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ledger.csv").write_text("\n".join([HEADER, *lines]) + "\n")
    job = folder / "mixed.toml"
    job.write_text(
        f'[job]\nname = "mixed"\nledger = "ledger.csv"\nresults = "out/mixed.results.csv"\n'
        f'journal = "state/journal.sqlite"\n{extra}\n'
        f'[stripe]\napi_base = "{url}"\nrate_limit = 200\n'
        f'limits = "off"\nconcurrency = 4\ntimeout_s = 10\n'
    )
    return job


def total(url: str) -> dict[str, int]:
    """Every balance added up per currency: money only moves, it never appears or vanishes."""
    out: dict[str, int] = {}
    for balance in balances(sandbox_state(url)).values():
        for currency, amount in balance.items():
            out[currency] = out.get(currency, 0) + amount
    return out


def moved(url: str, account: str) -> int:
    return int(balances(sandbox_state(url))[account]["usd"])


MIXED = [
    f"D-1,{A},10.00,usd,debit,,first debit",
    f"D-2,{B},20.00,usd,,charge,second debit by charge",
    f"C-1,{C},5.00,usd,credit,,a credit",
    f"C-2,{A},2.50,usd,credit,,another credit",
]


def test_a_mixed_ledger_moves_money_both_ways_and_plan_shows_them_apart(
    tmp_path: Path, sandbox
) -> None:
    start = total(sandbox.url)
    before = balances(sandbox_state(sandbox.url))
    job = job_for(tmp_path, sandbox.url, MIXED)
    plan = cli("plan", job)
    assert plan.returncode == 0 and "Credits: 7.50 USD" in plan.stdout and "Net:" in plan.stdout
    done = cli("run", job)
    assert done.returncode == 0, done.stdout + done.stderr
    after = balances(sandbox_state(sandbox.url))
    assert before[A]["usd"] - after[A]["usd"] == 1000 - 250
    assert before[B]["usd"] - after[B]["usd"] == 2000
    assert after[C]["usd"] - before[C]["usd"] == 500
    assert after[PLATFORM]["usd"] - before[PLATFORM]["usd"] == 3000 - 750
    rows = {r["adjustment_id"]: r for r in results_rows(tmp_path / "out" / "mixed.results.csv")}
    assert rows["C-1"]["direction"] == "credit" and rows["C-1"]["method"] == ""
    credit = next(
        t for t in sandbox_state(sandbox.url)["transfers"] if t["id"] == rows["C-1"]["transfer_id"]
    )
    assert credit["account"] == PLATFORM and credit["destination"] == C
    assert credit["destination_payment"] == rows["C-1"]["payment_id"]
    assert rows["C-1"]["idempotency_key"] == "ledgerrun.v2:credit:0:c-1"
    assert cli("reconcile", job).returncode == 0
    assert total(sandbox.url) == start


def test_a_whole_batch_is_reversed_exactly_once_and_reconciles_clean(
    tmp_path: Path, sandbox
) -> None:
    start = total(sandbox.url)
    before = balances(sandbox_state(sandbox.url))
    job = job_for(tmp_path, sandbox.url, MIXED)
    assert cli("run", job).returncode == 0
    dry = cli("reverse", job, "--all", "--dry-run")
    assert dry.returncode == 0 and "dry run: nothing reversed" in dry.stdout
    assert (tmp_path / "out" / "mixed.results.reversals.dry-run.csv").exists()
    done = cli("reverse", job, "--all", "--reason", "wrong batch")
    assert done.returncode == 0, done.stdout + done.stderr
    assert balances(sandbox_state(sandbox.url)) == before  # every cent is back where it was
    lines = results_rows(tmp_path / "out" / "mixed.results.reversals.csv")
    assert {r["status"] for r in lines} == {"succeeded"} and len(lines) == 4
    assert all(r["transfer_reversal_id"].startswith("trr_") for r in lines)
    assert all(
        r["reason"] == "wrong batch" and r["reversal_id"] == r["adjustment_id"] for r in lines
    )
    by_id = {r["adjustment_id"]: r for r in lines}
    # A debit (of either method) is undone as Stripe documents: a refund of the platform's
    # payment, which reverses the account's transfer; a credit by reversing the platform's own.
    refunds = sandbox_state(sandbox.url)["refunds"]
    for debit in ("D-1", "D-2"):
        line = by_id[debit]
        assert line["method"] == "refund" and line["refund_status"] == "succeeded"
        (refund,) = [r for r in refunds if r["charge"] == line["payment_id"]]
        assert refund["id"] == line["refund_id"] and refund["account"] == PLATFORM
        assert refund["source_transfer_reversal"] == line["transfer_reversal_id"]
    for credit in ("C-1", "C-2"):
        assert by_id[credit]["method"] == "transfer_reversal" and by_id[credit]["refund_id"] == ""
    assert len(refunds) == 2
    writes = sandbox_state(sandbox.url)["stats"]["write_requests"]
    again = cli("reverse", job, "--all")
    assert again.returncode == 0 and sandbox_state(sandbox.url)["stats"]["write_requests"] == writes
    assert len(sandbox_state(sandbox.url)["refunds"]) == 2
    kept = results_rows(tmp_path / "out" / "mixed.results.reversals.csv")
    assert {(r["adjustment_id"], r["refund_id"], r["status"]) for r in kept} == {
        (r["adjustment_id"], r["refund_id"], r["status"]) for r in lines
    }  # the repeat sent nothing and the file still holds every reversal, as done
    checked = cli("reconcile", job)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert total(sandbox.url) == start


def test_partial_reversals_each_need_their_own_id_and_never_exceed_what_moved(
    tmp_path: Path, sandbox
) -> None:
    start = total(sandbox.url)
    job = job_for(tmp_path, sandbox.url, MIXED[:1])
    assert cli("run", job).returncode == 0
    after_debit = moved(sandbox.url, A)
    request = tmp_path / "reverse.csv"
    request.write_text("adjustment_id,amount,reason,reversal_id\nD-1,4.00,first part,D-1-a\n")
    assert cli("reverse", job, "--adjustments", request).returncode == 0
    assert moved(sandbox.url, A) == after_debit + 400
    assert cli("reverse", job, "--adjustments", request).returncode == 0  # the same file: nothing
    assert moved(sandbox.url, A) == after_debit + 400
    too_much = tmp_path / "too-much.csv"
    too_much.write_text("adjustment_id,amount,reversal_id\nD-1,7.00,D-1-b\n")
    writes = sandbox_state(sandbox.url)["stats"]["write_requests"]
    refused = cli("reverse", job, "--adjustments", too_much)
    assert refused.returncode == 2 and "Only 6.00 USD" in refused.stdout
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == writes  # refused before sending
    rest = tmp_path / "rest.csv"
    rest.write_text("adjustment_id,reversal_id\nD-1,D-1-rest\n")
    assert cli("reverse", job, "--adjustments", rest).returncode == 0
    assert moved(sandbox.url, A) == after_debit + 1000
    (transfer,) = [t for t in sandbox_state(sandbox.url)["transfers"] if t["account"] == A]
    assert transfer["amount_reversed"] == 1000 and transfer["reversed"] is True
    assert cli("reconcile", job).returncode == 0
    assert total(sandbox.url) == start


def test_a_reversal_made_by_hand_is_reported_by_its_id(tmp_path: Path, sandbox) -> None:
    job = job_for(tmp_path, sandbox.url, MIXED[:1])
    assert cli("run", job).returncode == 0
    (transfer,) = [t for t in sandbox_state(sandbox.url)["transfers"] if t["account"] == A]
    client = make_client(sandbox.url)
    made = client.v1.transfers.reversals.create(
        transfer["id"], {"amount": 300}, {"stripe_account": A}
    )
    checked = cli("reconcile", job)
    assert checked.returncode == 1
    report = results_rows(tmp_path / "out" / "mixed.results.csv.reconcile.csv")
    assert [r["kind"] for r in report] == ["unrecorded_reversal"] and made.id in report[0]["detail"]
    # reverse --all then gives back only what is left, counting the hand-made reversal
    assert cli("reverse", job, "--all").returncode == 0
    (transfer,) = [t for t in sandbox_state(sandbox.url)["transfers"] if t["account"] == A]
    assert transfer["amount_reversed"] == 1000


def test_a_debit_without_consent_is_never_sent(tmp_path: Path, sandbox) -> None:
    registry = tmp_path / "consent.csv"
    registry.write_text(
        "account,reference,granted_at,revoked_at,max_amount,currency\n"
        f"{A},MANDATE-A,2020-01-01,,,\n"
        f"{B},MANDATE-B,2020-01-01,2021-06-30,,\n"  # revoked
        f"{C},MANDATE-C,2020-01-01,,5.00,usd\n"  # at most 5.00
    )
    lines = [
        f"K-1,{A},1.00,usd,,,",
        f"K-2,{B},1.00,usd,,,",
        f"K-3,{C},9.00,usd,,,",
        f"K-4,{B},1.00,usd,credit,,",
    ]
    job = job_for(
        tmp_path, sandbox.url, lines, f'on_invalid = "skip"\n[consent]\nregistry = "{registry}"'
    )
    plan = cli("plan", job, "--offline")
    assert "Consent: checked against consent.csv" in plan.stdout
    done = cli("run", job)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {r["adjustment_id"]: r for r in results_rows(tmp_path / "out" / "mixed.results.csv")}
    assert rows["K-1"]["status"] == "succeeded" and rows["K-4"]["status"] == "succeeded"
    assert (rows["K-2"]["status"], rows["K-2"]["error_code"]) == ("invalid", "no_consent")
    assert (rows["K-3"]["status"], rows["K-3"]["error_code"]) == ("invalid", "no_consent")
    assert debits(sandbox_state(sandbox.url)) == {"K-1": 1, "K-4": 1}
    (debit,) = [t for t in sandbox_state(sandbox.url)["transfers"] if t["account"] == A]
    assert debit["metadata"]["ledgerrun_consent"] == "MANDATE-A"


def test_credits_check_the_platforms_balance_in_the_plan(tmp_path: Path, sandbox) -> None:
    available = balances(sandbox_state(sandbox.url))[PLATFORM].get("usd", 0)
    too_much = f"{(available + 100) / 100:.2f}"
    job = job_for(tmp_path, sandbox.url, [f"G-1,{A},{too_much},usd,credit,,"])
    plan = cli("plan", job)
    assert plan.returncode == 0 and "platform's available USD balance is short" in plan.stdout
    done = cli("run", job)
    assert done.returncode == 1
    (row,) = results_rows(tmp_path / "out" / "mixed.results.csv")
    assert (row["status"], row["error_code"]) == ("failed", "balance_insufficient")
    assert debits(sandbox_state(sandbox.url)) == {}


# --- reversals under crashes and faults ----------------------------------------------------------


def reversed_once(url: str, ids: set[str]) -> None:
    transfers = [
        t
        for t in sandbox_state(url)["transfers"]
        if t["metadata"].get("ledgerrun_adjustment_id") in ids
    ]
    assert {t["metadata"]["ledgerrun_adjustment_id"] for t in transfers} == ids
    for transfer in transfers:
        assert transfer["amount_reversed"] == transfer["amount"], transfer["id"]
        assert len(transfer["reversals"]["data"]) == 1, transfer["id"]


@pytest.mark.soak  # make test crashes runs (test_chaos); make soak crashes reversals too
def test_sigkill_at_random_moments_during_reverse_reverses_each_once(
    tmp_path: Path, sandbox
) -> None:
    start = total(sandbox.url)
    accounts = (A, B, C)
    lines = [f"R-{n},{accounts[n % 3]},1.00,usd,,," for n in range(60)]
    job = job_for(tmp_path, sandbox.url, lines)
    assert cli("run", job).returncode == 0
    sandbox.set_faults(Faults(latency_ms=15))
    rng = random.Random(7)
    for _ in range(5):
        runner = start_cli("reverse", job, "--all")
        time.sleep(rng.uniform(0.9, 1.8))
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    sandbox.set_faults(Faults())
    finished = cli("reverse", job, "--all")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    reversed_once(sandbox.url, {f"R-{n}" for n in range(60)})
    assert cli("reconcile", job).returncode == 0
    assert total(sandbox.url) == start


def test_faults_during_reverse_end_exactly_once_within_three_runs(tmp_path: Path, sandbox) -> None:
    start = total(sandbox.url)
    lines = [f"F-{n},{(A, B, C)[n % 3]},1.00,usd,,," for n in range(45)]
    job = job_for(tmp_path, sandbox.url, lines)
    assert cli("run", job).returncode == 0
    sandbox.set_faults(
        Faults(error_rate=0.1, error_mode="retryable", lock_timeout_rate=0.1, drop_rate=0.1)
    )
    codes = [cli("reverse", job, "--all").returncode for _ in range(2)]
    sandbox.set_faults(Faults())
    codes.append(cli("reverse", job, "--all").returncode)
    assert codes[-1] == 0, codes
    reversed_once(sandbox.url, {f"F-{n}" for n in range(45)})
    assert total(sandbox.url) == start


def test_a_pending_refund_is_recorded_pending_and_settled_by_the_next_reverse(
    tmp_path: Path, make_sandbox
) -> None:
    sandbox = make_sandbox(refund_settle_s=3600)
    job = job_for(tmp_path, sandbox.url, MIXED[:1])
    assert cli("run", job).returncode == 0
    done = cli("reverse", job, "--all")
    assert done.returncode == 0, done.stdout + done.stderr
    reversals = tmp_path / "out" / "mixed.results.reversals.csv"
    (line,) = results_rows(reversals)
    assert (line["status"], line["method"], line["refund_status"]) == (
        "succeeded", "refund", "pending")  # fmt: skip
    status = cli("status", job)
    assert status.returncode == 0
    advance_clock(sandbox.url, 3601)  # Stripe has paid it back
    writes = sandbox_state(sandbox.url)["stats"]["write_requests"]
    again = cli("reverse", job, "--all")
    assert again.returncode == 0, again.stdout + again.stderr
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == writes  # asked, never resent
    (settled,) = results_rows(reversals)
    assert (settled["refund_id"], settled["refund_status"]) == (line["refund_id"], "succeeded")
    (refund,) = sandbox_state(sandbox.url)["refunds"]
    assert refund["status"] == "succeeded" and refund["id"] == line["refund_id"]
