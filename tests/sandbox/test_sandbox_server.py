"""Server life cycle, the sandbox clock, seeds and helper endpoints."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections import Counter
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import SandboxServer, SeedError
from tests.helpers.constants import KEY, PLATFORM
from tests.helpers.sandbox import (
    EMPTY,
    EXPRESS,
    advance_clock,
    base_seed,
    debit,
    make_client,
    response_of,
    sandbox_state,
    top_up,
)


def test_date_header_and_created_follow_the_advanced_clock(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    before = client.v1.balance.retrieve()
    server_time = parsedate_to_datetime(response_of(before).headers["Date"]).timestamp()
    assert abs(server_time - time.time()) < 5
    now = advance_clock(server.url, 3 * 86_400)
    assert abs(now - (time.time() + 3 * 86_400)) < 5
    after = debit(client, EXPRESS, 10)
    later = parsedate_to_datetime(response_of(after).headers["Date"]).timestamp()
    assert 3 * 86_400 - 5 < later - server_time < 3 * 86_400 + 5
    assert abs(after.created - later) <= 1


def test_clock_takes_json_and_refuses_to_go_back(server: SandboxServer) -> None:
    request = urllib.request.Request(
        server.url + "/_sandbox/clock",
        data=json.dumps({"advance_s": 60}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["now"] > time.time() + 55
    with pytest.raises(urllib.error.HTTPError) as info:
        advance_clock(server.url, -1)
    assert info.value.code == 400


def test_start_picks_a_port_and_stop_closes_everything() -> None:
    server = SandboxServer(base_seed(), api_keys=[KEY]).start()
    port = server.port
    assert server.url == f"http://127.0.0.1:{port}" and port > 0
    client = make_client(server.url)
    assert client.v1.balance.retrieve().object == "balance"  # leaves a keep-alive connection
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(stripe.APIConnectionError):
        client.v1.balance.retrieve()
    server.stop()  # a second stop is harmless


def test_context_manager_and_seed_file(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(base_seed()))
    with SandboxServer(path, api_keys=[KEY]) as server:
        assert make_client(server.url).v1.accounts.retrieve_current().id == PLATFORM
    with pytest.raises(RuntimeError):
        _ = server.port


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda s: s.pop("platform"), "no 'platform'"),
        (lambda s: s["accounts"][0].update(balance={"usd": 1.5}), "accounts[0].balance.usd"),
        (lambda s: s["accounts"][1].update(type="premium"), "accounts[1].type"),
        (lambda s: s["accounts"][2].update(id=s["accounts"][0]["id"]), "already used"),
        (lambda s: s["accounts"][0].update(balence={}), "unknown field(s) 'balence'"),
        (lambda s: s["platform"].update(country="usa"), "platform.country"),
        (lambda s: s["accounts"][0].update(access="maybe"), "accounts[0].access"),
    ],
)
def test_malformed_seed_is_refused_with_a_clear_reason(mutate: object, words: str) -> None:
    seed = base_seed()
    mutate(seed)  # type: ignore[operator]
    with pytest.raises(SeedError) as info:
        SandboxServer(seed)
    assert words in str(info.value)


def test_seed_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text("{not json")
    with pytest.raises(SeedError, match="not valid JSON"):
        SandboxServer(path)


def _post_helper(url: str, path: str, body: bytes, json_body: bool = False) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} if json_body else {}
    request = urllib.request.Request(url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _totals(state: dict[str, Any]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for account in (state["platform"], *state["accounts"]):
        totals.update(account["balance"])
    return totals


def test_balance_helper_lets_a_refused_debit_be_retried(server: SandboxServer) -> None:
    client = make_client(server.url)
    before = sandbox_state(server.url)
    with pytest.raises(stripe.InvalidRequestError) as info:
        debit(client, EMPTY, 5_000, key="row-9")
    assert info.value.code == "balance_insufficient"
    answer = top_up(server.url, EMPTY, 5_000)
    assert answer == {"account": EMPTY, "currency": "usd", "amount": 5_000,
                      "balance": {"usd": 5_000}}  # fmt: skip
    # The same key replays the saved refusal; a new key (the product's retry) goes through.
    with pytest.raises(stripe.InvalidRequestError):
        debit(client, EMPTY, 5_000, key="row-9")
    assert debit(client, EMPTY, 5_000, key="row-9-retry").amount == 5_000
    status, platform = _post_helper(
        server.url, "/_sandbox/balance",
        json.dumps({"account": PLATFORM, "currency": "eur", "amount": 700}).encode(), True,
    )  # fmt: skip
    assert status == 200 and platform["balance"] == {"usd": 1_005_000, "eur": 700}

    after = sandbox_state(server.url)
    assert after["stats"]["topped_up"] == {"usd": 5_000, "eur": 700}
    assert _totals(after) == _totals(before) + Counter(after["stats"]["topped_up"])
    assert before["stats"]["topped_up"] == {}


@pytest.mark.parametrize(
    "body, param",
    [
        (f"account={EXPRESS}&currency=usd&amount=0", "amount"),
        (f"account={EXPRESS}&currency=usd&amount=-5", "amount"),
        (f"account={EXPRESS}&currency=usd&amount=1.5", "amount"),
        (f"account={EXPRESS}&currency=USD&amount=5", "currency"),
        ("currency=usd&amount=5", "account"),
        ("account=acct_1NotInTheSeed000&currency=usd&amount=5", "account"),
    ],
)
def test_balance_helper_refuses_nonsense(server: SandboxServer, body: str, param: str) -> None:
    status, answer = _post_helper(server.url, "/_sandbox/balance", body.encode())
    assert status == 400 and answer["error"]["param"] == param
    assert sandbox_state(server.url)["stats"]["topped_up"] == {}


def test_state_keeps_every_field_the_product_reads(server: SandboxServer) -> None:
    client = make_client(server.url)
    transfer = debit(client, EXPRESS, 100, metadata={"row": "1"})
    client.v1.transfers.reversals.create(transfer.id, {"amount": 40}, {"stripe_account": EXPRESS})
    state = sandbox_state(server.url)
    assert {"now", "platform", "accounts", "transfers", "charges", "stats"} <= set(state)
    assert state["platform"]["balance"] == {"usd": 1_000_060}
    assert {a["id"]: a["balance"] for a in state["accounts"]}[EXPRESS] == {"usd": 499_940}
    [listed] = state["transfers"]
    assert (listed["account"], listed["metadata"], listed["amount_reversed"]) == (
        EXPRESS,
        {"row": "1"},
        40,
    )
    assert listed["reversals"]["object"] == "list" and len(listed["reversals"]["data"]) == 1
    assert [c["account"] for c in state["charges"]] == [PLATFORM]
    stats = state["stats"]
    assert {"requests", "write_requests", "writes_executed", "writes_refused",
            "idempotent_replays", "faults", "topped_up"} <= set(stats)  # fmt: skip
    assert stats["writes_executed"] == 2


@pytest.mark.parametrize("sent", [0, 12])
def test_a_request_cut_off_mid_body_is_not_acted_on_and_leaves_its_key_free(
    server: SandboxServer, sent: int
) -> None:
    """A process killed while sending leaves headers (and part of the body) behind. Stripe acts
    on no half-received request; the sandbox neither moves money nor keeps the key for it, so
    the full request under the same key goes through rather than failing as a key reused with
    other parameters."""
    from tests.helpers.constants import KEY

    body = f"amount=1000&currency=usd&destination={PLATFORM}".encode()
    head = (
        "POST /v1/transfers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {KEY}\r\nStripe-Account: {EXPRESS}\r\n"
        "Idempotency-Key: cut-off-1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(head + body[:sent])
        conn.shutdown(socket.SHUT_WR)
        assert conn.recv(1024) == b""  # no answer: the sandbox closed without acting
    assert sandbox_state(server.url)["transfers"] == []
    transfer = debit(make_client(server.url), EXPRESS, 1000, key="cut-off-1")
    assert transfer.amount == 1000
    assert len(sandbox_state(server.url)["transfers"]) == 1
