"""Charge search (``GET /v1/charges/search``): the query language subset, pages, and the lag."""

from __future__ import annotations

import pytest
import stripe

from ledgerrun_sandbox import SandboxServer
from ledgerrun_sandbox.search import parse
from tests.helpers.sandbox import (
    CUSTOM,
    EXPRESS,
    ServerFactory,
    advance_clock,
    charge_debit,
    debit,
    make_client,
    raw,
)


def made(client: stripe.StripeClient, n: int, **metadata: str) -> str:
    metadata = {"ledgerrun_job": "nightly", "n": str(n), **metadata}
    charge = charge_debit(client, (EXPRESS, CUSTOM)[n % 2], 100 + n, metadata=metadata)
    return str(charge.id)


def test_metadata_in_single_or_double_quotes_finds_exactly_those_charges(
    client: stripe.StripeClient,
) -> None:
    ids = [made(client, n, ledgerrun_account=(EXPRESS, CUSTOM)[n % 2]) for n in range(6)]
    debit(client, EXPRESS, 100, metadata={"ledgerrun_job": "nightly"})  # its py_ has no metadata
    for query in (f"metadata['ledgerrun_account']:'{CUSTOM}'",
                  f'metadata["ledgerrun_account"]:"{CUSTOM}"'):  # fmt: skip
        found = client.v1.charges.search({"query": query, "limit": 100})
        # The SDK types a search result's data and pages, not its object, url or total_count.
        assert found.object == "search_result" and found.url == "/v1/charges/search"  # type: ignore[attr-defined]
        assert [c.id for c in found.data] == [ids[5], ids[3], ids[1]]  # newest first
        assert found.has_more is False and found.next_page is None
    both = client.v1.charges.search(
        {"query": "metadata['ledgerrun_job']:'nightly' AND metadata['n']:'4'"}
    )
    assert [c.id for c in both.data] == [ids[4]]
    none = client.v1.charges.search({"query": "metadata['n']:'4' AND metadata['n']:'5'"})
    assert none.data == []


def test_created_bounds_and_pages_with_next_page(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    early = [made(client, n) for n in range(3)]
    advance_clock(server.url, 100)
    late = [made(client, n) for n in range(3, 8)]
    created = client.v1.charges.retrieve(late[0]).created
    query = f"metadata['ledgerrun_job']:'nightly' AND created>={created}"
    page = client.v1.charges.search({"query": query, "limit": 2})
    seen = [c.id for c in page.data]
    while page.has_more:
        assert page.next_page
        page = client.v1.charges.search({"query": query, "limit": 2, "page": page.next_page})
        seen += [c.id for c in page.data]
    assert seen == late[::-1]
    older = client.v1.charges.search({"query": f"created<{created}", "limit": 10})
    assert [c.id for c in older.data] == early[::-1]
    exactly = client.v1.charges.search({"query": f"created>{created - 1} AND created<={created}"})
    assert {c.id for c in exactly.data} == set(late)


def test_total_count_only_when_asked_for(client: stripe.StripeClient) -> None:
    for n in range(3):
        made(client, n)
    plain = client.v1.charges.search({"query": "metadata['ledgerrun_job']:'nightly'", "limit": 1})
    assert "total_count" not in plain
    counted = client.v1.charges.search(
        {"query": "metadata['ledgerrun_job']:'nightly'", "limit": 1, "expand": ["total_count"]}
    )
    # The SDK types a search result's data and pages, not its object, url or total_count.
    assert counted.total_count == 3 and len(counted.data) == 1 and counted.has_more  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "query, words",
    [
        ("foo:'bar'", "Field `foo` is an unsupported search field for resource `charges`"),
        ("amount>100", "models search on metadata and created only, not on `amount`"),
        ("status:'succeeded'", "not on `status`"),
        ("metadata['n']:'1' OR metadata['n']:'2'", "does not model OR"),
        ("metadata['n']", "unable to parse your search query"),
        ("created>=soon", "unable to parse your search query"),
    ],
)
def test_a_query_outside_the_subset_is_a_400(server: SandboxServer, query: str, words: str) -> None:
    status, _, body = raw(server.url, "GET", "/v1/charges/search", {"query": query})
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"] == "query" and words in body["error"]["message"]


