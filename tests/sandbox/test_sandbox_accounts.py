"""Authentication, account access, account objects and balances."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest
import stripe
from sandbox_helpers import (
    CUSTOM,
    EXPRESS,
    PLATFORM,
    REVOKED,
    STANDARD,
    UNKNOWN,
    ServerFactory,
    base_seed,
    debit,
    make_client,
    sandbox_state,
)

from ledgerrun_sandbox import SandboxServer, SeedError


class BasicAuthHttpClient(stripe.RequestsClient):
    """Sends the SDK's key as HTTP basic auth (the key as user name) instead of Bearer."""

    def request(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None
    ) -> Any:
        rewritten = dict(headers or {})
        key = rewritten.pop("Authorization").removeprefix("Bearer ")
        rewritten["Authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        return super().request(method, url, rewritten, post_data)


def test_missing_key_is_401(server: SandboxServer) -> None:
    with pytest.raises(stripe.AuthenticationError) as info:
        make_client(server.url, key="").v1.balance.retrieve()
    assert info.value.http_status == 401 and info.value.error.type == "invalid_request_error"
    assert "did not provide an API key" in info.value.user_message


@pytest.mark.parametrize(
    "key, words",
    [
        ("sk_" + "live_51SecretLiveKey123456wxyz", "sk_live_****wxyz (a live mode"),  # built, so
        ("rk_" + "live_51SecretLiveKey123456wxyz", "rk_live_****wxyz (a live mode"),  # no scanner
        ("pk_test_51PublishableKey12345wxyz", "pk_test_****wxyz (not a test mode secret"),
        ("not_a_stripe_key_at_all_wxyz", "provided: ****wxyz (not a test mode secret"),
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


def test_restricted_test_key_and_basic_auth_are_accepted(server: SandboxServer) -> None:
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
    assert express.charges_enabled and express.payouts_enabled and not express.livemode
    assert isinstance(express.created, int) and express.metadata.to_dict() == {}
    assert express.controller.type == "application" and express.controller.is_controller
    assert express.controller.losses.payments == "application"
    assert express.controller.requirement_collection == "stripe"
    custom = client.v1.accounts.retrieve(CUSTOM)
    assert custom.type == "custom" and custom.controller.losses.payments == "application"
    assert custom.controller.requirement_collection == "application"


def test_standard_account_losses_are_stripes(client: stripe.StripeClient) -> None:
    standard = client.v1.accounts.retrieve(STANDARD)
    assert standard.type == "standard"
    assert standard.controller.type == "account"
    assert standard.controller.losses.payments == "stripe"


def test_missing_account_is_404_and_revoked_is_403(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.accounts.retrieve(UNKNOWN)
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    assert missing.value.error.param == "id"
    with pytest.raises(stripe.PermissionError) as revoked:
        client.v1.accounts.retrieve(REVOKED)
    assert revoked.value.http_status == 403 and revoked.value.error.code == "account_invalid"


def test_current_account_is_platform_or_the_stripe_account(client: stripe.StripeClient) -> None:
    assert client.v1.accounts.retrieve_current().id == PLATFORM
    assert client.v1.accounts.retrieve_current(options={"stripe_account": EXPRESS}).id == EXPRESS
    with pytest.raises(stripe.PermissionError) as info:
        client.v1.accounts.retrieve_current(options={"stripe_account": REVOKED})
    assert info.value.error.code == "account_invalid"


def test_balances_of_platform_and_account_follow_debits(client: stripe.StripeClient) -> None:
    debit(client, EXPRESS, 2500)
    platform = client.v1.balance.retrieve()
    assert platform.object == "balance" and platform.livemode is False
    assert [(b.amount, b.currency) for b in platform.available] == [(1_002_500, "usd")]
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


@pytest.mark.parametrize("key", KEYED_SEED_KEYS)
def test_seed_api_keys_are_accepted(keyed_server: SandboxServer, key: str) -> None:
    assert debit(make_client(keyed_server.url, key=key), EXPRESS, 10).amount == 10


def test_other_test_keys_are_refused_when_the_seed_lists_keys(keyed_server: SandboxServer) -> None:
    other = "sk_test_51SomeoneElsesKey00zyxw"
    with pytest.raises(stripe.AuthenticationError) as info:
        debit(make_client(keyed_server.url, key=other), EXPRESS, 10)
    assert info.value.http_status == 401 and info.value.error.type == "invalid_request_error"
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
        SandboxServer({**base_seed(), "api_keys": keys})
    assert words in str(info.value) and "NotAllowedHere" not in str(info.value)
