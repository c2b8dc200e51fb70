"""The product's Stripe facts (ledgerrun.stripe.facts) and the sandbox's own copy
(ledgerrun_sandbox.rules) agree, fact by fact.

The sandbox keeps its copy on purpose (it is an independent double of Stripe and imports
nothing from ledgerrun), so a fact changed on one side only would let the crash and end-to-end
tests pass against a Stripe that does not exist. The values themselves are checked where they
live (tests/sandbox/test_sandbox_rules.py for the sandbox); here only that the two agree.

Facts only one side has, so nothing to compare: the largest ``amount`` and the default page size
(the sandbox validates requests; the product never sends such values), the API versions (the
sandbox refuses unknown ones; the product sends the one its SDK pins, checked here to be one the
sandbox knows), and currency exponents (the sandbox takes minor units as given and knows no
exponents).
"""

from __future__ import annotations

import itertools
import string

import pytest
import stripe

from ledgerrun.money import table
from ledgerrun.stripe import facts
from ledgerrun_sandbox import rules
from ledgerrun_sandbox.objects import controller
from ledgerrun_sandbox.routes import OPERATIONS
from ledgerrun_sandbox.seed import ACCOUNT_TYPES, LOSSES_VALUES

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
        "DESCRIPTION_MAX_CHARS_TRANSFER",
        "DESCRIPTION_MAX_CHARS_CHARGE",
        "IDEMPOTENCY_KEY_MAX_CHARS",
        "IDEMPOTENCY_KEY_TTL_HOURS",
        "LIST_PAGE_MAX",
        "DEBIT_MAXIMUM",
        "DEBIT_REGIONS",
        "DEBIT_CROSS_BORDER",
        "CHARGE_MINIMUM",
        "CHARGE_LIST_GROUP_CAP",
        "SEARCH_LAG_S",
        "RATE_LIMIT_TEST",
        "RATE_LIMIT_LIVE",
        "ENDPOINT_RATE_LIMIT",
        "ENDPOINT_RATE_LIMITS",
        "PLATFORM_LOSSES",
    ],
)
def test_the_same_limit(name: str) -> None:
    assert getattr(facts, name) == getattr(rules, name)


def test_the_debit_maximum_is_read_the_same_way_in_every_currency() -> None:
    for currency in ("usd", "USD", "eur", "jpy", "GBP", "sgd", "xyz"):
        assert facts.DEBIT_MAXIMUM.get(currency.lower()) == rules.debit_maximum(currency)


def test_the_debit_ceilings_are_conservative_and_cover_every_debit_region() -> None:
    """100,000 USD or its equivalent: USD exactly; every other listed currency below it, and
    no ceiling above the largest amount Stripe takes at all."""
    assert facts.DEBIT_MAXIMUM["usd"] == 10_000_000
    assert facts.DEBIT_MAXIMUM["jpy"] < 20_000_000  # the 20,000,000 JPY (~130,000 USD)
    assert all(0 < ceiling <= rules.AMOUNT_MAX for ceiling in facts.DEBIT_MAXIMUM.values())
    for currency in facts.DEBIT_MAXIMUM:
        table.exponent(currency)  # a currency the product knows (raises if not)
    home = {"US": "usd", "CA": "cad", "HK": "hkd", "JP": "jpy", "NZ": "nzd"}
    assert set(home) | {"EUROPE"} == set(facts.DEBIT_REGIONS)
    for currency in (*home.values(), "eur", "gbp", "chf", "sek", "dkk", "nok", "pln"):
        assert currency in facts.DEBIT_MAXIMUM


def test_the_charge_minimum_is_read_the_same_way() -> None:
    for currency in ("usd", "JPY", "gbp", "xyz"):
        assert facts.CHARGE_MINIMUM.get(currency.lower()) == rules.charge_minimum(currency)
    assert facts.CHARGE_MINIMUM["usd"] == 50  # "0.50 USD or equivalent"


# --- availability of account debits --------------------------------------------------------------


@pytest.mark.parametrize(
    "platform, account",
    [("US", "US"), ("DE", "FR"), ("GB", "IE"), ("JP", "JP"), ("SG", "SG"), ("US", "CA"),
     ("AU", "AU"), ("TR", "TR"), ("CH", "NO"), ("HK", "HK"), ("NZ", "AU")],
)  # fmt: skip
def test_the_same_platforms_may_debit_the_same_accounts(platform: str, account: str) -> None:
    assert facts.debits_available(platform, account) == rules.debits_available(platform, account)


def test_a_singapore_platform_may_not_debit_even_at_home() -> None:
    assert not facts.debits_available("SG", "SG") and facts.debits_available("US", "US")


# --- rate limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", [*OPERATIONS, "GET /v1/payouts"])
def test_every_endpoint_has_the_same_limit_on_both_sides(operation: str) -> None:
    assert facts.endpoint_rate_limit(operation) == rules.endpoint_rate_limit(operation)


def test_search_is_the_slower_endpoint_and_the_modes_differ() -> None:
    assert facts.endpoint_rate_limit("GET /v1/charges/search") == 20
    assert facts.endpoint_rate_limit("POST /v1/transfers") == 25
    assert facts.global_rate_limit(live=False) == rules.global_rate_limit("test") == 25
    assert facts.global_rate_limit(live=True) == rules.global_rate_limit("live") == 100
    assert rules.global_rate_limit("off") is None


# --- API versions --------------------------------------------------------------------------------


def test_the_version_the_sdk_pins_is_one_the_sandbox_knows() -> None:
    """The product sends the installed SDK's version by default; the sandbox refuses unknown
    versions as Stripe does, so it must know this one (stripe 16.1: 2026-10-28.endive)."""
    assert rules.is_api_version(stripe.api_version)
    assert "2026-10-28.endive" in rules.API_VERSIONS
    assert list(rules.API_VERSIONS) == sorted(rules.API_VERSIONS)


# --- negative balances ---------------------------------------------------------------------------


@pytest.mark.parametrize("account_type", ACCOUNT_TYPES)
@pytest.mark.parametrize("losses", LOSSES_VALUES)
def test_the_same_accounts_are_the_platforms_to_cover_and_so_to_debit(
    account_type: str, losses: str
) -> None:
    if account_type == "standard" and losses == "application":
        return  # no such account: Stripe covers a Standard account's losses
    # What the sandbox serves as controller.losses.payments reads the same way in the product.
    served = controller(account_type, losses)["losses"]["payments"]
    sandbox_says = served == rules.PLATFORM_LOSSES
    assert facts.platform_covers_losses(served, account_type) == sandbox_says
    assert facts.platform_covers_losses(served, None) == sandbox_says  # the field alone decides
    assert sandbox_says == (losses == "application")
    if rules.may_go_negative(served, True):
        assert facts.platform_covers_losses(served, account_type)


def test_without_a_controller_only_a_custom_account_is_certainly_the_platforms() -> None:
    """Express accounts may leave their losses to Stripe, so the type alone no longer says."""
    assert facts.platform_covers_losses(None, "custom")
    assert not facts.platform_covers_losses(None, "express")
    assert not facts.platform_covers_losses(None, "standard")
    assert rules.default_losses("express") == rules.default_losses("custom") == "application"
