"""Check each connected account against Stripe once, before any money moves.

An account is usable for a debit when the platform can reach it, is responsible for its negative
balances (Express and Custom accounts, not Standard ones), and sits in the platform's region.
Each row must also be in its account's default currency. A problem with an account is reported on
every row of that account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from ledgerrun.errors import AccountCheckError, FatalError, LedgerrunError
from ledgerrun.ingest.validate import Validation, blocking_problems, flag_platform_account
from ledgerrun.job import Job
from ledgerrun.store import sqlite as jr
from ledgerrun.stripe.client import GaveUp

if TYPE_CHECKING:  # the gateway imports the Stripe SDK, which offline checks do without
    from ledgerrun.stripe.gateway import Account, Platform
    from ledgerrun.stripe.session import Session

# Account debits work only within one region; Europe is the EEA plus the UK and Switzerland.
EUROPE = frozenset(
    (
        "AT BE BG CH CY CZ DE DK EE ES FI FR GB GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE "
        "SI SK"
    ).split()
)
UNAVAILABLE = "account_check_unavailable"


def region(country: str | None) -> str:
    code = (country or "").upper()
    return "EUROPE" if code in EUROPE else code


@dataclass(frozen=True)
class AccountCheck:
    """The verdict on one account: ``code`` is None when it can be debited."""

    account: str
    code: str | None = None
    message: str = ""
    default_currency: str | None = None


def judge(account: Account, platform: Platform) -> AccountCheck:
    """Eligibility and region of an account Stripe returned."""
    responsible = account.negative_balances
    if responsible is None:  # older API shapes: infer from the account type
        responsible = "application" if account.type in ("express", "custom") else "stripe"
    if responsible != "application":
        kind = f"a {account.type.capitalize()} account" if account.type else "this account"
        return AccountCheck(
            account.id,
            "account_not_eligible",
            f"{account.id} is {kind}: Stripe, not the platform, is responsible for its negative "
            "balances, so it cannot be debited.",
        )
    if region(account.country) != region(platform.country):
        return AccountCheck(
            account.id,
            "region_mismatch",
            f"{account.id} is in {account.country}, the platform in {platform.country}: debits "
            "only work within one region.",
        )
    return AccountCheck(account.id, default_currency=(account.default_currency or "").lower())


def check_accounts(
    accounts: Iterable[str],
    platform: Platform,
    fetch: Callable[[str], Account],
    concurrency: int,
) -> dict[str, AccountCheck]:
    """Fetch and judge every account, ``concurrency`` at a time. ``fetch`` raises
    AccountCheckError for a missing or unreachable account; any other LedgerrunError from it marks
    the account as not checked (its rows are skipped, not sent)."""

    def one(account_id: str) -> AccountCheck:
        try:
            return judge(fetch(account_id), platform)
        except AccountCheckError as exc:
            if exc.code == "account_not_found":
                message = f"Stripe has no account {account_id} connected to this platform."
            else:
                message = f"The platform's key cannot act on {account_id}: {exc}"
            return AccountCheck(account_id, exc.code, message)
        except FatalError:
            raise  # the key is refused: the run stops
        except (LedgerrunError, GaveUp) as exc:
            return AccountCheck(account_id, UNAVAILABLE, f"Stripe did not answer: {exc}")

    ids = list(dict.fromkeys(accounts))
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return dict(zip(ids, pool.map(one, ids), strict=True))


def flag_rows(validation: Validation, checks: dict[str, AccountCheck]) -> int:
    """Report each account's problem on its rows, and currency mismatches; return the count.

    Accounts whose check could not be made are not problems of the ledger; the runner skips
    their rows.
    """
    bad = {a: c for a, c in checks.items() if c.code and c.code != UNAVAILABLE}
    added = 0
    for code in sorted({c.code for c in bad.values() if c.code}):
        ids = [a for a, c in bad.items() if c.code == code]
        mask = pc.and_(validation.valid, pc.is_in(validation.account, value_set=pa.array(ids)))
        added += validation.flag(
            mask,
            "account",
            code,
            validation.account,
            lambda value, index: bad[value].message,
        )
    usable = {a: c.default_currency for a, c in checks.items() if c.code is None}
    if usable:
        names = pa.array(list(usable), pa.string())
        defaults = pa.array(list(usable.values()), pa.string())
        expected = pc.take(defaults, pc.index_in(validation.account, value_set=names))
        mismatch = pc.and_(validation.valid, pc.not_equal(validation.currency, expected))

        def word(value: str, index: int) -> str:
            account = validation.account[index].as_py()
            default = (usable[account] or "?").upper()
            return f"{account}'s default currency is {default}; a debit must be in {default}."

        added += validation.flag(
            mismatch, "currency", "currency_mismatch", validation.currency, word
        )
    return added


def flag_conflicts(validation: Validation, earlier: Mapping[str, jr.Entry]) -> None:
    """adjustment_conflict: the journal holds the id for this job with other values."""
    if not earlier:
        return
    names = ("account", "amount_minor", "currency", "method")
    columns = [getattr(validation, name).to_pylist() for name in names]
    verbs = {jr.SUCCEEDED: "debited", jr.FAILED: "tried", jr.PENDING: "sent"}
    clashes: dict[int, str] = {}
    for i, (adjustment_id, ok) in enumerate(
        zip(validation.adjustment_id.to_pylist(), validation.valid.to_pylist(), strict=True)
    ):
        entry = earlier.get(adjustment_id) if ok else None
        if entry is None:
            continue
        before = (entry.account, entry.amount_minor, entry.currency, entry.method)
        diff = [
            f"{name} {old} -> {column[i]}"
            for name, old, column in zip(names, before, columns, strict=True)
            if column[i] != old
        ]
        if diff:
            clashes[i] = (
                f"This job already {verbs.get(entry.state, 'sent')} adjustment "
                f"'{adjustment_id}' with other values ({', '.join(diff)})."
            )
    if clashes:
        mask = pa.array([i in clashes for i in range(validation.rows)])
        validation.flag(
            mask,
            "adjustment_id",
            "adjustment_conflict",
            validation.adjustment_id,
            lambda value, index: clashes[index],
        )


def earlier_entries(job: Job, validation: Validation) -> dict[str, jr.Entry]:
    """What the job's journal holds for the ledger's ids, without creating or locking it."""
    if not job.journal.exists() or not validation.rows:
        return {}
    journal = jr.SQLiteJournal.open_readonly(job.journal)
    try:
        return journal.entries(job.name, validation.adjustment_id.to_pylist())
    finally:
        journal.close()


def run_preflight(
    job: Job, session: Session, validation: Validation, earlier: Mapping[str, jr.Entry]
) -> dict[str, AccountCheck]:
    """Every check that needs the API or the journal, flagged on the rows it concerns: the
    platform named as an account, ids the journal holds with other values, and (unless the job
    turns pre-flight off) each account still to be debited."""
    flag_platform_account(validation, session.platform.id)
    flag_conflicts(validation, earlier)
    if not job.preflight:
        return {}
    done = {a for a, e in earlier.items() if e.state == jr.SUCCEEDED}
    accounts = [
        account
        for account, ok, adjustment_id in zip(
            validation.account.to_pylist(),
            validation.valid.to_pylist(),
            validation.adjustment_id.to_pylist(),
            strict=True,
        )
        if ok and adjustment_id not in done
    ]
    checks = check_accounts(
        accounts,
        session.platform,
        lambda account_id: session.caller.call(lambda: session.gateway.account(account_id)),
        job.stripe.concurrency,
    )
    flag_rows(validation, checks)
    return checks


def check_job(job: Job, env: Mapping[str, str], *, offline: bool) -> Validation:
    """Validate the job's ledger and, unless ``offline`` or the file itself is broken, run every
    pre-flight check on it. Sends nothing."""
    from ledgerrun.ingest.validate import check

    validation = check(job)
    if offline or blocking_problems(validation):
        return validation
    from ledgerrun.stripe.session import connect  # imports the Stripe SDK: only when going online

    earlier = earlier_entries(job, validation)
    with connect(job, env) as session:
        run_preflight(job, session, validation, earlier)
    return validation