def test_query_is_required_and_a_page_must_come_from_a_search(server: SandboxServer) -> None:
    status, _, body = raw(server.url, "GET", "/v1/charges/search", {})
    assert status == 400 and body["error"]["code"] == "parameter_missing"
    status, _, body = raw(server.url, "GET", "/v1/charges/search",
                          {"query": "created>0", "page": "not-a-page"})  # fmt: skip
    assert status == 400 and body["error"]["param"] == "page"


def test_new_charges_show_only_after_the_search_lag(make_server: ServerFactory) -> None:
    server = make_server(search_lag_s=60)
    client = make_client(server.url)
    charge = made(client, 1)
    query: stripe.params.ChargeSearchParams = {"query": "metadata['n']:'1'"}
    assert client.v1.charges.search(query).data == []  # not yet indexed...
    assert client.v1.charges.retrieve(charge).id == charge  # ...though it exists
    assert [c.id for c in client.v1.charges.list().data] == [charge]
    advance_clock(server.url, 61)
    assert [c.id for c in client.v1.charges.search(query).data] == [charge]


def test_search_needs_an_api_version_from_2020_08_27_on(server: SandboxServer) -> None:
    status, _, body = raw(server.url, "GET", "/v1/charges/search", {"query": "created>0"},
                          {"Stripe-Version": "2019-12-03"})  # fmt: skip
    assert status == 400
    assert body["error"]["message"].startswith("Search is not supported on api version 2019-12-03")


def test_the_parser_unescapes_quotes() -> None:
    query = parse(r"""metadata['note']:'it\'s' AND metadata["b"]:"say \"hi\"" AND created>5""")
    assert query.metadata == {"note": "it's", "b": 'say "hi"'} and query.created_min == 6


def test_a_search_by_its_metadata_index_pages_as_a_scan_of_every_charge() -> None:
    # The charges' metadata index (what keeps a search from reading every charge) must never
    # change an answer: the same pages as a scan, either way, with bounds, a cap and objects
    # replaced under a new metadata value.
    import random

    from ledgerrun_sandbox.objects import ObjectList
    from ledgerrun_sandbox.params import ListParams

    rng = random.Random(5)
    indexed, scanned = ObjectList(by_metadata=True), ObjectList()
    for n in range(400):
        obj = {"id": f"ch_{n}", "created": n // 3, "metadata": {"acct": f"a{rng.randrange(5)}"}}
        indexed.append(obj)
        scanned.append(obj)
    for n in rng.sample(range(400), 40):
        moved = {**indexed.get(f"ch_{n}"), "metadata": {"acct": "a9"}}  # type: ignore[dict-item]
        indexed.replace(moved)
        scanned.replace(moved)

    for value in ("a0", "a3", "a9", "absent"):

        def matches(obj: dict[str, object], value: str = value) -> bool:
            return obj["metadata"] == {"acct": value}

        for _ in range(30):
            cursor_id = f"ch_{rng.randrange(400)}" if rng.random() < 0.7 else None
            backwards = cursor_id is not None and rng.random() < 0.5
            query = ListParams(
                limit=rng.choice((1, 3, 10, 100)),
                starting_after=None if backwards else cursor_id,
                ending_before=cursor_id if backwards else None,
                created_min=rng.choice((None, 20, 60)),
                created_max=rng.choice((None, 100, 130)),
            )
            cursor = None if cursor_id is None else scanned.position(cursor_id)
            floor = rng.choice((0, 0, 150))
            among = indexed.holding("acct", value)
            assert among is not None and scanned.holding("acct", value) is None
            assert indexed.page(query, matches, cursor, floor, among=among) == scanned.page(
                query, matches, cursor, floor
            )
