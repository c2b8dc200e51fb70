"""Lists: newest first, cursors, has_more, created bounds and filters."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import SandboxServer
from tests.helpers.sandbox import (
    CUSTOM,
    EMPTY,
    EXPRESS,
    advance_clock,
    charge_debit,
    debit,
    error_of,
    make_client,
)

ON_EXPRESS: stripe.RequestOptions = {"stripe_account": EXPRESS}


def _amounts(page: stripe.ListObject[stripe.Transfer]) -> list[int]:
    return [t.amount for t in page.data]


def test_pagination_newest_first_with_cursors(client: stripe.StripeClient) -> None:
    for amount in range(1, 26):  # many share one `created` second: ties keep creation order
        debit(client, EXPRESS, amount)
    page1 = client.v1.transfers.list({"limit": 10}, ON_EXPRESS)
    # The SDK types a list's data, has_more and url, not its object.
    assert page1.object == "list" and page1.url == "/v1/transfers"  # type: ignore[attr-defined]
    assert _amounts(page1) == list(range(25, 15, -1)) and page1.has_more
    page2 = client.v1.transfers.list({"limit": 10, "starting_after": page1.data[-1].id}, ON_EXPRESS)
    assert _amounts(page2) == list(range(15, 5, -1)) and page2.has_more
    page3 = client.v1.transfers.list({"limit": 10, "starting_after": page2.data[-1].id}, ON_EXPRESS)
    assert _amounts(page3) == [5, 4, 3, 2, 1] and not page3.has_more

    back = client.v1.transfers.list({"limit": 5, "ending_before": page2.data[0].id}, ON_EXPRESS)
    assert _amounts(back) == [20, 19, 18, 17, 16] and back.has_more
    top = client.v1.transfers.list({"limit": 10, "ending_before": page2.data[0].id}, ON_EXPRESS)
    assert _amounts(top) == list(range(25, 15, -1)) and not top.has_more

    everything = [t.amount for t in page1.auto_paging_iter()]
    assert everything == list(range(25, 0, -1))
    assert len(client.v1.transfers.list({}, ON_EXPRESS).data) == 10  # default limit
    assert len(client.v1.transfers.list({"limit": 100}, ON_EXPRESS).data) == 25


def test_created_filters(server: SandboxServer, client: stripe.StripeClient) -> None:
    batches = []
    for batch in range(3):
        batches.append([debit(client, EXPRESS, 100 * batch + i).created for i in range(1, 4)])
        advance_clock(server.url, 100)
    (_, max1), (min2, max2), (min3, _) = ((min(b), max(b)) for b in batches)
    assert max1 < min2 <= max2 < min3

    def count(created: stripe.params.TransferListParamsCreated | int) -> int:
        page = client.v1.transfers.list({"created": created, "limit": 100}, ON_EXPRESS)
        return len(page.data)

    assert count({"gte": min2}) == 6
    assert count({"gt": max2}) == 3
    assert count({"gt": max1}) == 6
    assert count({"lte": max2}) == 6
    assert count({"lt": min2}) == 3
    assert count({"gte": min2, "lte": max2}) == 3
    assert count(batches[1][0]) == batches[1].count(batches[1][0])
    assert count({"gt": max(batches[2])}) == 0
    page = client.v1.transfers.list({"created": {"lt": min3}, "limit": 2}, ON_EXPRESS)
    assert [t.amount for t in page.data] == [103, 102] and page.has_more


def test_transfer_group_and_destination_filters(client: stripe.StripeClient) -> None:
    debit(client, EXPRESS, 1, transfer_group="a")
    debit(client, EXPRESS, 2, transfer_group="b")
    debit(client, EXPRESS, 3, transfer_group="a")
    page = client.v1.transfers.list({"transfer_group": "a"}, ON_EXPRESS)
    assert _amounts(page) == [3, 1]

    for destination, amount in ((EMPTY, 10), (CUSTOM, 20), (EMPTY, 30)):
        client.v1.transfers.create(
            {"amount": amount, "currency": "usd", "destination": destination}
        )
    assert _amounts(client.v1.transfers.list({"destination": EMPTY})) == [30, 10]
    assert _amounts(client.v1.transfers.list({"destination": CUSTOM})) == [20]


def test_platform_charges_list_holds_payments_of_both_debit_ways(
    client: stripe.StripeClient,
) -> None:
    transfer = debit(client, EXPRESS, 11)
    payment = charge_debit(client, CUSTOM, 220, transfer_group="g")
    listed = client.v1.charges.list({"limit": 5})
    assert [c.id for c in listed.data] == [payment.id, transfer.destination_payment]
    assert listed.url == "/v1/charges"
    assert [c.amount for c in client.v1.charges.list({"transfer_group": "g"}).data] == [220]
    assert client.v1.charges.list({}, ON_EXPRESS).data == []


@pytest.mark.parametrize(
    "params, code, param",
    [
        ({"limit": 0}, None, "limit"),
        ({"limit": 101}, None, "limit"),
        ({"limit": "many"}, "parameter_invalid_integer", "limit"),
        ({"created": {"after": 1}}, "parameter_unknown", "created[after]"),
        ({"customer": "cus_1"}, "parameter_unknown", "customer"),
        ({"starting_after": "tr_missing"}, "resource_missing", "starting_after"),
    ],
)
def test_bad_list_params(
    client: stripe.StripeClient, params: dict[str, object], code: str | None, param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.list(params, ON_EXPRESS)  # type: ignore[arg-type]
    assert info.value.http_status == 400
    assert info.value.code == code and error_of(info.value).param == param


def _walk_forward(list_page: Any, params: dict[str, Any], expected: list[str]) -> list[str]:
    got: list[str] = []
    query = dict(params)
    while True:
        page = list_page(query)
        got += [obj.id for obj in page.data]
        assert page.has_more == (len(got) < len(expected)), (query, got)
        if not page.has_more:
            return got
        query["starting_after"] = page.data[-1].id


def _walk_backward(list_page: Any, params: dict[str, Any], oldest: str) -> list[str]:
    """From the oldest matching object up: each page is the objects just newer than the
    cursor, newest first; has_more says whether newer ones remain."""
    got: list[str] = []
    query = {**params, "ending_before": oldest}
    while True:
        page = list_page(query)
        got = [obj.id for obj in page.data] + got
        if not page.has_more:
            return got
        query["ending_before"] = page.data[0].id


@pytest.mark.parametrize("kind", ["charges", "transfers"])
def test_paging_both_ways_matches_a_plain_model(
    server: SandboxServer, client: stripe.StripeClient, kind: str
) -> None:
    made: list[tuple[str, int, str, str]] = []  # (id, created, transfer_group, destination)
    for i in range(24):
        group = "b" if i % 3 == 0 else "a"
        account = (EXPRESS, CUSTOM)[i % 2]
        if kind == "charges":
            obj: Any = charge_debit(client, account, 50 + i, transfer_group=group)
        else:  # credits: the platform's own transfers
            obj = client.v1.transfers.create(
                {"amount": i + 1, "currency": "usd", "destination": account,
                 "transfer_group": group}
            )  # fmt: skip
        made.append((obj.id, obj.created, group, account))
        if i % 7 == 6:
            advance_clock(server.url, 50)
    times = sorted({m[1] for m in made})
    filters: list[dict[str, Any]] = [
        {},
        {"transfer_group": "a"},
        {"created": {"gte": times[1]}},
        {"created": {"gt": times[0], "lte": times[2]}, "transfer_group": "b"},
        {"created": {"lt": times[-1]}},
    ]
    if kind == "transfers":
        filters.append({"destination": CUSTOM, "created": {"gte": times[1]}})
    list_page = getattr(client.v1, kind).list

    def matches(m: tuple[str, int, str, str], f: dict[str, Any]) -> bool:
        created = f.get("created", {})
        return bool(
            f.get("transfer_group", m[2]) == m[2]
            and f.get("destination", m[3]) == m[3]
            and m[1] >= created.get("gte", m[1])
            and m[1] > created.get("gt", m[1] - 1)
            and m[1] <= created.get("lte", m[1])
            and m[1] < created.get("lt", m[1] + 1)
        )

    for f in filters:
        expected = [m[0] for m in reversed(made) if matches(m, f)]
        assert 2 <= len(expected) < len(made) or not f
        for limit in (1, 4, 10, 100):
            params = {**f, "limit": limit}
            assert _walk_forward(list_page, params, expected) == expected
            assert _walk_backward(list_page, params, expected[-1]) == expected[:-1]


def test_limit_bounds_and_an_exact_last_page(client: stripe.StripeClient) -> None:
    for amount in range(50, 60):
        charge_debit(client, EXPRESS, amount)
    exact = client.v1.charges.list({"limit": 10})
    assert len(exact.data) == 10 and not exact.has_more
    one = client.v1.charges.list({"limit": 1})
    assert [c.amount for c in one.data] == [59] and one.has_more
    assert len(client.v1.charges.list({"limit": 100}).data) == 10
    for limit in (0, 101, -1):
        with pytest.raises(stripe.InvalidRequestError) as info:
            client.v1.charges.list({"limit": limit})
        assert error_of(info.value).param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as info:
        # A transfers-only filter, which the SDK's types rightly refuse on charges.
        client.v1.charges.list({"destination": EXPRESS})  # type: ignore[arg-type]
    assert info.value.code == "parameter_unknown"


# --- the platform's connected accounts ----------------------------------------------------------


def _platform_of(n: int, start: int = 1_700_000_000) -> dict[str, Any]:
    """A platform with ``n`` connected accounts created a minute apart, and a revoked one."""
    accounts = [
        {"id": f"acct_1Listed{i:010d}", "country": "US", "default_currency": "usd",
         "created": start + 60 * i}
        for i in range(n)
    ]  # fmt: skip
    accounts.append({"id": "acct_1ListedRevoked01", "country": "US", "default_currency": "usd",
                     "access": "revoked", "created": start + 60 * n})  # fmt: skip
    return {"platform": {"id": "acct_1PlatformList0001", "country": "US",
                         "default_currency": "usd"}, "accounts": accounts}  # fmt: skip


def test_the_platforms_accounts_come_newest_first_in_pages_of_up_to_100(make_server: Any) -> None:
    server = make_server(_platform_of(250))
    client = make_client(server.url)
    first = client.v1.accounts.list({"limit": 100})
    # The SDK types a list's data, has_more and url, not its object.
    assert first.object == "list" and first.url == "/v1/accounts" and first.has_more  # type: ignore[attr-defined]
    assert first.data[0].id == "acct_1Listed0000000249" and first.data[0].object == "account"
    controller = first.data[0].controller
    assert controller is not None and controller.losses is not None
    assert controller.losses.payments == "application"
    seen = [a.id for a in client.v1.accounts.list({"limit": 100}).auto_paging_iter()]
    assert seen == [f"acct_1Listed{i:010d}" for i in range(249, -1, -1)]  # no revoked account
    assert len(client.v1.accounts.list().data) == 10
    since = client.v1.accounts.list({"created": {"gte": 1_700_000_000 + 60 * 245}})
    assert [a.id for a in since.data] == [f"acct_1Listed{i:010d}" for i in range(249, 244, -1)]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.list({"limit": 101})


def test_a_connected_account_is_not_a_platform_and_lists_none(server: SandboxServer) -> None:
    client = make_client(server.url)
    assert len(client.v1.accounts.list({"limit": 100}).data) == 6  # base_seed: 7, one revoked
    assert client.v1.accounts.list(options=ON_EXPRESS).data == []
