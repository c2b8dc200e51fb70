"""The sandbox's own Stripe facts: importable constants, and the regions they imply over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import SandboxServer, SeedError, rules
from tests.helpers.sandbox import (
    EXPRESS,
    ServerFactory,
    base_seed,
    charge_debit,
    debit,
    error_of,
    make_client,
)

EU_PLATFORM = "acct_1PlatformDE000001"


def test_europe_is_the_eea_plus_gb_and_ch() -> None:
    assert len(rules.EU) == 27 and "HU" in rules.EU
    assert sorted(rules.EEA - rules.EU) == ["IS", "LI", "NO"] and rules.EU < rules.EEA
    assert sorted(rules.EUROPE - rules.EEA) == ["CH", "GB"] and len(rules.EUROPE) == 32
    assert {rules.region(c) for c in ("HU", "de", "NO", "GB", "CH")} == {"EUROPE"}
    assert rules.region("US") == "US" and rules.region("TR") == "TR"


def test_facts_are_plain_constants() -> None:
    assert rules.TEST_KEY_PREFIXES == ("sk_test_", "rk_test_")
    assert (rules.METADATA_MAX_KEYS, rules.METADATA_KEY_MAX_CHARS) == (50, 40)
    assert rules.METADATA_VALUE_MAX_CHARS == 500
    assert rules.DEBIT_MAXIMUM["usd"] == 10_000_000 and rules.debit_maximum("USD") == 10_000_000
    assert rules.debit_maximum("jpy") == 10_000_000 and rules.debit_maximum("eur") == 8_000_000
    assert rules.debit_maximum("sgd") is None  # no account debits in Singapore
    assert all(0 < m <= rules.AMOUNT_MAX for m in rules.DEBIT_MAXIMUM.values())
    assert rules.may_go_negative("application", True)
    assert not rules.may_go_negative("stripe", True)
    assert not rules.may_go_negative("application", False)
    assert [rules.default_losses(t) for t in ("express", "custom", "standard")] == [
        "application",
        "application",
        "stripe",
    ]
    assert rules.charge_minimum("usd") == 50 and rules.charge_minimum("JPY") == 50
    assert rules.charge_minimum("gbp") == 30 and rules.charge_minimum("xyz") is None
    assert rules.DESCRIPTION_MAX_CHARS_TRANSFER == rules.DESCRIPTION_MAX_CHARS == 5000
    assert rules.CHARGE_LIST_GROUP_CAP == 100


def _european_seed() -> dict[str, Any]:
    def account(suffix: str, country: str, currency: str) -> dict[str, Any]:
        return {"id": f"acct_1Conn{suffix}", "country": country, "default_currency": currency,
                "balance": {currency: 10_000}}  # fmt: skip

    return {
        "platform": {"id": EU_PLATFORM, "country": "DE", "default_currency": "eur"},
        "accounts": [
            account("HU00000001", "HU", "eur"),
            account("NO00000001", "NO", "eur"),
            account("GB00000001", "GB", "eur"),
            account("CH00000001", "CH", "eur"),
            account("US00000001", "US", "usd"),
            account("TR00000001", "TR", "eur"),
        ],
    }


@pytest.mark.parametrize("country", ["HU", "NO", "GB", "CH"])
def test_debits_within_europe_are_allowed(make_server: ServerFactory, country: str) -> None:
    client = make_client(make_server(_european_seed()).url)
    transfer = client.v1.transfers.create(
        {"amount": 100, "currency": "eur", "destination": EU_PLATFORM},
        {"stripe_account": f"acct_1Conn{country}00000001"},
    )
    assert transfer.amount == 100 and transfer.destination == EU_PLATFORM


@pytest.mark.parametrize("country", ["US", "TR"])
def test_debits_from_outside_europe_are_refused(make_server: ServerFactory, country: str) -> None:
    client = make_client(make_server(_european_seed()).url)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.create(
            {"amount": 100, "currency": "eur", "source": f"acct_1Conn{country}00000001"}
        )
    assert info.value.code == "transfers_not_allowed" and "region" in info.value.user_message


# --- the debit maximum, per currency ---------------------------------------------------------

JP_PLATFORM = "acct_1PlatformJP000001"
JP_ACCOUNT = "acct_1ConnJP00000001"


def _japanese_seed() -> dict[str, Any]:
    return {
        "platform": {"id": JP_PLATFORM, "country": "JP", "default_currency": "jpy"},
        "accounts": [{"id": JP_ACCOUNT, "country": "JP", "default_currency": "jpy",
                      "balance": {"jpy": 50_000_000}}],
    }  # fmt: skip


@pytest.mark.parametrize("way", ["transfer", "charge"])
def test_a_yen_debit_above_the_equivalent_of_100000_dollars_is_refused(
    make_server: ServerFactory, way: str
) -> None:
    """The issue's case: 20,000,000 JPY (about 130,000 USD) must not pass; the ceiling is a
    conservative 10,000,000 JPY, and yen has no minor unit."""
    client = make_client(make_server(_japanese_seed()).url)

    def send(amount: int) -> Any:
        if way == "transfer":
            return client.v1.transfers.create(
                {"amount": amount, "currency": "jpy", "destination": JP_PLATFORM},
                {"stripe_account": JP_ACCOUNT},
            )
        return client.v1.charges.create({"amount": amount, "currency": "jpy", "source": JP_ACCOUNT})

    with pytest.raises(stripe.InvalidRequestError) as info:
        send(20_000_000)
    assert info.value.code == "amount_too_large" and error_of(info.value).param == "amount"
    assert send(10_000_000).amount == 10_000_000
    with pytest.raises(stripe.InvalidRequestError):
        send(10_000_001)


def test_a_euro_debit_has_its_own_ceiling(make_server: ServerFactory) -> None:
    seed = _european_seed()
    seed["accounts"][0]["balance"] = {"eur": 20_000_000}
    client = make_client(make_server(seed).url)
    account = seed["accounts"][0]["id"]
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.create({"amount": 8_000_001, "currency": "eur", "source": account})
    assert info.value.code == "amount_too_large"
    assert (
        client.v1.charges.create({"amount": 8_000_000, "currency": "eur", "source": account}).amount
        == 8_000_000
    )


# --- where account debits exist at all -----------------------------------------------------------


def test_a_platform_where_stripe_offers_no_account_debits_cannot_debit_even_at_home(
    make_server: ServerFactory,
) -> None:
    """Singapore is a region of its own, so no region rule refuses a Singapore account; Stripe's
    availability of account debits does."""
    seed = {
        "platform": {"id": "acct_1PlatformSG000001", "country": "SG", "default_currency": "sgd",
                     "balance": {"sgd": 100_000}},
        "accounts": [{"id": "acct_1ConnSG00000001", "country": "SG", "default_currency": "sgd",
                      "balance": {"sgd": 100_000}}],
    }  # fmt: skip
    client = make_client(make_server(seed).url)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.create(
            {"amount": 500, "currency": "sgd", "source": "acct_1ConnSG00000001"}
        )
    assert info.value.code == "transfers_not_allowed"
    assert "not available to a platform in SG" in info.value.user_message
    # A credit is not an account debit: the platform may still pay the account.
    credit = client.v1.transfers.create(
        {"amount": 500, "currency": "sgd", "destination": "acct_1ConnSG00000001"}
    )
    assert credit.amount == 500


def test_a_us_account_holds_usd_and_a_seed_saying_otherwise_is_refused() -> None:
    seed = base_seed()
    seed["accounts"][0]["default_currency"] = "eur"
    with pytest.raises(SeedError, match="an account in US holds usd"):
        SandboxServer(seed, api_keys=["sk_test_seedCheck00001"])


# --- the charge minimum --------------------------------------------------------------------------


def test_a_debit_by_charge_below_stripes_minimum_is_amount_too_small(
    make_server: ServerFactory,
) -> None:
    """Stripe's minimum charge is 0.50 USD (or its equivalent: 50 JPY); a debit by transfer
    has no such minimum."""
    client = make_client(make_server().url)
    with pytest.raises(stripe.InvalidRequestError) as info:
        charge_debit(client, EXPRESS, 49, key="small-1")
    assert info.value.code == "amount_too_small" and error_of(info.value).param == "amount"
    assert info.value.user_message.endswith("Amount must be at least $0.50 usd")
    assert charge_debit(client, EXPRESS, 50, key="small-1").amount == 50  # not saved: key reused
    assert debit(client, EXPRESS, 1).amount == 1
    jp = make_client(make_server(_japanese_seed()).url)
    with pytest.raises(stripe.InvalidRequestError) as info:
        jp.v1.charges.create({"amount": 49, "currency": "jpy", "source": JP_ACCOUNT})
    assert "¥50 jpy" in info.value.user_message


# --- the 100-charge cap of a transfer_group listing ----------------------------------------------


def test_listing_charges_by_transfer_group_shows_only_the_newest_100(
    make_server: ServerFactory,
) -> None:
    """Stripe's description of the filter: "Only return charges for this transfer group, limited
    to 100." A client paging through it beyond 100 charges misses the older ones, as live."""
    client = make_client(make_server().url)
    made = [
        charge_debit(client, EXPRESS, 50 + n, transfer_group="ledgerrun").id for n in range(130)
    ]
    charge_debit(client, EXPRESS, 60, transfer_group="other")
    seen: list[str] = []
    params: stripe.params.ChargeListParams = {"transfer_group": "ledgerrun", "limit": 40}
    while True:
        page = client.v1.charges.list(params)
        seen += [c.id for c in page.data]
        if not page.has_more:
            break
        params["starting_after"] = page.data[-1].id
    assert seen == made[::-1][:100]  # the 30 oldest are never listed
    # Without the filter every charge is there, 100 a page.
    everything = client.v1.charges.list({"limit": 100})
    assert len(everything.data) == 100 and everything.has_more
    # Search has no such cap.
    found = client.v1.charges.search({"query": "created>0", "limit": 100})
    assert found.has_more and len(found.data) == 100
