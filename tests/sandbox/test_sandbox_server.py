"""Server life cycle, the sandbox clock, seeds and helper endpoints."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import stripe
from sandbox_helpers import EXPRESS, PLATFORM, advance_clock, base_seed, debit, make_client

from ledgerrun_sandbox import SandboxServer, SeedError


def test_date_header_and_created_follow_the_advanced_clock(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    before = client.v1.balance.retrieve()
    server_time = parsedate_to_datetime(before.last_response.headers["Date"]).timestamp()
    assert abs(server_time - time.time()) < 5
    now = advance_clock(server.url, 3 * 86_400)
    assert abs(now - (time.time() + 3 * 86_400)) < 5
    after = debit(client, EXPRESS, 10)
    later = parsedate_to_datetime(after.last_response.headers["Date"]).timestamp()
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
    server = SandboxServer(base_seed()).start()
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
    with SandboxServer(path) as server:
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
