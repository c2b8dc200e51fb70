"""Idempotency keys behave like Stripe v1: replays, what is saved, conflicts, expiry."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import Faults, SandboxServer
from tests.helpers.constants import PLATFORM
from tests.helpers.sandbox import (
    CUSTOM,
    EXPRESS,
    ServerFactory,
    advance_clock,
    balance_of,
    charge_debit,
    debit,
    error_of,
    headers_of,
    make_client,
    response_of,
    sandbox_state,
)


def test_replay_returns_saved_answer_and_executes_nothing(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    first = debit(client, EXPRESS, 1500, key="row-1", metadata={"row": "1"})
    assert "Idempotent-Replayed" not in response_of(first).headers
    second = debit(client, EXPRESS, 1500, key="row-1", metadata={"row": "1"})
    assert second.id == first.id
    assert response_of(second).headers["Idempotent-Replayed"] == "true"
    assert response_of(second).headers["Original-Request"] == response_of(first).request_id
    assert response_of(second).request_id != response_of(first).request_id

    state = sandbox_state(server.url)
    assert len(state["transfers"]) == 1 and len(state["charges"]) == 1
    assert state["stats"]["writes_executed"] == 1
    assert state["stats"]["idempotent_replays"] == 1
    assert state["stats"]["write_requests"] == 2
    assert balance_of(state, EXPRESS) == 500_000 - 1500


def test_charge_debit_replays_too(server: SandboxServer, client: stripe.StripeClient) -> None:
    first = charge_debit(client, CUSTOM, 900, key="c-1")
    again = charge_debit(client, CUSTOM, 900, key="c-1")
    assert again.id == first.id and response_of(again).headers["Idempotent-Replayed"] == "true"
    assert balance_of(sandbox_state(server.url), CUSTOM) == 200_000 - 900


def test_balance_insufficient_is_saved_and_replayed(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as first:
        debit(client, EXPRESS, 600_000, key="big")
    assert first.value.code == "balance_insufficient"
    assert "Idempotent-Replayed" not in headers_of(first.value)
    # Top the account up: a fresh execution would now succeed, but the key replays the refusal.
    client.v1.transfers.create({"amount": 200_000, "currency": "usd", "destination": EXPRESS})
    with pytest.raises(stripe.InvalidRequestError) as second:
        debit(client, EXPRESS, 600_000, key="big")
    assert second.value.code == "balance_insufficient"
    assert headers_of(second.value)["Idempotent-Replayed"] == "true"
    state = sandbox_state(server.url)
    assert balance_of(state, EXPRESS) == 700_000
    assert state["stats"]["writes_refused"] == 1
    assert debit(client, EXPRESS, 600_000, key="big-2").amount == 600_000


def test_validation_failure_is_not_saved(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, EXPRESS, 1000, key="k", metadata={"x" * 41: "1"})
    assert info.value.http_status == 400 and error_of(info.value).param == "metadata"
    # Same key, same (still invalid) params: validated again, not replayed.
    with pytest.raises(stripe.InvalidRequestError) as again:
        debit(client, EXPRESS, 1000, key="k", metadata={"x" * 41: "1"})
    assert "Idempotent-Replayed" not in headers_of(again.value)
    # Same key, corrected params: executes as new, no idempotency conflict.
    transfer = debit(client, EXPRESS, 1000, key="k", metadata={"x": "1"})
    assert "Idempotent-Replayed" not in response_of(transfer).headers
    assert sandbox_state(server.url)["stats"]["writes_executed"] == 1


def test_account_access_failure_is_not_saved(server: SandboxServer) -> None:
    other = make_client(server.url)
    with pytest.raises(stripe.PermissionError):
        charge_debit(other, "acct_1NotConnected001", key="k-acc")
    # Same key with a valid account: no conflict, it executes.
    source = charge_debit(other, EXPRESS, key="k-acc").source
    assert source is not None and source.id == EXPRESS


def test_same_key_different_params_is_idempotency_error(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    debit(client, EXPRESS, 1000, key="dup")
    with pytest.raises(stripe.IdempotencyError) as info:
        debit(client, EXPRESS, 1001, key="dup")
    assert info.value.http_status == 400 and error_of(info.value).type == "idempotency_error"
    with pytest.raises(stripe.IdempotencyError):
        debit(client, EXPRESS, 1000, key="dup", metadata={"changed": "yes"})
    assert sandbox_state(server.url)["stats"]["writes_executed"] == 1


def test_same_key_on_another_endpoint_is_idempotency_error(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    charge_debit(client, EXPRESS, 100, key="one-key")
    with pytest.raises(stripe.IdempotencyError):
        client.v1.transfers.create(
            {"amount": 100, "currency": "usd", "destination": EXPRESS},
            {"idempotency_key": "one-key"},
        )
    assert sandbox_state(server.url)["stats"]["writes_executed"] == 1


def test_keys_are_scoped_per_account_context(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    a = debit(client, EXPRESS, 100, key="shared")
    b = debit(client, CUSTOM, 100, key="shared")
    c = client.v1.transfers.create(
        {"amount": 100, "currency": "usd", "destination": CUSTOM}, {"idempotency_key": "shared"}
    )
    assert len({a.id, b.id, c.id}) == 3
    assert sandbox_state(server.url)["stats"]["idempotent_replays"] == 0


def test_key_longer_than_255_is_refused(client: stripe.StripeClient) -> None:
    debit(client, EXPRESS, 100, key="k" * 255)
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, EXPRESS, 100, key="k" * 256)
    assert info.value.http_status == 400 and info.value.code is None
    assert "1 to 255 characters" in info.value.user_message


def test_concurrent_requests_with_one_key_execute_once(make_server: ServerFactory) -> None:
    server = make_server(faults=Faults(latency_ms=300))  # 150..450 ms
    threads, barrier = 8, threading.Barrier(8)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def attempt() -> None:
        client = make_client(server.url)
        barrier.wait()
        try:
            result: Any = debit(client, EXPRESS, 2500, key="race")
        except stripe.StripeError as exc:
            result = exc
        with lock:
            outcomes.append(result)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    successes = [o for o in outcomes if isinstance(o, stripe.Transfer)]
    conflicts = [o for o in outcomes if isinstance(o, stripe.StripeError)]
    assert len(successes) + len(conflicts) == threads
    assert len({t.id for t in successes}) == 1
    assert conflicts, "with >= 150 ms of latency some requests must overlap the first"
    for exc in conflicts:
        assert exc.http_status == 409 and error_of(exc).code == "idempotency_key_in_use"
        assert headers_of(exc)["Stripe-Should-Retry"] == "true"
    fresh = [t for t in successes if "Idempotent-Replayed" not in response_of(t).headers]
    assert len(fresh) == 1
    state = sandbox_state(server.url)
    assert state["stats"]["writes_executed"] == 1 and len(state["transfers"]) == 1
    assert balance_of(state, EXPRESS) == 500_000 - 2500
    # Once the first has finished, a retry is a replay.
    again = debit(make_client(server.url), EXPRESS, 2500, key="race")
    assert response_of(again).headers["Idempotent-Replayed"] == "true"


def test_key_expires_after_24_hours_of_sandbox_time(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    first = debit(client, EXPRESS, 100, key="daily")
    advance_clock(server.url, 86_000)
    assert debit(client, EXPRESS, 100, key="daily").id == first.id  # still remembered
    advance_clock(server.url, 401)  # 86,401 s after first use
    fresh = debit(client, EXPRESS, 100, key="daily")
    assert fresh.id != first.id
    assert "Idempotent-Replayed" not in response_of(fresh).headers
    # And after expiry the key may even carry other params.
    advance_clock(server.url, 86_401)
    assert debit(client, EXPRESS, 999, key="daily").amount == 999
    assert sandbox_state(server.url)["stats"]["writes_executed"] == 3


def test_requests_without_stripe_account_scope_to_platform(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    payment = charge_debit(client, EXPRESS, 100, key="p")
    transfer = debit(client, EXPRESS, 100, key="p")  # same key, account scope: no conflict
    assert payment.source_transfer != transfer.id
    assert balance_of(sandbox_state(server.url), PLATFORM) == 1_000_200
