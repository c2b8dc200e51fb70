"""Transfer reversals: who may reverse, where the money goes, limits, lists, keys and faults."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import Faults, SandboxServer
from tests.helpers.constants import PLATFORM
from tests.helpers.sandbox import (
    CUSTOM,
    EMPTY,
    EXPRESS,
    STANDARD,
    ServerFactory,
    balance_of,
    base_seed,
    charge_debit,
    debit,
    error_of,
    headers_of,
    id_of,
    make_client,
    response_of,
    sandbox_state,
)

ON_EXPRESS: stripe.RequestOptions = {"stripe_account": EXPRESS}


def reverse(
    client: stripe.StripeClient,
    transfer_id: str,
    account: str | None = EXPRESS,
    key: str | None = None,
    **params: Any,
) -> stripe.TransferReversal:
    """POST /v1/transfers/{id}/reversals, as ``account`` (None: as the platform)."""
    options: dict[str, Any] = {"stripe_account": account} if account else {}
    if key is not None:
        options["idempotency_key"] = key
    return client.v1.transfers.reversals.create(transfer_id, params, options)  # type: ignore[arg-type]


def _totals(state: dict[str, Any]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for account in (state["platform"], *state["accounts"]):
        totals.update(account["balance"])
    return totals


def test_debit_reversal_sends_money_back_to_the_account(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    before = sandbox_state(server.url)
    transfer = debit(client, EXPRESS, 1_000)
    first = reverse(client, transfer.id, amount=400, metadata={"why": "dispute"})
    assert first.id.startswith("trr_") and first.object == "transfer_reversal"
    assert (first.amount, first.currency, first.transfer) == (400, "usd", transfer.id)
    assert first.metadata is not None and first.metadata.to_dict() == {"why": "dispute"}
    assert id_of(first.balance_transaction).startswith("txn_")
    assert id_of(first.destination_payment_refund).startswith("pyr_")

    partly = client.v1.transfers.retrieve(transfer.id, options=ON_EXPRESS)
    assert (partly.amount_reversed, partly.reversed) == (400, False)
    assert [r.id for r in partly.reversals.data] == [first.id]
    # The SDK types a list's data, has_more and url, not its object.
    assert partly.reversals.object == "list" and not partly.reversals.has_more  # type: ignore[attr-defined]

    rest = reverse(client, transfer.id)  # no amount: all that is left
    assert rest.amount == 600
    done = client.v1.transfers.retrieve(transfer.id, options=ON_EXPRESS)
    assert (done.amount_reversed, done.reversed) == (1_000, True)
    assert [r.id for r in done.reversals.data] == [rest.id, first.id]

    payment = client.v1.charges.retrieve(id_of(transfer.destination_payment))
    assert (payment.amount_refunded, payment.refunded) == (1_000, True)
    state = sandbox_state(server.url)
    assert balance_of(state, EXPRESS) == 500_000 and balance_of(state, PLATFORM) == 1_000_000
    assert _totals(state) == _totals(before)
    [listed] = state["transfers"]
    assert listed["amount_reversed"] == 1_000
    assert [r["id"] for r in listed["reversals"]["data"]] == [rest.id, first.id]


def test_charge_debit_is_reversed_through_its_source_transfer(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    payment = charge_debit(client, CUSTOM, 900)
    reversal = reverse(client, id_of(payment.source_transfer), account=CUSTOM, amount=300)
    assert reversal.transfer == payment.source_transfer
    assert client.v1.charges.retrieve(payment.id).amount_refunded == 300
    state = sandbox_state(server.url)
    assert balance_of(state, CUSTOM) == 200_000 - 600
    assert balance_of(state, PLATFORM) == 1_000_000 + 600


def test_credit_is_reversed_by_the_platform(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    credit = client.v1.transfers.create(
        {"amount": 5_000, "currency": "usd", "destination": STANDARD}
    )
    reversal = reverse(client, credit.id, account=None, amount=2_000)
    assert reversal.amount == 2_000
    account_payment = client.v1.charges.retrieve(
        id_of(credit.destination_payment), options={"stripe_account": STANDARD}
    )
    assert account_payment.amount_refunded == 2_000 and not account_payment.refunded
    state = sandbox_state(server.url)
    assert balance_of(state, STANDARD) == 300_000 + 3_000
    assert balance_of(state, PLATFORM) == 1_000_000 - 3_000


def test_only_whoever_made_the_transfer_may_reverse_it(client: stripe.StripeClient) -> None:
    debit_transfer = debit(client, EXPRESS, 100)
    credit = client.v1.transfers.create({"amount": 100, "currency": "usd", "destination": EXPRESS})
    for transfer_id, account in ((debit_transfer.id, None), (debit_transfer.id, CUSTOM),
                                 (credit.id, EXPRESS)):  # fmt: skip
        with pytest.raises(stripe.InvalidRequestError) as info:
            reverse(client, transfer_id, account=account)
        assert info.value.http_status == 404 and info.value.code == "resource_missing"
        assert transfer_id in info.value.user_message


def test_never_more_than_what_is_left(server: SandboxServer, client: stripe.StripeClient) -> None:
    transfer = debit(client, EXPRESS, 1_000)
    with pytest.raises(stripe.InvalidRequestError) as info:
        reverse(client, transfer.id, amount=1_001, key="too-much")
    assert info.value.http_status == 400 and info.value.code is None
    assert error_of(info.value).param == "amount"
    reverse(client, transfer.id, amount=1_000)
    with pytest.raises(stripe.InvalidRequestError) as info:
        reverse(client, transfer.id, amount=1)
    assert info.value.code is None and "already fully reversed" in info.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as info:
        reverse(client, transfer.id)
    assert "already fully reversed" in info.value.user_message
    # Refusals made while executing are saved under the key, like Stripe's.
    with pytest.raises(stripe.InvalidRequestError) as info:
        reverse(client, transfer.id, amount=1_001, key="too-much")
    assert headers_of(info.value)["Idempotent-Replayed"] == "true"
    assert balance_of(sandbox_state(server.url), EXPRESS) == 500_000


def _seed_poor_platform() -> dict[str, Any]:
    seed = base_seed()
    seed["platform"]["balance"] = {"usd": 0}
    seed["accounts"].append(
        {"id": "acct_1ExpressNeg0001", "country": "US", "default_currency": "usd",
         "negative_balances": True}
    )  # fmt: skip
    return seed


def test_the_side_paying_back_needs_the_balance(make_server: ServerFactory) -> None:
    server = make_server(_seed_poor_platform())
    client = make_client(server.url)
    transfer = debit(client, EXPRESS, 1_000)  # the platform now holds 1,000
    client.v1.transfers.create({"amount": 1_000, "currency": "usd", "destination": CUSTOM})
    with pytest.raises(stripe.InvalidRequestError) as info:
        reverse(client, transfer.id)  # the platform must pay back, and has nothing
    assert info.value.code == "balance_insufficient" and PLATFORM in info.value.user_message
    assert client.v1.transfers.retrieve(transfer.id, options=ON_EXPRESS).amount_reversed == 0

    debit(client, EXPRESS, 1_000)  # funds the platform for a credit
    credit = client.v1.transfers.create({"amount": 1_000, "currency": "usd", "destination": EMPTY})
    debit(client, EMPTY, 600)  # the account spends some of it
    with pytest.raises(stripe.InvalidRequestError) as info:
        reverse(client, credit.id, account=None)
    assert info.value.code == "balance_insufficient" and EMPTY in info.value.user_message
    assert reverse(client, credit.id, account=None, amount=400).amount == 400


def test_negative_balances_let_an_account_pay_back_a_credit_it_spent(
    make_server: ServerFactory,
) -> None:
    server = make_server(_seed_poor_platform())
    client = make_client(server.url)
    negative = "acct_1ExpressNeg0001"
    debit(client, EXPRESS, 2_000)  # gives the platform something to credit
    credit = client.v1.transfers.create(
        {"amount": 2_000, "currency": "usd", "destination": negative}
    )
    debit(client, negative, 2_000)  # spent it all
    assert reverse(client, credit.id, account=None).amount == 2_000
    state = sandbox_state(server.url)
    assert balance_of(state, negative) == -2_000 and balance_of(state, PLATFORM) == 4_000


def test_reversal_params(client: stripe.StripeClient) -> None:
    transfer = debit(client, EXPRESS, 1_000)
    ok = reverse(client, transfer.id, amount=10, refund_application_fee=True, description="d")
    assert ok.amount == 10
    for params, code, param in (
        ({"amount": 0}, "amount_too_small", "amount"),
        ({"amount": "ten"}, "parameter_invalid_integer", "amount"),
        ({"refund_application_fee": "maybe"}, None, "refund_application_fee"),
        ({"metadata": {"k" * 41: "v"}}, None, "metadata"),
        ({"currency": "usd"}, "parameter_unknown", "currency"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as info:
            reverse(client, transfer.id, **params)
        assert (info.value.code, error_of(info.value).param) == (code, param)
    with pytest.raises(stripe.InvalidRequestError) as info:
        reverse(client, "tr_doesNotExist")
    assert info.value.http_status == 404 and info.value.code == "resource_missing"


def test_reversals_list_pages_and_retrieve(client: stripe.StripeClient) -> None:
    transfer = debit(client, EXPRESS, 1_000)
    made = [reverse(client, transfer.id, amount=n).id for n in range(1, 13)]  # 12 reversals
    newest = made[::-1]
    embedded = client.v1.transfers.retrieve(transfer.id, options=ON_EXPRESS).reversals
    assert [r.id for r in embedded.data] == newest[:10] and embedded.has_more

    def page(**params: Any) -> stripe.ListObject[stripe.TransferReversal]:
        return client.v1.transfers.reversals.list(transfer.id, params, ON_EXPRESS)  # type: ignore[arg-type]

    first = page(limit=5)
    assert first.url == f"/v1/transfers/{transfer.id}/reversals"
    assert [r.id for r in first.data] == newest[:5] and first.has_more
    second = page(limit=5, starting_after=first.data[-1].id)
    assert [r.id for r in second.data] == newest[5:10] and second.has_more
    third = page(limit=5, starting_after=second.data[-1].id)
    assert [r.id for r in third.data] == newest[10:] and not third.has_more
    back = page(limit=3, ending_before=second.data[0].id)
    assert [r.id for r in back.data] == newest[2:5] and back.has_more
    assert [r.id for r in first.auto_paging_iter()] == newest
    assert len(page().data) == 10  # default limit

    one = client.v1.transfers.reversals.retrieve(transfer.id, made[3], options=ON_EXPRESS)
    assert (one.id, one.amount) == (made[3], 4)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.reversals.retrieve(transfer.id, "trr_missing", options=ON_EXPRESS)
    assert info.value.http_status == 404 and info.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as info:
        page(created={"gte": 1})
    assert info.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as info:
        page(starting_after="trr_missing")
    assert info.value.http_status == 400 and error_of(info.value).param == "starting_after"


def test_reversal_replays_under_its_key_and_leaves_old_answers_alone(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    transfer = debit(client, EXPRESS, 1_000, key="debit-1")
    first = reverse(client, transfer.id, amount=250, key="rev-1")
    again = reverse(client, transfer.id, amount=250, key="rev-1")
    assert again.id == first.id and response_of(again).headers["Idempotent-Replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError):
        reverse(client, transfer.id, amount=251, key="rev-1")
    # The debit's replay shows the transfer as first answered, before any reversal.
    replayed = debit(client, EXPRESS, 1_000, key="debit-1")
    assert response_of(replayed).headers["Idempotent-Replayed"] == "true"
    assert replayed.amount_reversed == 0 and replayed.reversals.data == []
    state = sandbox_state(server.url)
    assert balance_of(state, EXPRESS) == 500_000 - 750
    assert state["stats"]["idempotent_replays"] == 2


def test_concurrent_reversals_with_one_key_run_once(make_server: ServerFactory) -> None:
    server = make_server(faults=Faults(latency_ms=300))
    transfer = debit(make_client(server.url), EXPRESS, 1_000)
    barrier, outcomes, lock = threading.Barrier(6), [], threading.Lock()

    def attempt() -> None:
        client = make_client(server.url)
        barrier.wait()
        try:
            result: Any = reverse(client, transfer.id, amount=100, key="rev-race")
        except stripe.StripeError as exc:
            result = exc
        with lock:
            outcomes.append(result)

    workers = [threading.Thread(target=attempt) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    conflicts = [o for o in outcomes if isinstance(o, stripe.StripeError)]
    assert conflicts and all(c.http_status == 409 for c in conflicts)
    assert all(error_of(c).code == "idempotency_key_in_use" for c in conflicts)
    state = sandbox_state(server.url)
    assert state["transfers"][0]["amount_reversed"] == 100
    assert balance_of(state, EXPRESS) == 500_000 - 900


def test_faults_hit_reversals_like_other_writes(make_server: ServerFactory) -> None:
    server = make_server()
    client = make_client(server.url)
    transfer = debit(client, EXPRESS, 1_000)

    server.set_faults(Faults(error_rate=1.0, error_mode="retryable"))
    with pytest.raises(stripe.APIError) as error:
        reverse(client, transfer.id, amount=100, key="f-1")
    assert error.value.http_status == 500
    server.set_faults(Faults(lock_timeout_rate=1.0))
    with pytest.raises(stripe.RateLimitError) as locked:
        reverse(client, transfer.id, amount=100, key="f-1")
    assert error_of(locked.value).code == "lock_timeout"
    assert sandbox_state(server.url)["transfers"][0]["amount_reversed"] == 0

    server.set_faults(Faults(drop_rate=1.0))
    with pytest.raises(stripe.APIConnectionError):
        reverse(client, transfer.id, amount=100, key="f-1")
    state = sandbox_state(server.url)
    assert state["transfers"][0]["amount_reversed"] == 100  # done, but never answered
    assert state["stats"]["faults"] == {**state["stats"]["faults"], "error": 1,
                                        "lock_timeout": 1, "drop": 1}  # fmt: skip
    server.set_faults(Faults())
    replay = reverse(client, transfer.id, amount=100, key="f-1")
    assert response_of(replay).headers["Idempotent-Replayed"] == "true"
    assert balance_of(sandbox_state(server.url), EXPRESS) == 500_000 - 900
