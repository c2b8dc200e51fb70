"""Refunds of the platform's payment (``py_``): the documented undo of an account debit."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import SandboxServer
from tests.helpers.constants import PLATFORM
from tests.helpers.sandbox import (
    CUSTOM,
    EMPTY,
    EXPRESS,
    ServerFactory,
    advance_clock,
    balance_of,
    base_seed,
    charge_debit,
    debit,
    error_of,
    headers_of,
    id_of,
    make_client,
    raw,
    response_of,
    sandbox_state,
)

ON_EXPRESS: Any = {"stripe_account": EXPRESS}


def refund(
    client: stripe.StripeClient, payment: str, key: str | None = None, **params: Any
) -> stripe.Refund:
    request: Any = {"charge": payment, **params}  # any parameters, Stripe's or not
    options: Any = {"idempotency_key": key} if key else {}
    return client.v1.refunds.create(request, options)


@pytest.mark.parametrize("way", ["transfer", "charge"])
def test_a_refund_of_the_platforms_payment_reverses_the_accounts_transfer(
    server: SandboxServer, client: stripe.StripeClient, way: str
) -> None:
    if way == "transfer":
        transfer = debit(client, EXPRESS, 1_000)
        payment, transfer_id = id_of(transfer.destination_payment), transfer.id
    else:
        charge = charge_debit(client, EXPRESS, 1_000)
        payment, transfer_id = charge.id, id_of(charge.source_transfer)
    done = refund(client, payment, amount=400, metadata={"why": "booked twice"},
                  reason="duplicate")  # fmt: skip
    assert done.id.startswith("re_") and done.object == "refund"
    assert (done.amount, done.currency, done.charge, done.status) == (
        400,
        "usd",
        payment,
        "succeeded",
    )
    assert done.reason == "duplicate" and done.metadata is not None
    assert done.metadata.to_dict() == {"why": "booked twice"}
    assert id_of(done.source_transfer_reversal).startswith("trr_")
    assert done.transfer_reversal is None
    assert id_of(done.balance_transaction).startswith("txn_") and done.payment_intent is None
    state = sandbox_state(server.url)
    assert balance_of(state, EXPRESS) == 500_000 - 600
    assert balance_of(state, PLATFORM) == 1_000_000 + 600
    transfer = client.v1.transfers.retrieve(transfer_id, options=ON_EXPRESS)
    assert (transfer.amount_reversed, transfer.reversed) == (400, False)
    (reversal,) = transfer.reversals.data
    assert reversal.id == done.source_transfer_reversal and reversal.amount == 400
    assert reversal.destination_payment_refund == done.id
    shown = client.v1.charges.retrieve(payment)
    assert (shown.amount_refunded, shown.refunded) == (400, False)
    assert "refunds" not in shown  # only when expanded, as in Stripe's current versions
    expanded = client.v1.charges.retrieve(payment, {"expand": ["refunds"]})
    assert expanded.refunds is not None
    assert [r.id for r in expanded.refunds.data] == [done.id]
    # The rest, with no amount: all that is left.
    rest = refund(client, payment)
    assert rest.amount == 600
    shown = client.v1.charges.retrieve(payment)
    assert (shown.amount_refunded, shown.refunded) == (1_000, True)
    assert client.v1.transfers.retrieve(transfer_id, options=ON_EXPRESS).reversed is True
    assert balance_of(sandbox_state(server.url), EXPRESS) == 500_000


def test_never_more_than_what_is_left(server: SandboxServer, client: stripe.StripeClient) -> None:
    payment = id_of(debit(client, EXPRESS, 1_000).destination_payment)
    with pytest.raises(stripe.InvalidRequestError) as info:
        refund(client, payment, amount=1_001, key="too-much")
    assert info.value.http_status == 400 and error_of(info.value).param == "amount"
    assert info.value.code is None  # Stripe names the param, with no code
    assert "greater than unrefunded amount on charge ($10.00 usd)" in info.value.user_message
    # A refusal while executing is saved under its key, as Stripe saves it.
    with pytest.raises(stripe.InvalidRequestError) as again:
        refund(client, payment, amount=1_001, key="too-much")
    assert headers_of(again.value)["Idempotent-Replayed"] == "true"
    refund(client, payment)
    with pytest.raises(stripe.InvalidRequestError) as info:
        refund(client, payment, amount=1)
    assert info.value.code == "charge_already_refunded"
    assert sandbox_state(server.url)["stats"]["writes_refused"] == 2


def test_a_transfer_reversal_and_a_refund_share_what_is_left(client: stripe.StripeClient) -> None:
    transfer = debit(client, EXPRESS, 1_000)
    client.v1.transfers.reversals.create(transfer.id, {"amount": 700}, ON_EXPRESS)
    with pytest.raises(stripe.InvalidRequestError) as info:
        refund(client, id_of(transfer.destination_payment), amount=301)
    assert error_of(info.value).param == "amount"
    assert refund(client, id_of(transfer.destination_payment)).amount == 300


def test_the_platform_must_cover_the_refund(make_server: ServerFactory) -> None:
    seed = base_seed()
    seed["platform"]["balance"] = {"usd": 0}
    server = make_server(seed)
    client = make_client(server.url)
    payment = id_of(debit(client, EXPRESS, 1_000).destination_payment)
    client.v1.transfers.create({"amount": 900, "currency": "usd", "destination": EMPTY})
    with pytest.raises(stripe.InvalidRequestError) as info:
        refund(client, payment)  # 1,000 asked, 100 available
    assert info.value.code == "balance_insufficient"
    assert sandbox_state(server.url)["refunds"] == []
    assert refund(client, payment, amount=100).amount == 100


def test_refunds_are_idempotent_like_every_write(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    payment = id_of(debit(client, EXPRESS, 1_000).destination_payment)
    first = refund(client, payment, key="r-1", amount=250)
    again = refund(client, payment, key="r-1", amount=250)
    assert again.id == first.id and response_of(again).headers["Idempotent-Replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError):
        refund(client, payment, key="r-1", amount=251)
    state = sandbox_state(server.url)
    assert len(state["refunds"]) == 1 and balance_of(state, EXPRESS) == 500_000 - 750


@pytest.mark.parametrize(
    "params, code, param",
    [
        ({}, "parameter_missing", "charge"),
        ({"charge": "py_nosuchpayment0001"}, "resource_missing", "charge"),
        ({"charge": "PAYMENT", "amount": "0"}, "amount_too_small", "amount"),
        ({"charge": "PAYMENT", "reason": "because"}, None, "reason"),
        ({"charge": "PAYMENT", "currency": "usd"}, "parameter_unknown", "currency"),
        ({"charge": "PAYMENT", "reverse_transfer": "maybe"}, None, "reverse_transfer"),
    ],
)
def test_invalid_refunds_are_refused_and_never_saved(
    server: SandboxServer, client: stripe.StripeClient, params: dict[str, str], code: str | None,
    param: str,
) -> None:  # fmt: skip
    payment = id_of(debit(client, EXPRESS, 1_000).destination_payment)
    sent = {k: (payment if v == "PAYMENT" else v) for k, v in params.items()}
    status, _, body = raw(server.url, "POST", "/v1/refunds", sent, {"Idempotency-Key": "bad-1"})
    assert status == 400 and body["error"].get("code") == code and body["error"]["param"] == param
    # Not saved: the same key may then carry a good refund.
    status, headers, body = raw(server.url, "POST", "/v1/refunds", {"charge": payment},
                                {"Idempotency-Key": "bad-1"})  # fmt: skip
    assert status == 200 and "idempotent-replayed" not in headers


def test_only_the_account_holding_the_payment_may_refund_it(client: stripe.StripeClient) -> None:
    payment = id_of(debit(client, EXPRESS, 1_000).destination_payment)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create({"charge": payment}, ON_EXPRESS)
    assert info.value.code == "resource_missing"


def test_a_credits_payment_refunded_by_the_account_goes_back_to_the_platform(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    credit = client.v1.transfers.create({"amount": 500, "currency": "usd", "destination": CUSTOM})
    done = client.v1.refunds.create(
        {"charge": id_of(credit.destination_payment)}, {"stripe_account": CUSTOM}
    )
    assert done.amount == 500 and id_of(done.source_transfer_reversal).startswith("trr_")
    state = sandbox_state(server.url)
    assert balance_of(state, CUSTOM) == 200_000 and balance_of(state, PLATFORM) == 1_000_000
    assert client.v1.transfers.retrieve(credit.id).amount_reversed == 500


def test_refunds_are_listed_by_charge_newest_first_and_paged(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    first = id_of(debit(client, EXPRESS, 1_000).destination_payment)
    second = charge_debit(client, CUSTOM, 2_000).id
    made = [refund(client, first, amount=100), refund(client, second, amount=200)]
    advance_clock(server.url, 60)
    made.append(refund(client, first, amount=300))
    listed = client.v1.refunds.list({"limit": 2})
    # The SDK types a list's data, has_more and url, not its object.
    assert listed.object == "list" and listed.url == "/v1/refunds" and listed.has_more  # type: ignore[attr-defined]
    assert [r.id for r in listed.data] == [made[2].id, made[1].id]
    rest = client.v1.refunds.list({"limit": 2, "starting_after": made[1].id})
    assert [r.id for r in rest.data] == [made[0].id] and not rest.has_more
    by_charge = client.v1.refunds.list({"charge": first})
    assert [r.id for r in by_charge.data] == [made[2].id, made[0].id]
    recent = client.v1.refunds.list({"created": {"gte": made[2].created}})
    assert [r.id for r in recent.data] == [made[2].id]
    assert client.v1.refunds.retrieve(made[1].id).amount == 200
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.retrieve("re_nosuchrefund000001")
    assert info.value.http_status == 404 and info.value.code == "resource_missing"
    assert client.v1.refunds.list(options=ON_EXPRESS).data == []
    assert [r["id"] for r in sandbox_state(server.url)["refunds"]] == [m.id for m in made]


def test_a_pending_refund_holds_the_money_until_the_sandbox_clock_says(
    make_server: ServerFactory,
) -> None:
    server = make_server(refund_settle_s=3600)
    client = make_client(server.url)
    payment = id_of(debit(client, EXPRESS, 1_000).destination_payment)
    done = refund(client, payment, amount=400)
    assert (done.status, done.pending_reason) == ("pending", "processing")
    state = sandbox_state(server.url)
    assert balance_of(state, PLATFORM) == 1_000_000 + 600  # paid out at once...
    account = next(a for a in state["accounts"] if a["id"] == EXPRESS)
    assert account["balance"]["usd"] == 499_000 and account["pending"] == {"usd": 400}
    balance = client.v1.balance.retrieve(options=ON_EXPRESS)  # ...held as the account's pending
    assert [(b.amount, b.currency) for b in balance.pending] == [(400, "usd")]
    shown = client.v1.charges.retrieve(payment)
    assert shown.amount_refunded == 400  # it counts: nothing can be refunded twice
    with pytest.raises(stripe.InvalidRequestError):
        refund(client, payment, amount=601)
    advance_clock(server.url, 3599)
    assert client.v1.refunds.retrieve(done.id).status == "pending"
    advance_clock(server.url, 2)
    settled = client.v1.refunds.retrieve(done.id)
    assert settled.status == "succeeded" and "pending_reason" not in settled
    state = sandbox_state(server.url)
    account = next(a for a in state["accounts"] if a["id"] == EXPRESS)
    assert account["balance"]["usd"] == 499_400 and account["pending"] == {}
    assert state["refunds"][0]["status"] == "succeeded"
