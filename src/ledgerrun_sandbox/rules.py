"""The facts about Stripe that the sandbox enforces, each stated once, importable on their own.

These are the sandbox's own copy, kept apart from the product's (``ledgerrun.stripe.facts``) on
purpose: the sandbox is an independent double of Stripe, and a test compares the two. Nothing here
imports from ``ledgerrun``. Sources: Stripe's documentation on account debits (same region,
default currency, at most 100,000 USD, no negative balance unless reserves allow it), on
metadata, on idempotent requests and on API keys.
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


# --- API keys ----------------------------------------------------------------------------------

TEST_KEY_PREFIXES: Final = ("sk_test_", "rk_test_")
"""The keys the sandbox accepts (when the seed lists no ``api_keys``): secret or restricted
test-mode keys with something after the prefix."""

LIVE_KEY_PREFIXES: Final = ("sk_live_", "rk_live_", "pk_live_")
"""Live-mode keys: always refused, with a message saying so."""

KEY_PREFIXES: Final = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_")
"""Every prefix a Stripe API key may carry (the part an error message may show)."""

# --- limits ------------------------------------------------------------------------------------

METADATA_MAX_KEYS: Final = 50
METADATA_KEY_MAX_CHARS: Final = 40
METADATA_VALUE_MAX_CHARS: Final = 500
DESCRIPTION_MAX_CHARS: Final = 1000
IDEMPOTENCY_KEY_MAX_CHARS: Final = 255
IDEMPOTENCY_KEY_TTL_HOURS: Final = 24
LIST_PAGE_MAX: Final = 100
LIST_PAGE_DEFAULT: Final = 10
AMOUNT_MAX: Final = 99_999_999
"""The largest ``amount`` any create call takes (eight digits of minor units)."""

DEBIT_MAXIMUM: Final = {"usd": 10_000_000}
"""The most one account debit may move, in minor units per currency: 100,000.00 USD. Stripe
states the limit in USD "or equivalent"; the sandbox converts nothing, so it enforces it for USD
debits only."""


def debit_maximum(currency: str) -> int | None:
    """The most one account debit in ``currency`` may move (minor units), or ``None``."""
    return DEBIT_MAXIMUM.get(currency.lower())


# --- negative balances -------------------------------------------------------------------------

PLATFORM_LIABLE_TYPES: Final = ("express", "custom")
"""Account types whose negative balances the platform covers (``controller.losses.payments`` is
``application``): the only ones Stripe lets a platform debit."""


def may_go_negative(account_type: str, negative_balances: bool) -> bool:
    """Whether money taken from an account (a debit, or paying back a reversal) may leave its
    available balance below zero.

    Only when the platform covers the account's losses (Express, Custom) *and* the account is
    set up for it (``negative_balances`` in the seed: on Stripe, connected reserves enabled and
    a bank account in the currency). Otherwise a short balance fails ``balance_insufficient``."""
    return negative_balances and account_type in PLATFORM_LIABLE_TYPES
