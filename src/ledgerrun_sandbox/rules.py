"""The facts about Stripe that the sandbox enforces, each stated once, importable on their own.

These are the sandbox's own copy, kept apart from the product's (``ledgerrun.stripe.facts``) on
purpose: the sandbox is an independent double of Stripe, and a test compares the two. Nothing here
imports from ``ledgerrun``. Each block names the Stripe document it comes from; where a document
gives no number (the debit maximum "or equivalent", the cross-border availability of account
debits) the sandbox takes the conservative side, so a rehearsal never passes what Stripe could
refuse.
"""

from __future__ import annotations

from typing import Final

# --- regions -----------------------------------------------------------------------------------

EU: Final = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
"""The 27 member states of the European Union."""

EEA: Final = EU | {"IS", "LI", "NO"}
"""The European Economic Area: the EU plus Iceland, Liechtenstein and Norway."""

EUROPE: Final = EEA | {"GB", "CH"}
"""One funds-flow region: the EEA, the United Kingdom and Switzerland."""

EUROPE_REGION: Final = "EUROPE"


def region(country: str) -> str:
    """The funds-flow region of a country (``EUROPE`` or the country code itself).

    Account debits, credits and their reversals may only move money within one region; the
    other regions Stripe names (US, CA, AU, NZ, JP, HK) are single countries, and any country
    not listed is treated as a region of its own."""
    code = country.upper()
    return EUROPE_REGION if code in EUROPE else code


# --- account debits: where, who, how much ------------------------------------------------------
# Source: Stripe, "Debit connected accounts" (docs.stripe.com/connect/account-debits),
# Requirements and Availability: the platform must be responsible for the account's negative
# balances; platform and account in the same region; the account's default currency; no
# negative balance; "the maximum amount is 100,000 USD (or equivalent in your currency)".

DEBIT_REGIONS: Final = frozenset({"US", "CA", EUROPE_REGION, "HK", "JP", "NZ"})
"""Regions whose platforms may debit accounts of the same region (domestic account debits).

The page lists Canada, Europe, Hong Kong, Japan, New Zealand and the US; some versions of it
also name Australia, the current one does not, so Australia is left out (conservative).
Cross-border account debits: the page's availability table could not be confirmed for any pair,
so none are allowed (:data:`DEBIT_CROSS_BORDER` is empty)."""

DEBIT_CROSS_BORDER: Final[frozenset[tuple[str, str]]] = frozenset()
"""(platform region, account region) pairs allowed across regions: none confirmed."""


def debits_available(platform_country: str, account_country: str) -> bool:
    """Whether a platform in ``platform_country`` may debit an account in ``account_country``."""
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
    "czk": 99_999_999,  # 999,999.99 CZK (the 8-digit amount maximum; 100,000 USD is more)
    "huf": 99_999_999,  # 999,999.99 HUF (likewise)
    "isk": 99_999_999,  # 999,999.99 ISK (likewise)
    "ron": 40_000_000,  # 400,000.00 RON
    "hkd": 77_500_000,  # 775,000.00 HKD
    "jpy": 10_000_000,  # 10,000,000 JPY (zero-decimal)
    "nzd": 13_500_000,  # 135,000.00 NZD
}
"""The most one account debit may move, in minor units, for each currency of a region where
account debits are available. Stripe gives 100,000 USD "or equivalent"; each figure here is a
round amount below the equivalent of 100,000 USD at every exchange rate of 2021-2025 (for
example 80,000 EUR: the euro was never worth more than 1.25 USD), capped at the largest amount
any create call takes (:data:`AMOUNT_MAX`). A currency not listed has no ceiling here."""


def debit_maximum(currency: str) -> int | None:
    """The most one account debit in ``currency`` may move (minor units), or ``None``."""
    return DEBIT_MAXIMUM.get(currency.lower())


PLATFORM_LOSSES: Final = "application"
"""``controller.losses.payments`` of an account whose negative balances the platform covers:
the only accounts a platform may debit (Stripe: "only supported for connected accounts where
your platform is responsible for negative balances"). Express accounts may have either value."""


