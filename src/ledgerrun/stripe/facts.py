"""Stripe's rules that ledgerrun depends on, each stated once.

Plain constants and small pure functions, with no import of the SDK, so that any stage (ingest
included) may read them. The sandbox (``ledgerrun_sandbox``) keeps its own copy on purpose, being
an independent double of Stripe; ``tests/test_facts_agree.py`` checks that the two agree.

Each block names the Stripe document it comes from. Where a document gives no number (the debit
maximum "or equivalent", account debits across regions) the fact takes the conservative side.
"""

from __future__ import annotations

import re
from typing import Final

# --- regions -----------------------------------------------------------------------------------

_EEA = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK"
EEA: Final = frozenset(_EEA.split())
"""The European Economic Area: the 27 EU states plus Iceland, Liechtenstein and Norway."""

EUROPE: Final = EEA | {"GB", "CH"}
"""Funds may move between any two of these countries: the EEA, the United Kingdom, Switzerland."""


def region(country: str | None) -> str:
    """The funds-flow region of a country; platform and account must share it for a debit."""
    code = (country or "").upper()
    return "EUROPE" if code in EUROPE else code


# --- keys --------------------------------------------------------------------------------------

SECRET_PREFIXES: Final = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")
LIVE_PREFIXES: Final = ("sk_live_", "rk_live_")
TEST_PREFIXES: Final = ("sk_test_", "rk_test_")
KEY_CHARACTERS: Final = "A-Za-z0-9_"
"""What follows a key's prefix, as a regular-expression character class's contents."""
_KEY_BODY = re.compile(f"[{KEY_CHARACTERS}]+")


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a Stripe secret or restricted key, or None when its shape is fine.

    The reason never quotes the key."""
    if not key:
        return "it is empty"
    if any(ch.isspace() for ch in key):
        return "it contains whitespace (a line break or a space pasted with it?)"
    if not key.isascii():
        return "it contains a character that is not plain ASCII"
    prefix = next((p for p in SECRET_PREFIXES if key.startswith(p)), None)
    if prefix is None:
        return "it does not start sk_test_, sk_live_, rk_test_ or rk_live_"
    if not _KEY_BODY.fullmatch(key[len(prefix) :]):
        return "after its prefix it holds characters other than letters, digits and _"
    return None


def is_live_key(key: str) -> bool:
    return key.startswith(LIVE_PREFIXES)


def redact(secret: str) -> str:
    """What may be shown of any secret: at most its last four characters, and then only when it
    is long enough that four characters give nothing away (``…wxyz``)."""
    return f"…{secret[-4:]}" if len(secret) >= 16 else "…"


# --- account debits ---------------------------------------------------------------------------
# Source: Stripe, "Debit connected accounts" (docs.stripe.com/connect/account-debits),
# Requirements and Availability: only accounts whose negative balances the platform is
# responsible for; platform and account in the same region; the account's default currency;
# "the maximum amount is 100,000 USD (or equivalent in your currency)".

DEBIT_REGIONS: Final = frozenset({"US", "CA", "EUROPE", "HK", "JP", "NZ"})
"""Regions whose platforms may debit accounts of their own region. The page names Canada,
Europe, Hong Kong, Japan, New Zealand and the US (some versions also Australia, the current one
not: left out). Stripe's own refusal stays authoritative; this only warns ahead of it."""

DEBIT_CROSS_BORDER: Final[frozenset[tuple[str, str]]] = frozenset()
"""(platform region, account region) pairs allowed across regions: none confirmed."""


def debits_available(platform_country: str | None, account_country: str | None) -> bool:
    """Whether Stripe offers account debits to a platform in ``platform_country`` for an account
    in ``account_country`` (pre-flight warns ``region_not_supported`` when not)."""
    ours, theirs = region(platform_country), region(account_country)
    if ours == theirs:
        return ours in DEBIT_REGIONS
    return (ours, theirs) in DEBIT_CROSS_BORDER


