"""The sandbox's own Stripe facts: importable constants, and the regions they imply over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import rules
from tests.helpers.sandbox import ServerFactory, make_client

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
            account("US00000001", "US", "eur"),
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