def default_losses(account_type: str) -> str:
    """Who covers an account's losses when its seed does not say: Stripe for Standard accounts,
    the platform for Express and Custom ones (their classic configuration)."""
    return "stripe" if account_type == "standard" else PLATFORM_LOSSES


def may_go_negative(losses_payments: str, negative_balances: bool) -> bool:
    """Whether money taken from an account (a debit, or paying back a reversal) may leave its
    available balance below zero.

    Only when the platform covers the account's losses *and* the account is set up for it
    (``negative_balances`` in the seed: on Stripe, connected reserves enabled and a bank account
    in the currency). Otherwise a short balance fails ``balance_insufficient``."""
    return negative_balances and losses_payments == PLATFORM_LOSSES


# --- charges -----------------------------------------------------------------------------------
# Source: Stripe, "Supported currencies", minimum and maximum charge amounts
# (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts): "0.50 USD or equivalent";
# the table below is Stripe's, in minor units. A debit by charge is a charge.

CHARGE_MINIMUM: Final = {
    "usd": 50, "aed": 200, "aud": 50, "brl": 50, "cad": 50, "chf": 50,
    "czk": 1500, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50,
    "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200,
    "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip
"""The smallest charge per currency (minor units); other currencies have none here."""


def charge_minimum(currency: str) -> int | None:
    return CHARGE_MINIMUM.get(currency.lower())


CHARGE_LIST_GROUP_CAP: Final = 100
"""``GET /v1/charges`` filtered by ``transfer_group`` returns at most this many charges, the
newest ones, over all its pages (Stripe's OpenAPI description: "Only return charges for this
transfer group, limited to 100.")."""

# --- API keys ----------------------------------------------------------------------------------

TEST_KEY_PREFIXES: Final = ("sk_test_", "rk_test_")
"""The keys a seed or ``--api-key`` may give: secret or restricted test-mode keys."""

LIVE_KEY_PREFIXES: Final = ("sk_live_", "rk_live_", "pk_live_")
"""Live-mode keys: always refused, with a message saying so."""

KEY_PREFIXES: Final = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_")
"""Every prefix a Stripe API key may carry (the part an error message may show)."""

# --- API versions ------------------------------------------------------------------------------
# Source: the ``api_version`` values Stripe's OpenAPI description lists for webhook endpoints
# (``POST /v1/webhook_endpoints``), as generated into stripe-python 16.1.0
# (``stripe/params/_webhook_endpoint_create_params.py``), which itself pins 2026-10-28.endive.
# Stripe's changelog (docs.stripe.com/changelog) names the same releases.

API_VERSIONS: Final = (
    "2017-08-15", "2017-12-14", "2018-01-23", "2018-02-05", "2018-02-06", "2018-02-28",
    "2018-05-21", "2018-07-27", "2018-08-23", "2018-09-06", "2018-09-24", "2018-10-31",
    "2018-11-08", "2019-02-11", "2019-02-19", "2019-03-14", "2019-05-16", "2019-08-14",
    "2019-09-09", "2019-10-08", "2019-10-17", "2019-11-05", "2019-12-03", "2020-03-02",
    "2020-08-27", "2022-08-01", "2022-11-15", "2023-08-16", "2023-10-16", "2024-04-10",
    "2024-06-20", "2024-09-30.acacia", "2024-10-28.acacia", "2024-11-20.acacia",
    "2024-12-18.acacia", "2025-01-27.acacia", "2025-02-24.acacia", "2025-03-31.basil",
    "2025-04-30.basil", "2025-05-28.basil", "2025-06-30.basil", "2025-07-30.basil",
    "2025-08-27.basil", "2025-09-30.clover", "2025-10-29.clover", "2025-11-17.clover",
    "2025-12-15.clover", "2026-01-28.clover", "2026-02-25.clover", "2026-03-25.dahlia",
    "2026-04-22.dahlia", "2026-05-27.dahlia", "2026-06-24.dahlia", "2026-07-29.dahlia",
    "2026-08-26.dahlia", "2026-09-30.endive", "2026-10-28.endive",
)  # fmt: skip
"""Stripe's published API versions the sandbox knows, oldest first (2017 onwards; older ones
are refused as unknown, which no current SDK sends)."""

DEFAULT_API_VERSION: Final = API_VERSIONS[-1]
"""The platform's default version when its seed names none (a request without
``Stripe-Version`` is answered in the account's default version, as on Stripe)."""

SEARCH_MIN_API_VERSION: Final = "2020-08-27"
"""Search endpoints refuse older versions (Stripe's own message names this one)."""


def is_api_version(version: str) -> bool:
    return version in API_VERSIONS


def version_before(version: str, other: str) -> bool:
    """Whether ``version`` was released before ``other`` (both known; dates sort as text)."""
    return version[:10] < other[:10]


# --- rate limits -------------------------------------------------------------------------------
# Source: Stripe, "Rate limits" (docs.stripe.com/rate-limits): a global limit per account of 100
# requests a second in live mode and 25 in test mode (sandboxes); 25 requests a second for each
# API endpoint unless noted, where each named operation (method and path template) is its own
# endpoint; the Search API 20 read operations a second, also counted against the global limit.
# Whether requests made with ``Stripe-Account`` count against the platform or the connected
# account is not documented: the sandbox counts them against the platform.

RATE_LIMIT_TEST: Final = 25
RATE_LIMIT_LIVE: Final = 100
ENDPOINT_RATE_LIMIT: Final = 25
ENDPOINT_RATE_LIMITS: Final = {"GET /v1/charges/search": 20}
"""Endpoints whose documented limit differs from :data:`ENDPOINT_RATE_LIMIT`."""

LIMIT_MODES: Final = ("test", "live", "off")


def global_rate_limit(mode: str) -> int | None:
    """Requests a second for the whole account in ``mode`` (``None``: not limited)."""
    return {"test": RATE_LIMIT_TEST, "live": RATE_LIMIT_LIVE}.get(mode)


def endpoint_rate_limit(operation: str) -> int:
    """Requests a second for one endpoint, e.g. ``"POST /v1/transfers"``."""
    return ENDPOINT_RATE_LIMITS.get(operation, ENDPOINT_RATE_LIMIT)


# --- search ------------------------------------------------------------------------------------

SEARCH_LAG_S: Final = 60
"""Stripe: "under normal operating conditions, data is searchable in less than a minute"
(``GET /v1/charges/search``); up to an hour behind during outages."""

# --- limits of one request ---------------------------------------------------------------------
# Sources: Stripe, "Metadata" (docs.stripe.com/metadata); the OpenAPI description's maxLength of
# each parameter; "Idempotent requests" (docs.stripe.com/api/idempotent_requests).

METADATA_MAX_KEYS: Final = 50
METADATA_KEY_MAX_CHARS: Final = 40
METADATA_VALUE_MAX_CHARS: Final = 500
DESCRIPTION_MAX_CHARS_TRANSFER: Final = 5000
DESCRIPTION_MAX_CHARS_CHARGE: Final = 40000
DESCRIPTION_MAX_CHARS: Final = min(DESCRIPTION_MAX_CHARS_TRANSFER, DESCRIPTION_MAX_CHARS_CHARGE)
"""The longest description any debit or credit may carry, whichever way it is sent."""
IDEMPOTENCY_KEY_MAX_CHARS: Final = 255
IDEMPOTENCY_KEY_TTL_HOURS: Final = 24
LIST_PAGE_MAX: Final = 100
LIST_PAGE_DEFAULT: Final = 10
AMOUNT_MAX: Final = 99_999_999
"""The largest ``amount`` any create call takes (eight digits of minor units)."""
REFUND_REASONS: Final = ("duplicate", "fraudulent", "requested_by_customer")
