"""Account debits both ways, top-ups, and every Stripe rule a debit must pass."""

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
    ServerFactory,
    balance_of,
    base_seed,
    charge_debit,
    debit,
    error_of,
    id_of,
    make_client,
    sandbox_state,
)


def test_transfer_debit_moves_money_and_links_both_objects(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    transfer = debit(
        client, EXPRESS, 1234, description="Nov fees", metadata={"invoice": "42"},
        transfer_group="run-1",
    )  # fmt: skip
    assert transfer.id.startswith("tr_") and transfer.object == "transfer"
    assert transfer.destination == PLATFORM
    assert id_of(transfer.destination_payment).startswith("py_")
    assert transfer.metadata.to_dict() == {"invoice": "42"}
    assert transfer.transfer_group == "run-1"
    assert id_of(transfer.balance_transaction).startswith("txn_")
    assert (transfer.reversed, transfer.amount_reversed, transfer.livemode) == (False, 0, False)

    payment = client.v1.charges.retrieve(id_of(transfer.destination_payment))
    assert payment.object == "charge"
    assert payment.source_transfer == transfer.id
    assert payment.source is not None
    assert payment.source.id == EXPRESS and payment.source.object == "account"
    assert payment.amount == 1234 and payment.status == "succeeded"
    assert payment.metadata.to_dict() == {}

    state = sandbox_state(server.url)
    assert balance_of(state, EXPRESS) == 500_000 - 1234
    assert balance_of(state, PLATFORM) == 1_000_000 + 1234
    assert [t["account"] for t in state["transfers"]] == [EXPRESS]
    assert [c["account"] for c in state["charges"]] == [PLATFORM]


def test_charge_debit_returns_payment_that_carries_metadata(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    payment = charge_debit(
        client, CUSTOM, 700, metadata={"row": "7"}, transfer_group="g", description="d"
    )
    assert payment.id.startswith("py_") and payment.object == "charge"
    assert (payment.paid, payment.captured, payment.amount_captured) == (True, True, 700)
    assert payment.amount_refunded == 0
    assert payment.source is not None
    assert payment.source.to_dict() == {"id": CUSTOM, "object": "account"}
    assert payment.metadata.to_dict() == {"row": "7"}
    assert payment.transfer_group == "g"

    transfer = client.v1.transfers.retrieve(
        id_of(payment.source_transfer), options={"stripe_account": CUSTOM}
    )
    assert transfer.destination == PLATFORM and transfer.destination_payment == payment.id
    assert transfer.metadata.to_dict() == {} and transfer.transfer_group is None

    state = sandbox_state(server.url)
    assert balance_of(state, CUSTOM) == 200_000 - 700
    assert balance_of(state, PLATFORM) == 1_000_000 + 700


def test_top_up_moves_money_from_platform_to_account(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    transfer = client.v1.transfers.create({"amount": 5000, "currency": "usd", "destination": EMPTY})
    assert transfer.destination == EMPTY
    payment = client.v1.charges.retrieve(
        id_of(transfer.destination_payment), options={"stripe_account": EMPTY}
    )
    assert payment.source is not None
    assert payment.source.id == PLATFORM and payment.source_transfer == transfer.id
    state = sandbox_state(server.url)
    assert balance_of(state, EMPTY) == 5000
    assert balance_of(state, PLATFORM) == 1_000_000 - 5000
    # ...and the topped-up account can now be debited.
    assert debit(client, EMPTY, 5000).amount == 5000


def test_account_not_connected_is_403_account_invalid(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as info:
        debit(client, UNKNOWN)
    assert info.value.http_status == 403 and error_of(info.value).code == "account_invalid"
    assert error_of(info.value).type == "invalid_request_error"


def test_revoked_account_is_403_account_invalid_both_ways(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as info:
        debit(client, REVOKED)
    assert error_of(info.value).code == "account_invalid"
    with pytest.raises(stripe.PermissionError) as info:
        charge_debit(client, REVOKED)
    assert error_of(info.value).code == "account_invalid" and error_of(info.value).param == "source"


@pytest.mark.parametrize("way", [debit, charge_debit])
def test_standard_account_cannot_be_debited(
    server: SandboxServer, client: stripe.StripeClient, way: Any
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        way(client, STANDARD)
    assert info.value.http_status == 400 and info.value.code == "transfers_not_allowed"
    assert "Standard" in info.value.user_message
    assert balance_of(sandbox_state(server.url), STANDARD) == 300_000


def test_cross_region_debit_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, CANADA, currency="cad")
    assert info.value.code == "transfers_not_allowed"
    assert "region" in info.value.user_message


@pytest.mark.parametrize("account, currency", [(EXPRESS, "eur"), (CUSTOM, "cad")])
def test_currency_must_be_the_account_default(
    client: stripe.StripeClient, account: str, currency: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, account, currency=currency)
    assert info.value.code is None and error_of(info.value).param == "currency"
    assert "default currency" in info.value.user_message


@pytest.mark.parametrize("way", [debit, charge_debit])
def test_debit_beyond_available_balance_is_refused(
    server: SandboxServer, client: stripe.StripeClient, way: Any
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        way(client, EXPRESS, 500_001)
    assert info.value.code == "balance_insufficient"
    state = sandbox_state(server.url)
    assert balance_of(state, EXPRESS) == 500_000 and state["transfers"] == []
    assert way(client, EXPRESS, 500_000).amount == 500_000  # exactly all of it is fine


@pytest.mark.parametrize(
    "amount, code",
    [
        (None, "parameter_missing"),
        ("12.5", "parameter_invalid_integer"),
        ("ten", "parameter_invalid_integer"),
        (0, "amount_too_small"),
        (-5, "amount_too_small"),
        (100_000_000, "amount_too_large"),
    ],
)
def test_amount_rules(client: stripe.StripeClient, amount: Any, code: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, EXPRESS, amount)
    assert info.value.http_status == 400 and info.value.code == code
    assert error_of(info.value).param == "amount"


@pytest.mark.parametrize(
    "params, missing",
    [
        ({"amount": 100, "destination": PLATFORM}, "currency"),
        ({"amount": 100, "currency": "usd"}, "destination"),
    ],
)
def test_transfer_required_params(
    client: stripe.StripeClient, params: dict[str, Any], missing: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create(params, {"stripe_account": EXPRESS})  # type: ignore[arg-type]
    assert info.value.code == "parameter_missing" and error_of(info.value).param == missing


def test_charge_requires_source(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.charges.create({"amount": 100, "currency": "usd"})
    assert info.value.code == "parameter_missing" and error_of(info.value).param == "source"


def test_debit_transfer_must_go_to_the_platform(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, EXPRESS, destination=CUSTOM)
    assert info.value.code is None and error_of(info.value).param == "destination"


@pytest.mark.parametrize(
    "extra",
    [
        {"metadata": {f"k{i}": "v" for i in range(51)}},
        {"metadata": {"k" * 41: "v"}},
        {"metadata": {"k": "v" * 501}},
    ],
    ids=["51-keys", "long-key", "long-value"],
)
def test_metadata_limits(
    server: SandboxServer, client: stripe.StripeClient, extra: dict[str, Any]
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, EXPRESS, **extra)
    assert info.value.code is None and error_of(info.value).param == "metadata"
    assert sandbox_state(server.url)["transfers"] == []


def test_metadata_at_the_limits_is_accepted(client: stripe.StripeClient) -> None:
    metadata = {f"{i:02d}" + "k" * 38: "v" * 500 for i in range(50)}
    assert debit(client, EXPRESS, metadata=metadata).metadata.to_dict() == metadata


def test_description_limits_are_stripes_per_endpoint(client: stripe.StripeClient) -> None:
    """5,000 characters on a transfer, 40,000 on a charge (the OpenAPI maxLength of each)."""
    assert debit(client, EXPRESS, description="d" * 5000).description == "d" * 5000
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, EXPRESS, description="d" * 5001)
    assert info.value.code is None and error_of(info.value).param == "description"
    assert charge_debit(client, EXPRESS, description="c" * 40000).description == "c" * 40000
    with pytest.raises(stripe.InvalidRequestError) as info:
        charge_debit(client, EXPRESS, description="c" * 40001)
    assert error_of(info.value).param == "description"


def test_unknown_parameter_is_named(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, EXPRESS, source_transaction="ch_123")
    assert (
        info.value.code == "parameter_unknown"
        and error_of(info.value).param == "source_transaction"
    )


def test_expand_is_accepted_and_ignored(client: stripe.StripeClient) -> None:
    transfer = debit(client, EXPRESS, expand=["destination_payment", "balance_transaction"])
    assert id_of(transfer.destination_payment).startswith("py_")
    assert client.v1.balance.retrieve({"expand": ["available"]}).object == "balance"


def test_objects_are_only_visible_in_their_own_account(client: stripe.StripeClient) -> None:
    transfer = debit(client, EXPRESS)
    assert client.v1.transfers.retrieve(transfer.id, options={"stripe_account": EXPRESS}).id
    for options in ({}, {"stripe_account": CUSTOM}):
        with pytest.raises(stripe.InvalidRequestError) as info:
            client.v1.transfers.retrieve(transfer.id, options=options)  # type: ignore[arg-type]
        assert info.value.http_status == 404 and info.value.code == "resource_missing"
        assert error_of(info.value).param == "id"


RICH = "acct_1ExpressRich001"  # usd 20,000,000.00


@pytest.fixture
def rich_client(make_server: ServerFactory) -> stripe.StripeClient:
    seed = base_seed()
    seed["platform"]["balance"] = {"usd": 20_000_000}
    seed["accounts"] += [
        {"id": RICH, "country": "US", "default_currency": "usd",
         "balance": {"usd": 2_000_000_000}},
    ]  # fmt: skip
    return make_client(make_server(seed).url)


@pytest.mark.parametrize("way", [debit, charge_debit])
def test_usd_debit_above_100000_dollars_is_amount_too_large(
    rich_client: stripe.StripeClient, way: Any
) -> None:
    assert way(rich_client, RICH, 10_000_000).amount == 10_000_000  # exactly the maximum
    with pytest.raises(stripe.InvalidRequestError) as info:
        way(rich_client, RICH, 10_000_001, key="too-big")
    assert info.value.http_status == 400 and info.value.code == "amount_too_large"
    assert error_of(info.value).param == "amount"
    # A validation refusal: not saved, so the same key may carry a smaller debit.
    assert way(rich_client, RICH, 9_000_000, key="too-big").amount == 9_000_000


def test_a_credit_is_not_a_debit_and_has_no_debit_maximum(rich_client: stripe.StripeClient) -> None:
    credit = rich_client.v1.transfers.create(
        {"amount": 10_500_000, "currency": "usd", "destination": RICH}
    )
    assert credit.amount == 10_500_000
