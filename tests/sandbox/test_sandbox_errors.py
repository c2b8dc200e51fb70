"""Error answers as Stripe sends them: fields left out when absent, Stripe's own codes, and
what Stripe-Should-Retry says."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import Faults, SandboxServer
from tests.helpers.constants import PLATFORM
from tests.helpers.sandbox import (
    EXPRESS,
    ServerFactory,
    debit,
    error_of,
    headers_of,
    make_client,
    raw,
    sandbox_state,
)

DEBIT = {"amount": "1000", "currency": "usd", "destination": PLATFORM}
AS_EXPRESS = {"Stripe-Account": EXPRESS}


def test_error_body_leaves_out_code_and_param_it_does_not_have(server: SandboxServer) -> None:
    status, _, body = raw(server.url, "POST", "/v1/transfers", {**DEBIT, "currency": "us1"},
                          AS_EXPRESS)  # fmt: skip
    assert status == 400
    assert body == {"error": {"type": "invalid_request_error", "message": body["error"]["message"],
                              "param": "currency"}}  # fmt: skip
    status, _, body = raw(server.url, "GET", "/v1/balance", key=None)
    assert status == 401 and set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == "invalid_request_error"


def test_error_with_a_code_carries_its_doc_url(server: SandboxServer) -> None:
    status, _, body = raw(server.url, "POST", "/v1/transfers", {**DEBIT, "amount": "600000"},
                          AS_EXPRESS)  # fmt: skip
    assert status == 400 and "param" not in body["error"]
    assert body["error"]["code"] == "balance_insufficient"
    assert body["error"]["doc_url"] == "https://stripe.com/docs/error-codes/balance-insufficient"
    status, _, body = raw(server.url, "GET", "/v1/transfers", {"limit": "x"}, AS_EXPRESS)
    assert status == 400 and body["error"]["code"] == "parameter_invalid_integer"
    assert body["error"]["param"] == "limit"


@pytest.mark.parametrize(
    "params, extra, param",
    [
        ({**DEBIT, "metadata[k]": "v" * 501}, AS_EXPRESS, "metadata"),
        ({**DEBIT, "description": "d" * 5001}, AS_EXPRESS, "description"),
        ({**DEBIT, "currency": "eur"}, AS_EXPRESS, "currency"),
        ({**DEBIT, "destination": EXPRESS}, AS_EXPRESS, "destination"),
        ({"amount": "5", "currency": "usd", "source": "tok_visa"}, {}, "source"),
    ],
    ids=["metadata", "description", "currency", "destination", "source"],
)
def test_refusals_stripe_gives_no_code_name_the_param(
    server: SandboxServer, params: dict[str, str], extra: dict[str, str], param: str
) -> None:
    path = "/v1/charges" if "source" in params else "/v1/transfers"
    status, _, body = raw(server.url, "POST", path, params, extra)
    assert status == 400 and "code" not in body["error"]
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["param"] == param


def test_both_cursors_are_parameters_exclusive(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.list({"starting_after": "tr_1", "ending_before": "tr_2"})
    assert info.value.code == "parameters_exclusive"


def test_over_long_idempotency_key_has_no_code(server: SandboxServer) -> None:
    headers = {**AS_EXPRESS, "Idempotency-Key": "k" * 256}
    status, _, body = raw(server.url, "POST", "/v1/transfers", DEBIT, headers)
    assert status == 400 and set(body["error"]) == {"type", "message"}
    assert sandbox_state(server.url)["transfers"] == []


def _break_debits(server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any) -> Any:
        raise RuntimeError("simulated failure inside the sandbox")

    monkeypatch.setattr(server.state, "debit_by_transfer", boom)


def test_saved_500_is_replayed_with_should_retry_false(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_debits(server, monkeypatch)
    client = make_client(server.url)
    with pytest.raises(stripe.APIError) as first:
        debit(client, EXPRESS, 100, key="k-500")
    assert first.value.http_status == 500 and error_of(first.value).type == "api_error"
    assert headers_of(first.value)["Stripe-Should-Retry"] == "false"  # saved: a retry replays it
    monkeypatch.undo()  # healthy again: the key still replays the saved 500
    with pytest.raises(stripe.APIError) as again:
        debit(client, EXPRESS, 100, key="k-500")
    assert headers_of(again.value)["Idempotent-Replayed"] == "true"
    assert headers_of(again.value)["Stripe-Should-Retry"] == "false"
    assert sandbox_state(server.url)["transfers"] == []


def test_unsaved_500_invites_a_retry(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_debits(server, monkeypatch)
    # Raw HTTP: the SDK would add an idempotency key of its own to every POST.
    status, headers, body = raw(server.url, "POST", "/v1/transfers", DEBIT, AS_EXPRESS)
    assert status == 500 and body["error"]["type"] == "api_error"
    assert headers["stripe-should-retry"] == "true"  # nothing saved: a retry runs afresh


def test_injected_500_invites_a_retry_and_saves_nothing(make_server: ServerFactory) -> None:
    server = make_server(faults=Faults(error_rate=1.0, error_mode="retryable"))
    with pytest.raises(stripe.APIError) as info:
        debit(make_client(server.url), EXPRESS, 100, key="k-inj")
    assert headers_of(info.value)["Stripe-Should-Retry"] == "true"
    assert "Idempotent-Replayed" not in headers_of(info.value)
    server.set_faults(Faults())
    assert debit(make_client(server.url), EXPRESS, 100, key="k-inj").amount == 100


def test_an_injected_500_is_saved_under_its_key_by_default(make_server: ServerFactory) -> None:
    """As most of Stripe's: "retries with the same key return the saved response, including 500
    errors". The first answer already says Stripe-Should-Retry: false; a retry with the key
    replays it, even once the sandbox is healthy; nothing was executed; a new key executes."""
    server = make_server(faults=Faults(error_rate=1.0))
    assert server.faults.error_mode == "saved"
    client = make_client(server.url)
    with pytest.raises(stripe.APIError) as first:
        debit(client, EXPRESS, 100, key="k-saved")
    assert first.value.http_status == 500 and error_of(first.value).type == "api_error"
    assert headers_of(first.value)["Stripe-Should-Retry"] == "false"
    assert "Idempotent-Replayed" not in headers_of(first.value)
    server.set_faults(Faults())
    with pytest.raises(stripe.APIError) as again:
        debit(client, EXPRESS, 100, key="k-saved")
    assert headers_of(again.value)["Idempotent-Replayed"] == "true"
    assert headers_of(again.value)["Stripe-Should-Retry"] == "false"
    assert again.value.json_body == first.value.json_body
    assert headers_of(again.value)["Original-Request"] == first.value.request_id
    state = sandbox_state(server.url)
    assert state["transfers"] == [] and state["stats"]["faults"]["error"] == 1
    assert state["stats"]["writes_executed"] == 0
    assert debit(client, EXPRESS, 100, key="k-saved-2").amount == 100


def test_saved_mode_without_a_key_says_not_to_retry_and_a_read_says_nothing(
    make_server: ServerFactory,
) -> None:
    server = make_server(faults=Faults(error_rate=1.0))
    status, headers, _ = raw(server.url, "POST", "/v1/transfers", DEBIT, AS_EXPRESS)
    assert status == 500 and headers["stripe-should-retry"] == "false"
    status, headers, _ = raw(server.url, "GET", "/v1/balance")
    assert status == 500 and "stripe-should-retry" not in headers  # nothing to save a read under
    assert sandbox_state(server.url)["transfers"] == []


def test_error_mode_is_checked() -> None:
    with pytest.raises(ValueError, match="error_mode must be one of"):
        Faults(error_mode="sometimes")
