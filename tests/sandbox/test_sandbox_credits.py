"""Credits: the platform's own transfers to connected accounts, and the rules they obey."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import SandboxServer
from tests.helpers.constants import PLATFORM
from tests.helpers.sandbox import (
    CANADA,
    CUSTOM,
    EMPTY,
    EXPRESS,
    REVOKED,
    STANDARD,
    UNKNOWN,
    advance_clock,
    balance_of,
    debit,
    error_of,
    id_of,
    response_of,
    sandbox_state,
)


def credit(
    client: stripe.StripeClient, destination: str, amount: int, key: str | None = None, **extra: Any
) -> stripe.Transfer:
    """A credit: POST /v1/transfers on the platform to a connected account."""
    params = {"amount": amount, "currency": "usd", "destination": destination, **extra}
    options = {"idempotency_key": key} if key else {}
    return client.v1.transfers.create(params, options)  # type: ignore[arg-type]


def test_credit_lives_on_the_platform_and_pays_into_the_account(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    transfer = credit(
        client, STANDARD, 2_500, metadata={"reason": "refund"}, description="Nov rebate",
        transfer_group="credits-1",
    )  # fmt: skip
    assert transfer.object == "transfer" and transfer.destination == STANDARD
    assert transfer.metadata.to_dict() == {"reason": "refund"}
    assert (transfer.description, transfer.transfer_group) == ("Nov rebate", "credits-1")
    assert client.v1.transfers.retrieve(transfer.id).id == transfer.id  # on the platform
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.retrieve(transfer.id, options={"stripe_account": STANDARD})

    payment = client.v1.charges.retrieve(
        id_of(transfer.destination_payment), options={"stripe_account": STANDARD}
    )
    assert payment.id.startswith("py_") and payment.object == "charge"
    assert payment.source is not None
    assert payment.source.id == PLATFORM and payment.source_transfer == transfer.id
    assert payment.amount == 2_500 and payment.status == "succeeded"
    state = sandbox_state(server.url)
    assert balance_of(state, STANDARD) == 300_000 + 2_500
    assert balance_of(state, PLATFORM) == 1_000_000 - 2_500
    assert [t["account"] for t in state["transfers"]] == [PLATFORM]
    assert [c["account"] for c in state["charges"]] == [STANDARD]


def test_credit_needs_the_platforms_available_balance(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        credit(client, EXPRESS, 1_000_001, key="big-credit")
    assert info.value.code == "balance_insufficient" and PLATFORM in info.value.user_message
    state = sandbox_state(server.url)
    assert state["transfers"] == [] and balance_of(state, EXPRESS) == 500_000
    assert credit(client, EXPRESS, 1_000_000).amount == 1_000_000  # all of it is fine


def test_credit_obeys_region_and_currency(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create({"amount": 10, "currency": "cad", "destination": CANADA})
    assert info.value.code == "transfers_not_allowed" and "region" in info.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create({"amount": 10, "currency": "eur", "destination": EXPRESS})
    assert info.value.code is None and error_of(info.value).param == "currency"


def test_credit_destination_must_be_connected_and_reachable(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        credit(client, UNKNOWN, 10)
    assert missing.value.http_status == 400 and missing.value.code == "resource_missing"
    assert error_of(missing.value).param == "destination"
    with pytest.raises(stripe.PermissionError) as revoked:
        credit(client, REVOKED, 10)
    assert error_of(revoked.value).code == "account_invalid"
    assert error_of(revoked.value).param == "destination"
    with pytest.raises(stripe.InvalidRequestError) as itself:
        credit(client, PLATFORM, 10)
    assert error_of(itself.value).param == "destination"


def test_credit_replays_under_its_key(server: SandboxServer, client: stripe.StripeClient) -> None:
    first = credit(client, CUSTOM, 700, key="credit-1")
    again = credit(client, CUSTOM, 700, key="credit-1")
    assert again.id == first.id and response_of(again).headers["Idempotent-Replayed"] == "true"
    assert balance_of(sandbox_state(server.url), CUSTOM) == 200_000 + 700


def test_platform_lists_its_credits_only_with_filters(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    debit(client, EXPRESS, 5, transfer_group="g1")  # lives on EXPRESS, not the platform
    early = [credit(client, EMPTY, 1, transfer_group="g1"), credit(client, CUSTOM, 2)]
    advance_clock(server.url, 100)
    late = [credit(client, EMPTY, 3, transfer_group="g1"), credit(client, EXPRESS, 4)]

    def ids(params: dict[str, Any]) -> list[str]:
        return [t.id for t in client.v1.transfers.list(params).data]  # type: ignore[arg-type]

    everything = [t.id for t in (*early, *late)][::-1]
    assert ids({}) == everything
    assert ids({"transfer_group": "g1"}) == [late[0].id, early[0].id]
    assert ids({"destination": EMPTY}) == [late[0].id, early[0].id]
    assert ids({"destination": EXPRESS}) == [late[1].id]
    assert ids({"created": {"gte": late[0].created}}) == [late[1].id, late[0].id]
    assert ids({"created": {"lt": late[0].created}}) == [early[1].id, early[0].id]
    page = client.v1.transfers.list({"limit": 3})
    assert [t.id for t in page.data] == everything[:3] and page.has_more
