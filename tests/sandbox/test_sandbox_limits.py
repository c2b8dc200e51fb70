"""Stripe's rate limits: the account's bucket, each endpoint's, their 429, and what they cost.

The buckets run on an injected clock here (``limit_clock``), so every count is exact: a bucket
holds one second's worth of requests and refills only when the test moves that clock.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import SandboxServer
from ledgerrun_sandbox.limits import MESSAGES, RateLimiter
from tests.helpers.constants import PLATFORM
from tests.helpers.sandbox import (
    CUSTOM,
    EXPRESS,
    ServerFactory,
    debit,
    make_client,
    raw,
    sandbox_state,
)

LIMITED = {"amount": "100", "currency": "usd", "destination": PLATFORM}
LIMITED_HEADERS = {"Stripe-Account": EXPRESS, "Idempotency-Key": "limited-1"}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limited(make_server: ServerFactory, clock: Clock, mode: str) -> SandboxServer:
    return make_server(limits=mode, limit_clock=clock)


def outcomes(call: Any, times: int) -> list[str]:
    got = []
    for _ in range(times):
        try:
            call()
            got.append("ok")
        except stripe.RateLimitError:
            got.append("429")
    return got


def test_test_mode_allows_25_a_second_for_the_whole_account(
    make_server: ServerFactory, clock: Clock
) -> None:
    server = limited(make_server, clock, "test")
    client = make_client(server.url)
    # Requests made as a connected account count against the platform's limit too.
    calls = [
        lambda: client.v1.balance.retrieve(),
        lambda: client.v1.balance.retrieve(options={"stripe_account": EXPRESS}),
        lambda: client.v1.accounts.retrieve(CUSTOM),
    ]
    got = [outcomes(calls[n % 3], 1)[0] for n in range(30)]
    assert got == ["ok"] * 25 + ["429"] * 5
    clock.now += 0.2  # a fifth of a second refills five tokens
    assert outcomes(calls[0], 6) == ["ok"] * 5 + ["429"]
    clock.now += 10  # a long pause refills one second's worth, no more: the burst is one second
    assert outcomes(calls[0], 26) == ["ok"] * 25 + ["429"]
    assert sandbox_state(server.url)["stats"]["rate_limited"] == 5 + 1 + 1


def test_live_mode_allows_100_a_second_but_25_on_each_endpoint(
    make_server: ServerFactory, clock: Clock
) -> None:
    server = limited(make_server, clock, "live")
    client = make_client(server.url)
    sends = outcomes(lambda: debit(client, EXPRESS, 100), 26)
    assert sends == ["ok"] * 25 + ["429"]  # POST /v1/transfers is full...
    reads = outcomes(lambda: client.v1.transfers.list(options={"stripe_account": EXPRESS}), 25)
    assert reads == ["ok"] * 25  # ...GET /v1/transfers is another endpoint, with its own 25
    ids = outcomes(lambda: client.v1.accounts.retrieve(EXPRESS), 25)
    assert ids == ["ok"] * 25
    balance = outcomes(lambda: client.v1.balance.retrieve(), 26)
    assert balance == ["ok"] * 25 + ["429"]  # 100 taken in this second: the account is full
    state = sandbox_state(server.url)
    assert len(state["transfers"]) == 25  # the refused debit was never executed
    assert state["stats"]["rate_limited"] == 2


def test_each_id_of_one_endpoint_shares_its_bucket(
    make_server: ServerFactory, clock: Clock
) -> None:
    """``GET /v1/accounts/{id}`` is one endpoint whatever the id."""
    server = limited(make_server, clock, "live")
    client = make_client(server.url)
    got = [outcomes(lambda n=n: client.v1.accounts.retrieve((EXPRESS, CUSTOM)[n % 2]), 1)[0]
           for n in range(26)]  # fmt: skip
    assert got == ["ok"] * 25 + ["429"]


def test_search_is_held_to_20_a_second(make_server: ServerFactory, clock: Clock) -> None:
    server = limited(make_server, clock, "live")
    client = make_client(server.url)
    query: stripe.params.ChargeSearchParams = {"query": "metadata['k']:'v'"}
    assert outcomes(lambda: client.v1.charges.search(query), 21) == ["ok"] * 20 + ["429"]


def test_the_429_is_stripes_own_and_invites_no_sdk_retry(
    make_server: ServerFactory, clock: Clock
) -> None:
    server = limited(make_server, clock, "test")
    for _ in range(25):
        assert raw(server.url, "GET", "/v1/balance")[0] == 200
    status, headers, body = raw(server.url, "POST", "/v1/transfers", LIMITED, LIMITED_HEADERS)
    assert status == 429
    assert body == {"error": {
        "type": "invalid_request_error", "code": "rate_limit",
        "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
        "message": MESSAGES["test"],
    }}  # fmt: skip
    assert body["error"]["message"].startswith("Testmode request rate limit exceeded")
    assert "stripe-should-retry" not in headers and "request-id" in headers
    clock.now += 1
    # Nothing was executed, nothing saved under the key: it runs afresh once there is room.
    status, headers, body = raw(server.url, "POST", "/v1/transfers", LIMITED, LIMITED_HEADERS)
    assert status == 200 and "idempotent-replayed" not in headers


def test_live_mode_words_its_429_as_stripe_does_live() -> None:
    assert MESSAGES["live"].startswith("Request rate limit exceeded.")
    limiter = RateLimiter("live", now=lambda: 0.0)
    for _ in range(25):
        limiter.admit("POST /v1/refunds")
    with pytest.raises(Exception, match="Request rate limit exceeded"):
        limiter.admit("POST /v1/refunds")


def test_limits_off_admits_everything(make_server: ServerFactory, clock: Clock) -> None:
    server = limited(make_server, clock, "off")
    client = make_client(server.url)
    assert outcomes(lambda: client.v1.balance.retrieve(), 60) == ["ok"] * 60


def test_helpers_are_never_rate_limited(make_server: ServerFactory, clock: Clock) -> None:
    server = limited(make_server, clock, "test")
    for _ in range(40):
        sandbox_state(server.url)
    assert outcomes(lambda: make_client(server.url).v1.balance.retrieve(), 1) == ["ok"]


def test_the_in_process_default_is_test_mode_and_a_bad_mode_is_refused() -> None:
    with SandboxServer({"platform": {"id": PLATFORM, "country": "US", "default_currency": "usd"},
                        "api_keys": ["sk_test_limitsDefault01"]}) as server:  # fmt: skip
        assert server.limiter.mode == "test"
    with pytest.raises(ValueError, match="limits must be one of"):
        RateLimiter("fast")
