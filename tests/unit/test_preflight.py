"""Pre-flight (ledgerrun.send.preflight): each account judged once against Stripe's rules for
debits, and what that means for the rows, on the fake client."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ledgerrun import errors
from ledgerrun.job import Job
from ledgerrun.send.preflight import (
    UNAVAILABLE,
    AccountCheck,
    check_accounts,
    judge,
    row_findings,
)
from ledgerrun.store.model import AccountRecord
from ledgerrun.stripe.shapes import Platform
from tests.helpers.constants import A, B, C, D
from tests.helpers.fakes import FakeClient, FakeStore, account
from tests.helpers.stages import prepared_online

US = Platform("acct_1PlatformAAAAAAA", "US", "usd")
DE = Platform("acct_1PlatformDE00001", "DE", "eur")

# --- one account --------------------------------------------------------------------------------

RETRIES = 6  # the client tries each request six times
TIMED_OUT = errors.NetworkError("timed out", code="network_error").after(RETRIES)


@pytest.mark.parametrize(
    "platform, country",
    [(US, "US"), (DE, "DE"), (DE, "HU"), (DE, "GB"), (DE, "CH"), (DE, "NO"), (DE, "hu")],
)
def test_an_account_in_the_platforms_region_can_be_debited(
    platform: Platform, country: str
) -> None:
    check = judge(account(A, country=country, currency="EUR"), platform)
    assert check == AccountCheck(A, None, "", "eur", country)


@pytest.mark.parametrize(
    "platform, country", [(US, "CA"), (US, "GB"), (DE, "US"), (DE, "TR"), (US, None)]
)
def test_an_account_in_another_region_is_refused_for_debits_and_credits(
    platform: Platform, country: str | None
) -> None:
    check = judge(account(A, country=country), platform)
    assert check.code == "region_mismatch" and not check.credit_only
    assert f"{A} is in {country}, the platform in {platform.country}" in check.message


@pytest.mark.parametrize(
    "type_, losses, debitable",
    [
        ("express", None, False),  # without controller: an Express account may be Stripe's
        ("custom", None, True),
        ("standard", None, False),
        (None, None, False),
        ("express", "stripe", False),  # the controller field wins over the type
        ("standard", "application", True),
        (None, "application", True),
    ],
)
def test_only_an_account_whose_losses_the_platform_covers_can_be_debited(
    type_: str | None, losses: str | None, debitable: bool
) -> None:
    check = judge(account(A, type=type_, losses=losses), US)
    if debitable:
        assert check.code is None
    else:
        assert check.code == "account_not_eligible" and check.credit_only
        assert "negative balances" in check.message and check.default_currency == "usd"


def test_the_region_is_judged_before_eligibility() -> None:
    check = judge(account(A, type="standard", country="CA"), US)
    assert check.code == "region_mismatch" and not check.credit_only


# --- every account ------------------------------------------------------------------------------


def test_each_account_is_asked_once_and_answers_become_verdicts() -> None:
    client = FakeClient(accounts=[account(A), account(B, type="standard")])
    client.script(
        "account",
        errors.AccountCheckError("no access", code="account_inaccessible", http_status=403),
        when=C,
    )
    client.script("account", TIMED_OUT, when=D)
    checks = check_accounts([A, B, A, C, D, "acct_1Gone"], US, client.account, concurrency=3)
    assert list(checks) == [A, B, C, D, "acct_1Gone"]
    asked = Counter(c.subject for c in client.calls)  # the client retried D's timeouts
    assert asked == {A: 1, B: 1, C: 1, D: 6, "acct_1Gone": 1}
    assert checks[A].code is None and checks[B].code == "account_not_eligible"
    assert checks[C].code == "account_inaccessible" and "cannot act on" in checks[C].message
    assert checks["acct_1Gone"].code == "account_not_found"
    assert "Stripe has no account acct_1Gone" in checks["acct_1Gone"].message
    assert checks[D].code == UNAVAILABLE and "did not answer" in checks[D].message


def test_a_refused_key_stops_the_checks() -> None:
    client = FakeClient(accounts=[account(A)])
    client.script("account", errors.StripeAuthError("Invalid API Key provided"))
    with pytest.raises(errors.StripeAuthError):
        check_accounts([A, B], US, client.account, concurrency=1)


def test_no_accounts_no_requests() -> None:
    client = FakeClient()
    assert check_accounts([], US, client.account, concurrency=4) == {} and client.calls == []


# --- what it means for the rows -----------------------------------------------------------------


def _rows(*rows: tuple[str, str, str, bool]) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """(account, currency, direction, valid) per row."""
    columns = list(zip(*rows, strict=True))
    return (
        pa.array(columns[0], pa.string()),
        pa.array(columns[1], pa.string()),
        pa.array(columns[2], pa.string()),
        pa.array(columns[3], pa.bool_()),
    )


def _flagged(findings: list, code: str) -> list[int]:  # type: ignore[type-arg]
    (finding,) = [f for f in findings if f.code == code]
    return [i for i, hit in enumerate(finding.mask.to_pylist()) if hit]


def test_an_accounts_problem_is_flagged_on_each_of_its_valid_rows() -> None:
    rows = _rows(
        (A, "usd", "debit", True),
        (B, "cad", "debit", True),
        (B, "cad", "credit", True),
        (B, "cad", "debit", False),  # already invalid: not flagged again
        (A, "usd", "credit", True),
    )
    checks = {
        A: AccountCheck(A, None, "", "usd", "US"),
        B: AccountCheck(B, "region_mismatch", "B is in CA", "cad", "CA"),
    }
    findings = row_findings(*rows, checks)
    assert _flagged(findings, "region_mismatch") == [1, 2]
    finding = next(f for f in findings if f.code == "region_mismatch")
    assert finding.column == "account" and finding.word(B, 1) == "B is in CA"
    assert _flagged(findings, "currency_mismatch") == []


def test_an_account_stripe_does_not_cover_is_flagged_on_debits_only() -> None:
    rows = _rows((C, "usd", "debit", True), (C, "usd", "credit", True), (C, "eur", "credit", True))
    checks = {C: AccountCheck(C, "account_not_eligible", "Standard", "usd", "US", True)}
    findings = row_findings(*rows, checks)
    assert _flagged(findings, "account_not_eligible") == [0]
    assert _flagged(findings, "currency_mismatch") == [2]  # credits must match it too


def test_rows_not_in_their_accounts_default_currency_are_flagged_on_the_currency() -> None:
    rows = _rows((A, "usd", "debit", True), (A, "eur", "debit", True), (A, "eur", "debit", False))
    findings = row_findings(*rows, {A: AccountCheck(A, None, "", "usd", "US")})
    assert _flagged(findings, "currency_mismatch") == [1]
    finding = next(f for f in findings if f.code == "currency_mismatch")
    assert finding.column == "currency"
    assert finding.word("eur", 1) == f"{A}'s default currency is USD; its rows must be in USD."


def test_an_account_stripe_did_not_answer_for_flags_nothing() -> None:
    rows = _rows((D, "usd", "debit", True), (D, "eur", "debit", True))
    findings = row_findings(*rows, {D: AccountCheck(D, UNAVAILABLE, "did not answer")})
    assert findings == []  # its rows are skipped later, not called invalid


# --- verdicts kept for a day (through prepare, as a run does it) ---------------------------------


def test_verdicts_younger_than_a_day_are_reused_and_older_ones_asked_again(
    tmp_path: Path,
) -> None:
    client = FakeClient(accounts=[account(A), account(B), account(C, country="CA")])
    store = FakeStore()
    now = client.clock.now()
    store.record_accounts([
        AccountRecord(A, now - dt.timedelta(hours=23), None, "", "usd", "US"),
        AccountRecord(B, now - dt.timedelta(hours=25), None, "", "usd", "US"),
    ])  # fmt: skip
    client.script("account", TIMED_OUT, when=D)
    job = _job(tmp_path, A, B, C, D)
    prepared = prepared_online(job, client, store)
    assert Counter(c.subject for c in client.sent("account")) == {B: 1, C: 1, D: 6}
    assert prepared.checks[C].code == "region_mismatch"
    problems = {(p.row, p.code) for p in prepared.validation.problems}
    assert problems == {(4, "region_mismatch")}
    assert store.checks[B].checked_at == now and store.checks[C].code == "region_mismatch"
    assert D not in store.checks  # no answer is no verdict: asked again next time


def test_pre_flight_can_be_turned_off(tmp_path: Path) -> None:
    client = FakeClient()
    prepared = prepared_online(_job(tmp_path, A, preflight=False), client, FakeStore())
    assert client.sent("account") == [] and prepared.validation.ok


def _job(folder: Path, *accounts: str, **changes: Any) -> Job:
    from tests.helpers.stages import ledger_job

    rows = [f"ADJ-{n},{a},1.00,usd,debit,transfer" for n, a in enumerate(accounts)]
    return ledger_job(folder, *rows, **changes)