DEBIT_MAXIMUM: Final = {
    "usd": 10_000_000,  # 100,000.00 USD: Stripe's own figure
    "cad": 12_000_000,  # 120,000.00 CAD
    "eur": 8_000_000,  # 80,000.00 EUR
    "gbp": 7_000_000,  # 70,000.00 GBP
    "chf": 7_500_000,  # 75,000.00 CHF
    "dkk": 60_000_000,  # 600,000.00 DKK
    "sek": 80_000_000,  # 800,000.00 SEK
    "nok": 80_000_000,  # 800,000.00 NOK
    "pln": 36_000_000,  # 360,000.00 PLN
    "czk": 99_999_999,  # 999,999.99 CZK (Stripe's 8-digit amount maximum comes first)
    "huf": 99_999_999,  # 999,999.99 HUF (likewise)
    "isk": 99_999_999,  # 999,999.99 ISK (likewise)
    "ron": 40_000_000,  # 400,000.00 RON
    "hkd": 77_500_000,  # 775,000.00 HKD
    "jpy": 10_000_000,  # 10,000,000 JPY
    "nzd": 13_500_000,  # 135,000.00 NZD
}
"""The most one account debit may move, in minor units, per currency of the regions where
account debits are available: round figures below the equivalent of 100,000 USD at every
exchange rate of 2021-2025 (a job's ``max_amount`` may only lower them). A currency not listed
has no ceiling here; the job's ``max_amount`` is then the guard."""

PLATFORM_LOSSES: Final = "application"
"""``controller.losses.payments`` when the platform is responsible for the account's negative
balances: the only accounts Stripe lets a platform debit. Express accounts may have either."""


def platform_covers_losses(losses_payments: str | None, account_type: str | None) -> bool:
    """True when the platform, not Stripe, is responsible for the account's negative balances,
    which Stripe requires for an account debit: ``controller.losses.payments = application``.
    An account object without ``controller`` (very old API versions) is judged by its type,
    and only a Custom account is then certainly the platform's: an Express account may have
    ``losses.payments = stripe``."""
    if losses_payments is not None:
        return losses_payments == PLATFORM_LOSSES
    return account_type == "custom"


# --- charges -----------------------------------------------------------------------------------
# Source: Stripe, "Supported currencies", minimum and maximum charge amounts
# (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts): "0.50 USD or equivalent".

CHARGE_MINIMUM: Final = {
    "usd": 50, "aed": 200, "aud": 50, "brl": 50, "cad": 50, "chf": 50,
    "czk": 1500, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50,
    "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200,
    "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip
"""The smallest charge per currency (minor units): a debit by charge below it is refused."""

CHARGE_LIST_GROUP_CAP: Final = 100
"""``GET /v1/charges?transfer_group=`` returns at most this many charges over all its pages
(Stripe's OpenAPI description: "Only return charges for this transfer group, limited to 100."),
so finding debits by charge needs another listing (search, or the accounts' transfers)."""

SEARCH_LAG_S: Final = 60
"""Search results lag the objects: "under normal operating conditions, data is searchable in
less than a minute" (Stripe, ``GET /v1/charges/search``); up to an hour during outages."""

# --- limits ------------------------------------------------------------------------------------
# Sources: Stripe, "Metadata" (docs.stripe.com/metadata), "Idempotent requests", and the
# maxLength of each parameter in Stripe's OpenAPI description.

IDEMPOTENCY_KEY_MAX_CHARS: Final = 255
IDEMPOTENCY_KEY_TTL_HOURS: Final = 24
METADATA_MAX_KEYS: Final = 50
METADATA_KEY_MAX_CHARS: Final = 40
METADATA_VALUE_MAX_CHARS: Final = 500
DESCRIPTION_MAX_CHARS_TRANSFER: Final = 5000
DESCRIPTION_MAX_CHARS_CHARGE: Final = 40000
DESCRIPTION_MAX_CHARS: Final = min(DESCRIPTION_MAX_CHARS_TRANSFER, DESCRIPTION_MAX_CHARS_CHARGE)
"""The longest description a row may carry, whichever way it is sent (refunds take none)."""
LIST_PAGE_MAX: Final = 100

# --- rate limits -------------------------------------------------------------------------------
# Source: Stripe, "Rate limits" (docs.stripe.com/rate-limits): 100 requests a second per account
# in live mode, 25 in test mode; 25 a second per endpoint (each named operation, a method and a
# path template) unless noted; the Search API 20 read operations a second. Requests made with
# Stripe-Account are assumed to count against the platform (not documented either way).

RATE_LIMIT_TEST: Final = 25
RATE_LIMIT_LIVE: Final = 100
ENDPOINT_RATE_LIMIT: Final = 25
ENDPOINT_RATE_LIMITS: Final = {"GET /v1/charges/search": 20}
"""Endpoints whose documented limit differs from :data:`ENDPOINT_RATE_LIMIT`."""


def global_rate_limit(live: bool) -> int:
    """Requests a second for the whole account, in live or test mode."""
    return RATE_LIMIT_LIVE if live else RATE_LIMIT_TEST


def endpoint_rate_limit(operation: str) -> int:
    """Requests a second for one endpoint, named like ``"POST /v1/transfers"``."""
    return ENDPOINT_RATE_LIMITS.get(operation, ENDPOINT_RATE_LIMIT)
