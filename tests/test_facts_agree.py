"""The product's Stripe facts (ledgerrun.stripe.facts) and the sandbox's own copy
(ledgerrun_sandbox.rules) agree, fact by fact.

The sandbox keeps its copy on purpose (it is an independent double of Stripe and imports
nothing from ledgerrun), so a fact changed on one side only would let the crash and end-to-end
tests pass against a Stripe that does not exist. The values themselves are checked where they
live (tests/sandbox/test_sandbox_rules.py for the sandbox); here only that the two agree.

Facts only one side has, so nothing to compare: the rate limits (the product paces itself; the
sandbox does not limit unless told to), the largest ``amount`` and the default page size (the
sandbox validates requests; the product never sends such values), and currency exponents (the
sandbox takes minor units as given and knows no exponents).
"""

from __future__ import annotations

import itertools
import string

import pytest

from ledgerrun.stripe import facts
from ledgerrun_sandbox import rules
from ledgerrun_sandbox.objects import controller
from ledgerrun_sandbox.seed import ACCOUNT_TYPES

# --- regions -------------------------------------------------------------------------------------

EVERY_CODE = ["".join(p) for p in itertools.product(string.ascii_uppercase, repeat=2)]


def test_the_same_countries_make_europe() -> None:
    assert facts.EEA == rules.EEA
    assert facts.EUROPE == rules.EUROPE


def test_every_country_code_is_in_the_same_region_on_both_sides() -> None:
    differ = [c for c in EVERY_CODE if facts.region(c) != rules.region(c)]
    assert differ == []
    assert [c for c in EVERY_CODE if facts.region(c.lower()) != rules.region(c.lower())] == []


def test_hungary_is_in_europe_on_both_sides() -> None:
    """The two disagreed about HU once (the review that asked for this test)."""
    assert facts.region("HU") == rules.region("HU") == rules.EUROPE_REGION == "EUROPE"
    assert facts.region("HU") == facts.region("DE") == facts.region("GB")


# --- API keys ------------------------------------------------------------------------------------


def test_the_same_prefixes_are_test_and_live_secrets() -> None:
    assert facts.TEST_PREFIXES == rules.TEST_KEY_PREFIXES
    secret_live = tuple(p for p in rules.LIVE_KEY_PREFIXES if not p.startswith("pk_"))
    assert secret_live == facts.LIVE_PREFIXES
    secret = {p for p in rules.KEY_PREFIXES if not p.startswith("pk_")}
    assert set(facts.SECRET_PREFIXES) == secret


@pytest.mark.parametrize(
    "prefix", sorted(set(rules.KEY_PREFIXES) | set(facts.SECRET_PREFIXES) | {"xk_test_", ""})
)
@pytest.mark.parametrize("body", ["51AbcDEF000wxyz", ""])
def test_a_key_the_product_would_use_in_test_mode_is_one_the_sandbox_accepts(
    prefix: str, body: str
) -> None:
    key = prefix + body
    product = facts.key_problem(key) is None and not facts.is_live_key(key)
    sandbox = key.startswith(rules.TEST_KEY_PREFIXES) and len(key) > len(prefix)
    assert product == sandbox, key


# --- limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "METADATA_MAX_KEYS",
        "METADATA_KEY_MAX_CHARS",
        "METADATA_VALUE_MAX_CHARS",
        "DESCRIPTION_MAX_CHARS",
        "IDEMPOTENCY_KEY_MAX_CHARS",
        "IDEMPOTENCY_KEY_TTL_HOURS",
        "LIST_PAGE_MAX",
        "DEBIT_MAXIMUM",
    ],
)
def test_the_same_limit(name: str) -> None:
    assert getattr(facts, name) == getattr(rules, name)


def test_the_debit_maximum_is_read_the_same_way_in_every_currency() -> None:
    for currency in ("usd", "USD", "eur", "jpy"):
        assert facts.DEBIT_MAXIMUM.get(currency.lower()) == rules.debit_maximum(currency)


# --- negative balances ---------------------------------------------------------------------------


@pytest.mark.parametrize("account_type", ACCOUNT_TYPES)
def test_the_same_accounts_are_the_platforms_to_cover_and_so_to_debit(account_type: str) -> None:
    sandbox_says = account_type in rules.PLATFORM_LIABLE_TYPES
    assert facts.platform_covers_losses(None, account_type) == sandbox_says
    # What the sandbox serves as controller.losses.payments reads the same way in the product.
    served = controller(account_type)["losses"]["payments"]
    assert facts.platform_covers_losses(served, account_type) == sandbox_says
    assert facts.platform_covers_losses(served, None) == sandbox_says  # the field alone decides
    if rules.may_go_negative(account_type, True):
        assert facts.platform_covers_losses(served, account_type)
