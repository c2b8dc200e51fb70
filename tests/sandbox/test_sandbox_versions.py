"""``Stripe-Version``: known versions are answered in, unknown ones refused as Stripe refuses."""

from __future__ import annotations

import pytest
import stripe

from ledgerrun_sandbox import SandboxServer, SeedError
from ledgerrun_sandbox.rules import API_VERSIONS, DEFAULT_API_VERSION
from tests.helpers.constants import KEY
from tests.helpers.sandbox import (
    ServerFactory,
    base_seed,
    make_client,
    raw,
    response_of,
    sandbox_state,
)


def test_the_sdks_own_version_is_answered_in_and_counted(server: SandboxServer) -> None:
    client = make_client(server.url)
    balance = client.v1.balance.retrieve()
    assert response_of(balance).headers["Stripe-Version"] == stripe.api_version
    assert stripe.api_version == "2026-10-28.endive"  # stripe 16.1's pin
    assert sandbox_state(server.url)["stats"]["api_versions"] == {stripe.api_version: 1}


def test_an_unknown_version_is_stripes_400(server: SandboxServer) -> None:
    for version in ("2026-13-01", "2026-10-28.endive; beta=v1", "latest"):
        status, _, body = raw(server.url, "GET", "/v1/balance", headers={"Stripe-Version": version})
        assert status == 400
        assert body == {"error": {"type": "invalid_request_error",
                                  "message": f"Invalid Stripe API version: {version}"}}  # fmt: skip
    client = make_client(server.url, stripe_version="2099-01-01.future")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.balance.retrieve()
    assert info.value.http_status == 400
    assert "Invalid Stripe API version: 2099-01-01.future" in info.value.user_message


def test_a_request_without_a_version_gets_the_accounts_default(make_server: ServerFactory) -> None:
    seed = base_seed()
    seed["platform"]["api_version"] = "2024-06-20"
    server = make_server(seed)
    status, headers, _ = raw(server.url, "GET", "/v1/account")
    assert status == 200 and headers["stripe-version"] == "2024-06-20"
    status, headers, _ = raw(server.url, "GET", "/v1/account",
                             headers={"Stripe-Version": "2025-03-31.basil"})  # fmt: skip
    assert headers["stripe-version"] == "2025-03-31.basil"
    state = sandbox_state(server.url)
    assert state["api_version"] == "2024-06-20"
    assert state["stats"]["api_versions"] == {"2024-06-20": 1, "2025-03-31.basil": 1}


def test_the_default_default_is_the_newest_known_and_a_seed_must_name_a_real_one() -> None:
    assert DEFAULT_API_VERSION == API_VERSIONS[-1] == "2026-10-28.endive"
    seed = base_seed()
    seed["platform"]["api_version"] = "2026-02-30.nonsense"
    with pytest.raises(SeedError, match="not a Stripe API version"):
        SandboxServer(seed, api_keys=[KEY])
