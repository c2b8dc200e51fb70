"""Check each connected account against Stripe once, before any money moves.

An account can be debited when the platform can reach it, is responsible for its negative
balances (Express and Custom accounts, not Standard ones), and sits in the platform's region;
each row must also be in its account's default currency. A credit needs only a reachable account
in the platform's region. A problem with an account is reported on every row of that account.

Verdicts younger than a day are taken from the store instead of asking Stripe again (a nightly
job over the same accounts then costs one request per row, plus the guard's listings).
Nothing here changes the validation it is given: :func:`row_findings` returns what to flag.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import pyarrow as pa

from ledgerrun import compute as pc
from ledgerrun.errors import AccountCheckError, FatalError, StripeError
from ledgerrun.stripe import facts
from ledgerrun.stripe.shapes import Account, Platform
from ledgerrun.vocab import Direction

UNAVAILABLE = "account_check_unavailable"
REUSE_FOR = dt.timedelta(hours=24)


class AccountCheck(NamedTuple):
    """The verdict on one account: ``code`` is None when it can be debited."""

    account: str
    code: str | None = None
    message: str = ""
    default_currency: str | None = None
    country: str | None = None
    credit_only: bool = False  # reachable and in region, but not debitable (Standard)


def judge(account: Account, platform: Platform) -> AccountCheck:
    """Eligibility and region of an account Stripe returned."""
    currency = (account.default_currency or "").lower() or None
    if facts.region(account.country) != facts.region(platform.country):
        return AccountCheck(
            account.id,
            "region_mismatch",
            f"{account.id} is in {account.country}, the platform in {platform.country}: money "
            "only moves between them within one region.",
            currency,
            account.country,
        )
    if not facts.platform_covers_losses(account.losses_payments, account.type):
        kind = f"a {account.type.capitalize()} account" if account.type else "this account"
        return AccountCheck(
            account.id,
            "account_not_eligible",
            f"{account.id} is {kind}: Stripe, not the platform, is responsible for its negative "
            "balances, so it cannot be debited.",
            currency,
            account.country,
            credit_only=True,
        )
    return AccountCheck(account.id, default_currency=currency, country=account.country)


def region_warnings(platform: Platform, checks: Iterable[AccountCheck]) -> list[str]:
    """``region_not_supported``: accounts to debit where Stripe's availability table does not
    list account debits for the platform's country and theirs. A warning, not a refusal: the
    table may lag Stripe, whose own answer decides (a refused debit is ``failed``)."""
    out = []
    for country in sorted({c.country for c in checks if c.country and not c.code}):
        if not facts.debits_available(platform.country, country):
            out.append(
                f"region_not_supported: Stripe's availability table does not list account "
                f"debits for a platform in {platform.country} and accounts in {country}; Stripe "
                "may refuse these debits (each is then failed; nothing moves)."
            )
    return out


def check_accounts(
    accounts: Iterable[str],
    platform: Platform,
    fetch: Callable[[str], Account],
    concurrency: int,
) -> dict[str, AccountCheck]:
    """Fetch and judge every account, ``concurrency`` at a time. An account Stripe cannot
    answer for (retries ran out, the command is stopping) is marked not checked: its rows are
    skipped, not sent."""

    def one(account_id: str) -> AccountCheck:
        try:
            return judge(fetch(account_id), platform)
        except AccountCheckError as exc:
            if exc.code == "account_not_found":
                message = f"Stripe has no account {account_id} connected to this platform."
            else:
                message = (
                    f"The platform's key cannot act on {account_id}: it does not exist or is "
                    "not connected to this platform (Stripe: account_invalid)."
                )
            return AccountCheck(account_id, exc.code, message)
        except FatalError:
            raise  # the key is refused: the command stops
        except StripeError as exc:
            return AccountCheck(account_id, UNAVAILABLE, f"Stripe did not answer: {exc}")

    ids = list(dict.fromkeys(accounts))
    if not ids:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(ids)))) as pool:
        found = list(pool.map(one, ids))
    return {a: settled(a, c) for a, c in zip(ids, found, strict=True)}


def settled(account: str, check: AccountCheck) -> AccountCheck:
    """``check`` made again once the threads are done, with the caller's ``account`` and one
    copy of each currency and country. Made among the threads' garbage, each verdict and its
    strings kept a block of Python's allocator in use for the rest of the run: 20,000 accounts
    held tens of MB otherwise free (docs/benchmarks.md, "Memory")."""
    return AccountCheck(
        account, check.code, check.message, _one(check.default_currency), _one(check.country),
        check.credit_only,
    )  # fmt: skip


def _one(text: str | None) -> str | None:
    return None if text is None else sys.intern(text)


class Finding(NamedTuple):
    """Flag ``code`` on the rows of ``mask``, in ``column``, each worded by ``word``."""

    mask: pa.Array
    column: str
    code: str
    values: pa.Array
    word: Callable[[str, int], str]


def row_findings(
    account: pa.Array,
    currency: pa.Array,
    direction: pa.Array,
    valid: pa.Array,
    checks: dict[str, AccountCheck],
) -> list[Finding]:
    """Each account's problem on its rows (credits only where the account cannot receive
    one), and rows not in their account's default currency."""
    out: list[Finding] = []
    is_debit = pc.equal(direction, Direction.DEBIT.value)
    bad = {a: c for a, c in checks.items() if c.code and c.code != UNAVAILABLE}
    for code in sorted({c.code for c in bad.values() if c.code}):
        ids = [a for a, c in bad.items() if c.code == code and not c.credit_only]
        debit_only = [a for a, c in bad.items() if c.code == code and c.credit_only]
        mask = pc.is_in(account, value_set=pa.array(ids, pa.string()))
        if debit_only:
            on_debits = pc.and_(is_debit, pc.is_in(account, value_set=pa.array(debit_only)))
            mask = pc.or_(mask, on_debits)
        out.append(
            Finding(
                pc.and_(valid, mask),
                "account",
                code,
                account,
                lambda value, index: bad[value].message,
            )
        )
    usable = {a: c.default_currency for a, c in checks.items() if c.code is None or c.credit_only}
    if usable:
        names = pa.array(list(usable), pa.string())
        defaults = pa.array(list(usable.values()), pa.string())
        expected = pc.take(defaults, pc.index_in(account, value_set=names))
        mismatch = pc.and_(valid, pc.not_equal(currency, expected))

        def word(value: str, index: int) -> str:
            name = account[index].as_py()
            default = (usable[name] or "?").upper()
            return f"{name}'s default currency is {default}; its rows must be in {default}."

        out.append(Finding(mismatch, "currency", "currency_mismatch", currency, word))
    return out
