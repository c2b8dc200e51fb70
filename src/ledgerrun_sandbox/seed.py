"""The seed file: the platform and its connected accounts, with opening balances.

A seed is JSON (a file path) or an already-parsed dict::

    {"platform": {"id": "acct_1PlatformAAAAAAA", "country": "US", "default_currency": "usd",
                  "balance": {"usd": 1000000}},
     "accounts": [{"id": "acct_1ConnAAAAAAAAAA", "type": "express", "country": "US",
                   "default_currency": "usd", "balance": {"usd": 500000}},
                  {"id": "acct_1GoneAAAAAAAAAA", "country": "US", "default_currency": "usd",
                   "access": "revoked"}]}

Balances are integer minor units (cents). Account ``type`` defaults to ``express``; ``access``
defaults to ``granted``; the platform's balance defaults to zero in its default currency.

An account may say ``"negative_balances": true``: money taken from it (a debit, or paying back
a reversal) may then leave its balance below zero, as connected reserves allow on Stripe, when
the platform covers its losses (Express and Custom). Otherwise a short balance is refused.

An account may also say who covers its losses, ``"losses_payments": "application"`` (the
platform: the default for Express and Custom) or ``"stripe"`` (the default for Standard; Express
accounts may have it too), which the account object shows as ``controller.losses.payments``
and which decides whether the platform may debit it; and ``"created"``, a unix time (default:
when the sandbox starts), which orders ``GET /v1/accounts``. The platform may name its default
``"api_version"`` (one of :data:`~ledgerrun_sandbox.rules.API_VERSIONS`), used for requests
without ``Stripe-Version``.

Top-level ``"api_keys": ["sk_test_rehearsal", ...]`` lists keys the sandbox accepts (any other
gets a 401, as an unknown key does on Stripe); the server adds those given to it
(``--api-key``) and refuses to start with none at all. Anything malformed raises
:class:`SeedError` whose message names the offending field (never a key itself).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledgerrun_sandbox.rules import TEST_KEY_PREFIXES, default_losses, is_api_version

ACCOUNT_TYPES = ("express", "custom", "standard")
ACCESS_VALUES = ("granted", "revoked")
LOSSES_VALUES = ("application", "stripe")
HOME_ONLY = {"US": "usd", "JP": "jpy"}
"""Countries whose accounts can only have their home currency as ``default_currency``. Stripe:
"This must be a currency that Stripe supports in the account's country"; a US account is USD."""

_ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]{1,64}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[a-z]{3}$")


class SeedError(ValueError):
    """The seed (file or dict) is malformed; the message says where and why."""


class KeysError(SeedError):
    """The sandbox would accept no API key at all, or was given one it cannot accept."""


@dataclass(frozen=True)
class AccountSeed:
    id: str
    country: str
    default_currency: str
    type: str = "express"
    access: str = "granted"
    balance: dict[str, int] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    negative_balances: bool = False
    losses_payments: str = "application"
    created: int | None = None  # None: when the sandbox starts
    api_version: str | None = None  # the platform's default version


@dataclass(frozen=True)
class Seed:
    platform: AccountSeed
    accounts: tuple[AccountSeed, ...]
    api_keys: frozenset[str] = frozenset()


def load_seed(source: Seed | dict[str, Any] | str | Path) -> Seed:
    """Parse and check a seed given as a dict, a path to a JSON file, or a ``Seed``."""
    if isinstance(source, Seed):
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SeedError(f"cannot read seed file {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise SeedError(f"seed file {path} is not UTF-8 text") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SeedError(
                f"seed file {path} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}"
            ) from exc
        return parse_seed(data)
    return parse_seed(source)


def parse_seed(data: Any) -> Seed:
    if not isinstance(data, dict):
        raise SeedError("the seed must be a JSON object with 'platform' and 'accounts'")
    _no_unknown(data, {"platform", "accounts", "api_keys"}, "the seed")
    if "platform" not in data:
        raise SeedError("the seed has no 'platform'")
    platform = _account(data["platform"], "platform", is_platform=True)
    raw_accounts = data.get("accounts", [])
    if not isinstance(raw_accounts, list):
        raise SeedError("'accounts' must be a list")
    accounts: list[AccountSeed] = []
    seen = {platform.id: "platform"}
    for index, raw in enumerate(raw_accounts):
        where = f"accounts[{index}]"
        account = _account(raw, where, is_platform=False)
        if account.id in seen:
            raise SeedError(f"{where}: id {account.id!r} is already used by {seen[account.id]}")
        seen[account.id] = where
        accounts.append(account)
    api_keys = _api_keys(data["api_keys"]) if "api_keys" in data else frozenset()
    return Seed(platform=platform, accounts=tuple(accounts), api_keys=api_keys)


def _api_keys(raw: Any) -> frozenset[str]:
    if not isinstance(raw, list) or not raw:
        raise SeedError("'api_keys' must be a non-empty list of test-mode API keys")
    for index, key in enumerate(raw):
        problem = key_problem(key)
        if problem is not None:
            raise SeedError(f"api_keys[{index}] {problem}")
    return frozenset(raw)


def key_problem(key: Any) -> str | None:
    """Why ``key`` cannot be a key the sandbox accepts (never quoting it), or ``None``."""
    if not isinstance(key, str) or not key.startswith(TEST_KEY_PREFIXES):
        return "is not a test-mode secret or restricted key (it must start sk_test_ or rk_test_)"
    if len(key) <= len("sk_test_") or any(ch.isspace() for ch in key):
        return "has nothing after its prefix, or whitespace"
    return None


def _account(raw: Any, where: str, *, is_platform: bool) -> AccountSeed:
    if not isinstance(raw, dict):
        raise SeedError(f"{where} must be an object")
    allowed = {"id", "country", "default_currency", "balance"}
    if is_platform:
        allowed |= {"api_version"}
    else:
        allowed |= {"type", "access", "metadata", "negative_balances", "losses_payments", "created"}
    _no_unknown(raw, allowed, where)
    for required in ("id", "country", "default_currency"):
        if required not in raw:
            raise SeedError(f"{where} has no '{required}'")
    account_id = _text(raw["id"], f"{where}.id")
    if not _ACCOUNT_ID.match(account_id):
        raise SeedError(f"{where}.id {account_id!r} is not an account id like 'acct_1Abc...'")
    country = _text(raw["country"], f"{where}.country")
    if not _COUNTRY.match(country):
        raise SeedError(f"{where}.country {country!r} is not a two-letter code like 'US'")
    currency = _text(raw["default_currency"], f"{where}.default_currency")
    if not _CURRENCY.match(currency):
        raise SeedError(
            f"{where}.default_currency {currency!r} is not a lowercase ISO code like 'usd'"
        )
    if country in HOME_ONLY and currency != HOME_ONLY[country]:
        raise SeedError(
            f"{where}.default_currency {currency!r}: an account in {country} holds "
            f"{HOME_ONLY[country]} (Stripe supports no other default currency there)"
        )
    kind = raw.get("type", "express")
    if kind not in ACCOUNT_TYPES:
        raise SeedError(f"{where}.type {kind!r} is not one of {', '.join(ACCOUNT_TYPES)}")
    access = raw.get("access", "granted")
    if access not in ACCESS_VALUES:
        raise SeedError(f"{where}.access {access!r} is not one of {', '.join(ACCESS_VALUES)}")
    balance = _balance(raw.get("balance", {}), f"{where}.balance")
    balance.setdefault(currency, 0)
    metadata = raw.get("metadata", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SeedError(f"{where}.metadata must be an object of strings")
    negative = raw.get("negative_balances", False)
    if not isinstance(negative, bool):
        raise SeedError(f"{where}.negative_balances must be true or false, not {negative!r}")
    losses = raw.get("losses_payments", default_losses(kind))
    if losses not in LOSSES_VALUES:
        raise SeedError(
            f"{where}.losses_payments {losses!r} is not one of {', '.join(LOSSES_VALUES)}"
        )
    if kind == "standard" and losses != "stripe":
        raise SeedError(f"{where}: Stripe covers the losses of a Standard account")
    created = raw.get("created")
    if created is not None and (
        isinstance(created, bool) or not isinstance(created, int) or created < 0
    ):
        raise SeedError(f"{where}.created must be a unix time in seconds, not {created!r}")
    version = raw.get("api_version")
    if version is not None and (not isinstance(version, str) or not is_api_version(version)):
        raise SeedError(f"{where}.api_version {version!r} is not a Stripe API version it knows")
    return AccountSeed(
        negative_balances=negative,
        losses_payments="stripe" if is_platform else losses,
        created=created,
        api_version=version,
        id=account_id,
        country=country,
        default_currency=currency,
        type="standard" if is_platform else kind,
        access=access,
        balance=balance,
        metadata=dict(metadata),
    )


def _balance(raw: Any, where: str) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise SeedError(f'{where} must be an object like {{"usd": 500000}}')
    out: dict[str, int] = {}
    for currency, amount in raw.items():
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            raise SeedError(f"{where}: {currency!r} is not a lowercase currency code like 'usd'")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise SeedError(
                f"{where}.{currency} must be an integer amount in minor units, not {amount!r}"
            )
        if amount < 0:
            raise SeedError(f"{where}.{currency} is negative ({amount}); balances start at 0+")
        out[currency] = amount
    return out


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise SeedError(f"{where} must be a string, not {value!r}")
    return value


def _no_unknown(raw: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise SeedError(
            f"{where} has unknown field(s) {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(sorted(allowed))}"
        )
