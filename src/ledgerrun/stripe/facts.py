"""Stripe's rules that ledgerrun depends on, each stated once.

Plain constants and small pure functions, with no import of the SDK, so that any stage (ingest
included) may read them. The sandbox (``ledgerrun_sandbox``) keeps its own copy on purpose, being
an independent double of Stripe; ``tests/test_facts_agree.py`` checks that the two agree.

Sources: Stripe's documentation on account debits (regions, the per-debit maximum, negative
balances), on metadata, on idempotent requests, and on API keys.
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


# --- limits ------------------------------------------------------------------------------------

IDEMPOTENCY_KEY_MAX_CHARS: Final = 255
IDEMPOTENCY_KEY_TTL_HOURS: Final = 24
METADATA_MAX_KEYS: Final = 50
METADATA_KEY_MAX_CHARS: Final = 40
METADATA_VALUE_MAX_CHARS: Final = 500
DESCRIPTION_MAX_CHARS: Final = 1000
DEBIT_MAXIMUM: Final = {"usd": 10_000_000}
"""The most one account debit may move, in minor units: 100,000.00 USD. Stripe states it in USD;
for other currencies the job's own ``max_amount`` is the guard."""

LIST_PAGE_MAX: Final = 100
RATE_LIMIT_TEST: Final = 25
RATE_LIMIT_LIVE: Final = 100


# --- accounts ----------------------------------------------------------------------------------


def platform_covers_losses(losses_payments: str | None, account_type: str | None) -> bool:
    """True when the platform, not Stripe, is responsible for the account's negative balances,
    which Stripe requires for an account debit: ``controller.losses.payments = application``;
    older API shapes tell it by type (Express and Custom accounts, not Standard)."""
    if losses_payments is not None:
        return losses_payments == "application"
    return account_type in ("express", "custom")
