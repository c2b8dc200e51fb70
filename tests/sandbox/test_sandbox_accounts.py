"""Authentication, account access, account objects and balances."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import SandboxServer, SeedError
from tests.helpers.constants import KEY, PLATFORM
from tests.helpers.sandbox import (
    CUSTOM,
    EXPRESS,
    REVOKED,
    STANDARD,
    STRIPE_LIABLE,
    UNKNOWN,
    ServerFactory,
    balance_of,
    base_seed,
    charge_debit,
    debit,
    error_of,
    make_client,
    sandbox_state,
)


class BasicAuthHttpClient(stripe.RequestsClient):
    """Sends the SDK's key as HTTP basic auth (the key as user name) instead of Bearer."""

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> Any:
        rewritten = dict(headers or {})
        key = rewritten.pop("Authorization").removeprefix("Bearer ")
        rewritten["Authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        return super().request(method, url, rewritten, post_data)


def test_missing_key_is_401(server: SandboxServer) -> None:
    with pytest.raises(stripe.AuthenticationError) as info:
        make_client(server.url, key="").v1.balance.retrieve()
    assert info.value.http_status == 401 and error_of(info.value).type == "invalid_request_error"
    assert "did not provide an API key" in info.value.user_message


@pytest.mark.parametrize(
    "key, words",
    [
        ("sk_" + "live_51SecretLiveKey123456wxyz", "sk_live_****wxyz (a live mode"),  # built, so
        ("rk_" + "live_51SecretLiveKey123456wxyz", "rk_live_****wxyz (a live mode"),  # no scanner
        ("pk_test_51PublishableKey12345wxyz", "provided: pk_test_****wxyz"),
        ("not_a_stripe_key_at_all_wxyz", "provided: ****wxyz"),
        ("sk_test_51WellFormedButNotIssued0wxyz", "provided: sk_test_****wxyz"),
    ],
)
def test_non_test_keys_are_401_and_only_last_4_chars_echoed(
    server: SandboxServer, key: str, words: str
) -> None:
    with pytest.raises(stripe.AuthenticationError) as info:
        debit(make_client(server.url, key=key), EXPRESS)
    message = info.value.user_message
    assert info.value.http_status == 401 and words in message
    assert message.startswith("Invalid API Key provided: ")
    assert "wxyz" in message and key[:-4] not in message and key[-5:] not in message
    assert sandbox_state(server.url)["stats"]["writes_executed"] == 0


def test_restricted_test_key_and_basic_auth_are_accepted(make_server: ServerFactory) -> None:
    keys = ["rk_test_51RestrictedKey0001", "sk_test_51BasicAuthKey00001"]
    server = make_server(api_keys=keys)
    restricted = make_client(server.url, key="rk_test_51RestrictedKey0001")
    assert restricted.v1.balance.retrieve().object == "balance"
    basic = stripe.StripeClient(
        "sk_test_51BasicAuthKey00001",
        base_addresses={"api": server.url},
        max_network_retries=0,
        http_client=BasicAuthHttpClient(),
    )
    assert debit(basic, EXPRESS, 10).amount == 10


def test_express_and_custom_accounts_are_the_platforms_responsibility(
    client: stripe.StripeClient,
) -> None:
    express = client.v1.accounts.retrieve(EXPRESS)
    assert (express.id, express.object, express.type) == (EXPRESS, "account", "express")
    assert (express.country, express.default_currency) == ("US", "usd")
    assert express.charges_enabled and express.payouts_enabled
    assert "livemode" not in express  # Stripe's account object has no livemode
    assert isinstance(express.created, int) and express.metadata is not None
    assert express.metadata.to_dict() == {}
    assert express.controller is not None and express.controller.losses is not None
    assert express.controller.type == "application" and express.controller.is_controller
    assert express.controller.losses.payments == "application"
    assert express.controller.requirement_collection == "stripe"
    custom = client.v1.accounts.retrieve(CUSTOM)
    assert custom.controller is not None and custom.controller.losses is not None
    assert custom.type == "custom" and custom.controller.losses.payments == "application"
    assert custom.controller.requirement_collection == "application"


def test_an_express_account_may_leave_its_losses_to_stripe_and_then_cannot_be_debited(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    """Stripe lets Express accounts have controller.losses.payments = stripe; only accounts
    whose platform covers their losses may be debited (by either way), though they may still
    receive credits."""
    account = client.v1.accounts.retrieve(STRIPE_LIABLE)
    assert account.controller is not None and account.controller.losses is not None
    assert account.type == "express" and account.controller.losses.payments == "stripe"
    for way in (debit, charge_debit):
        with pytest.raises(stripe.InvalidRequestError) as info:
            way(client, STRIPE_LIABLE, 100)
        assert info.value.code == "transfers_not_allowed"
        assert "losses.payments is stripe" in info.value.user_message
    credit = client.v1.transfers.create(
        {"amount": 100, "currency": "usd", "destination": STRIPE_LIABLE}
    )
    assert credit.amount == 100
    assert balance_of(sandbox_state(server.url), STRIPE_LIABLE) == 100_100


def test_losses_payments_is_a_checked_seed_field() -> None:
    seed = base_seed()
    seed["accounts"][0]["losses_payments"] = "nobody"
    with pytest.raises(SeedError, match="losses_payments 'nobody'"):
        SandboxServer(seed, api_keys=[KEY])
    seed = base_seed()
    seed["accounts"][2]["losses_payments"] = "application"  # a Standard account
    with pytest.raises(SeedError, match="Stripe covers the losses of a Standard account"):
        SandboxServer(seed, api_keys=[KEY])


def test_standard_account_losses_are_stripes(client: stripe.StripeClient) -> None:
    standard = client.v1.accounts.retrieve(STANDARD)
    assert standard.type == "standard"
    assert standard.controller is not None and standard.controller.losses is not None
    assert standard.controller.type == "account"
    assert standard.controller.losses.payments == "stripe"


def test_missing_and_revoked_accounts_are_both_403_account_invalid(
    client: stripe.StripeClient,
) -> None:
    # Stripe does not tell an account that does not exist from one the key cannot reach.
    for account in (UNKNOWN, REVOKED):
        with pytest.raises(stripe.PermissionError) as info:
            client.v1.accounts.retrieve(account)
        assert info.value.http_status == 403 and error_of(info.value).code == "account_invalid"
        assert (
            error_of(info.value).type == "invalid_request_error"
            and account in info.value.user_message
        )
    with pytest.raises(stripe.PermissionError):
        client.v1.accounts.retrieve(CUSTOM, options={"stripe_account": EXPRESS})


def test_current_account_is_platform_or_the_stripe_account(client: stripe.StripeClient) -> None:
    assert client.v1.accounts.retrieve_current().id == PLATFORM
    assert client.v1.accounts.retrieve_current(options={"stripe_account": EXPRESS}).id == EXPRESS
    with pytest.raises(stripe.PermissionError) as info:
        client.v1.accounts.retrieve_current(options={"stripe_account": REVOKED})
    assert error_of(info.value).code == "account_invalid"


def test_balances_of_platform_and_account_follow_debits(client: stripe.StripeClient) -> None:
    debit(client, EXPRESS, 2500)
    platform = client.v1.balance.retrieve()
    assert platform.object == "balance" and platform.livemode is False
    assert [(b.amount, b.currency) for b in platform.available] == [(1_002_500, "usd")]
    assert platform.available[0].source_types is not None
    assert platform.available[0].source_types.to_dict() == {"card": 1_002_500}
    assert [(b.amount, b.currency) for b in platform.pending] == [(0, "usd")]
    account = client.v1.balance.retrieve(options={"stripe_account": EXPRESS})
    assert [(b.amount, b.currency) for b in account.available] == [(497_500, "usd")]
    with pytest.raises(stripe.PermissionError):
        client.v1.balance.retrieve(options={"stripe_account": UNKNOWN})


def test_unknown_url_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.raw_request("get", "/v1/payouts")
    assert info.value.http_status == 404 and "Unrecognized request URL" in info.value.user_message
    with pytest.raises(stripe.InvalidRequestError):
        client.raw_request("post", "/v1/transfers/tr_123", amount=5)


KEYED_SEED_KEYS = ["sk_test_rehearsalKey0001abcd", "rk_test_restrictedKey002efgh"]


@pytest.fixture
def keyed_server(make_server: ServerFactory) -> SandboxServer:
    return make_server({**base_seed(), "api_keys": KEYED_SEED_KEYS})


@pytest.mark.parametrize("key", [*KEYED_SEED_KEYS, KEY])
def test_seed_api_keys_and_the_servers_own_are_accepted(
    keyed_server: SandboxServer, key: str
) -> None:
    """The seed lists two keys; the server was given ``KEY`` besides (``api_keys=``)."""
    assert debit(make_client(keyed_server.url, key=key), EXPRESS, 10).amount == 10


def test_a_sandbox_that_would_accept_no_key_does_not_start() -> None:
    """Stripe accepts only the keys it issued; a sandbox with none would accept nothing, and
    one accepting any well-formed key would be kinder than Stripe."""
    with pytest.raises(SeedError, match="would accept no API key"):
        SandboxServer(base_seed())
    with pytest.raises(SeedError, match="not a test-mode"):
        SandboxServer(base_seed(), api_keys=["sk_" + "live_51GivenLiveKey000000"])
    with SandboxServer(base_seed(), api_keys=[KEY]) as server:
        assert make_client(server.url).v1.balance.retrieve().object == "balance"


def test_other_test_keys_are_refused_when_the_seed_lists_keys(keyed_server: SandboxServer) -> None:
    other = "sk_test_51SomeoneElsesKey00zyxw"
    with pytest.raises(stripe.AuthenticationError) as info:
        debit(make_client(keyed_server.url, key=other), EXPRESS, 10)
    assert info.value.http_status == 401 and error_of(info.value).type == "invalid_request_error"
    assert info.value.user_message == "Invalid API Key provided: sk_test_****zyxw"
    assert other[:-4] not in str(info.value.json_body)
    state = sandbox_state(keyed_server.url)
    assert state["transfers"] == [] and "api_keys" not in json.dumps(state)


@pytest.mark.parametrize(
    "keys, words",
    [
        ([], "non-empty list"),
        ("sk_test_abc", "non-empty list"),
        (
            ["sk_test_ok000001", "sk_" + "live_51NotAllowedHere0000"],
            "api_keys[1] is not a test-mode",
        ),
        (["sk_test_"], "api_keys[0] has nothing after its prefix"),
        ([42], "api_keys[0] is not a test-mode"),
    ],
)
def test_malformed_api_keys_are_refused_without_echoing_them(keys: object, words: str) -> None:
    with pytest.raises(SeedError) as info:
        SandboxServer({**base_seed(), "api_keys": keys}, api_keys=[KEY])
    assert words in str(info.value) and "NotAllowedHere" not in str(info.value)


NEGATIVE = "acct_1ExpressNeg0001"
NEGATIVE_STANDARD = "acct_1StandardNeg001"


def _negative_seed() -> dict[str, Any]:
    seed = base_seed()
    seed["accounts"] += [
        {"id": NEGATIVE, "country": "US", "default_currency": "usd", "balance": {"usd": 1_000},
         "negative_balances": True},
        {"id": NEGATIVE_STANDARD, "type": "standard", "country": "US", "default_currency": "usd",
         "negative_balances": True},
    ]  # fmt: skip
    return seed


@pytest.mark.parametrize("way", [debit, charge_debit])
def test_negative_balances_let_a_debit_overdraw(make_server: ServerFactory, way: Any) -> None:
    server = make_server(_negative_seed())
    client = make_client(server.url)
    assert way(client, NEGATIVE, 5_000).amount == 5_000
    balance = client.v1.balance.retrieve(options={"stripe_account": NEGATIVE})
    assert [(b.amount, b.currency) for b in balance.available] == [(-4_000, "usd")]
    state = sandbox_state(server.url)
    assert balance_of(state, NEGATIVE) == -4_000 and balance_of(state, PLATFORM) == 1_005_000
    assert [a["negative_balances"] for a in state["accounts"] if a["id"] == NEGATIVE] == [True]
    # Without the seed flag the same debit is refused, as before.
    with pytest.raises(stripe.InvalidRequestError) as info:
        way(client, EXPRESS, 500_001)
    assert info.value.code == "balance_insufficient"


def test_negative_balances_do_not_make_a_standard_account_debitable(
    make_server: ServerFactory,
) -> None:
    client = make_client(make_server(_negative_seed()).url)
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, NEGATIVE_STANDARD, 10)
    assert info.value.code == "transfers_not_allowed"


def test_negative_balances_must_be_a_boolean() -> None:
    seed = _negative_seed()
    seed["accounts"][-2]["negative_balances"] = "yes"
    with pytest.raises(SeedError, match="negative_balances must be true or false"):
        SandboxServer(seed, api_keys=[KEY])
    seed = base_seed()
    seed["platform"]["negative_balances"] = True
    with pytest.raises(SeedError, match="unknown field"):
        SandboxServer(seed, api_keys=[KEY])
