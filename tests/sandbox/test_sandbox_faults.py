"""Injected faults: each one, what it leaves behind, and reproducibility from the seed."""

from __future__ import annotations

import time

import pytest
import stripe

from ledgerrun_sandbox import Faults
from tests.helpers.sandbox import (
    EMPTY,
    EXPRESS,
    ServerFactory,
    balance_of,
    debit,
    error_of,
    headers_of,
    make_client,
    response_of,
    sandbox_state,
)


def test_latency_delays_every_v1_request(make_server: ServerFactory) -> None:
    server = make_server(faults=Faults(latency_ms=300))  # 150..450 ms with jitter
    client = make_client(server.url)
    for call in (lambda: client.v1.balance.retrieve(), lambda: debit(client, EXPRESS, 100)):
        started = time.monotonic()
        call()
        assert 0.15 <= time.monotonic() - started < 2.0
    started = time.monotonic()
    state = sandbox_state(server.url)  # helper endpoints are never delayed
    assert time.monotonic() - started < 0.14
    assert state["stats"]["faults"]["latency"] == 2


def test_retryable_error_rate_answers_500_before_executing(make_server: ServerFactory) -> None:
    server = make_server(faults=Faults(error_rate=1.0, error_mode="retryable"))
    client = make_client(server.url)
    with pytest.raises(stripe.APIError) as info:
        client.v1.balance.retrieve()
    assert info.value.http_status == 500 and error_of(info.value).type == "api_error"
    assert headers_of(info.value)["Stripe-Should-Retry"] == "true"
    with pytest.raises(stripe.APIError):
        debit(client, EXPRESS, 1000, key="e-1")
    state = sandbox_state(server.url)
    assert state["transfers"] == [] and balance_of(state, EXPRESS) == 500_000
    assert state["stats"]["faults"]["error"] == 2
    # Nothing was saved under the key: once healthy, the same key executes as new.
    server.set_faults(Faults())
    transfer = debit(client, EXPRESS, 1000, key="e-1")  # (retryable: nothing saved)
    assert "Idempotent-Replayed" not in response_of(transfer).headers
    assert sandbox_state(server.url)["stats"]["writes_executed"] == 1


def test_lock_timeout_rate_answers_429_on_posts_only(make_server: ServerFactory) -> None:
    server = make_server(faults=Faults(lock_timeout_rate=1.0))
    client = make_client(server.url)
    with pytest.raises(stripe.RateLimitError) as info:
        debit(client, EXPRESS, 1000, key="l-1")
    assert info.value.http_status == 429 and error_of(info.value).code == "lock_timeout"
    assert error_of(info.value).type == "invalid_request_error"
    assert headers_of(info.value)["Stripe-Should-Retry"] == "true"
    assert client.v1.balance.retrieve(options={"stripe_account": EXPRESS}).object == "balance"
    state = sandbox_state(server.url)
    assert state["transfers"] == [] and state["stats"]["faults"]["lock_timeout"] == 1
    server.set_faults(Faults())
    assert "Idempotent-Replayed" not in response_of(debit(client, EXPRESS, 1000, key="l-1")).headers


def test_max_rps_caps_requests_per_second(make_server: ServerFactory) -> None:
    server = make_server(faults=Faults(max_rps=5))
    client = make_client(server.url)
    answered, limited = 0, 0
    started = time.monotonic()
    for _ in range(12):
        try:
            client.v1.balance.retrieve()
            answered += 1
        except stripe.RateLimitError as exc:
            assert exc.http_status == 429 and error_of(exc).code == "rate_limit"
            assert headers_of(exc)["Stripe-Should-Retry"] == "true"
            limited += 1
    if time.monotonic() - started < 1.0:  # all 12 fell in one window
        assert answered == 5 and limited == 7
    else:  # a very slow machine: the window slid during the burst
        assert answered >= 5 and limited >= 1
    time.sleep(1.05)
    assert client.v1.balance.retrieve().object == "balance"  # the window has slid on
    assert sandbox_state(server.url)["stats"]["faults"]["rate_limit"] == limited


def test_drop_commits_the_debit_but_never_answers(make_server: ServerFactory) -> None:
    server = make_server(faults=Faults(drop_rate=1.0))
    client = make_client(server.url)
    with pytest.raises(stripe.APIConnectionError):
        debit(client, EXPRESS, 4200, key="d-1", metadata={"row": "9"})
    state = sandbox_state(server.url)
    assert [(t["amount"], t["metadata"]) for t in state["transfers"]] == [(4200, {"row": "9"})]
    assert balance_of(state, EXPRESS) == 500_000 - 4200
    assert state["stats"]["faults"]["drop"] == 1
    # Credits are dropped alike: the money moves, the answer never comes.
    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.create({"amount": 10, "currency": "usd", "destination": EMPTY})
    assert balance_of(sandbox_state(server.url), EMPTY) == 10
    # The retry with the same key learns what happened, without a second debit.
    server.set_faults(Faults())
    replay = debit(client, EXPRESS, 4200, key="d-1", metadata={"row": "9"})
    assert replay.id == state["transfers"][0]["id"]
    assert response_of(replay).headers["Idempotent-Replayed"] == "true"
    assert balance_of(sandbox_state(server.url), EXPRESS) == 500_000 - 4200
    assert sandbox_state(server.url)["stats"]["faults"]["drop"] == 2


def _error_pattern(make_server: ServerFactory, seed_rng: int) -> list[str]:
    server = make_server(
        faults=Faults(error_rate=0.3, lock_timeout_rate=0.3, drop_rate=0.3), seed_rng=seed_rng
    )
    client = make_client(server.url)
    pattern = []
    for i in range(40):
        try:
            debit(client, EXPRESS, 10, key=f"s-{i}")
            pattern.append("ok")
        except stripe.StripeError as exc:
            pattern.append(f"{type(exc).__name__}:{exc.http_status}")
    return pattern


def test_faults_are_reproducible_from_the_seed(make_server: ServerFactory) -> None:
    first = _error_pattern(make_server, 42)
    assert _error_pattern(make_server, 42) == first
    assert {"ok", "APIError:500", "RateLimitError:429", "APIConnectionError:None"} <= set(first)
    assert _error_pattern(make_server, 43) != first
