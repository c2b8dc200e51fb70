"""Sign-in throttling: per name and per address, never refusing a correct password once the wait
is over, never growing while it runs, and unable to lock out the people who sign in from their
own browsers, even when one address (a proxy's) sends every request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ledgerrun.store import open_store
from ledgerrun.web import security, service
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from tests.web.site import PASSWORD, add_user, env, make_site
from tests.web.test_app import Web, signin

T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def wait(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock()
    monkeypatch.setattr(service, "now", found)  # the time every sign-in is judged at
    return found


@pytest.fixture
def web(module_sandbox: Any, tmp_path: Path) -> Iterator[Web]:
    config = load_config(make_site(tmp_path, module_sandbox.url))
    store = open_store(config.store)
    for name in ("quinn", "maria", "tom", "lena"):
        add_user(store, name, "preparer")
    yield Web(config, store, create_app(config, store=store, env=env(), worker=False),
              module_sandbox.url)  # fmt: skip
    store.close()


def failures(web: Web) -> int:
    return sum(1 for e in web.store.audit_events(limit=1000) if e.action == "sign_in_failed")


def test_a_correct_password_after_the_wait_always_signs_in(web: Web, clock: Clock) -> None:
    client = web.client()
    for _ in range(5):
        assert signin(client, "quinn", "wrong password").status_code == 401
    early = signin(client, "quinn", PASSWORD)  # during the wait: refused, unread, not counted
    assert early.status_code == 429 and "Wait 5 seconds" in early.text
    clock.wait(3)
    assert signin(client, "quinn", "wrong again").status_code == 429  # still waiting
    assert failures(web) == 5  # tries during the wait never count
    clock.wait(2.5)
    assert signin(client, "quinn", PASSWORD).status_code == 303  # the wait is over: in


def test_each_failure_past_the_free_ones_doubles_the_wait_up_to_15_minutes() -> None:
    assert [security._wait(n, T0, 5, T0) for n in (4, 5, 6, 7, 12, 30)] == [
        0, 5, 10, 20, 640, 900,
    ]  # fmt: skip
    assert security._wait(6, T0, 5, T0 + dt.timedelta(seconds=4)) == 6


def test_one_address_cannot_lock_out_the_people_on_their_own_browsers(
    web: Web, clock: Clock
) -> None:
    """Behind a proxy every request has the proxy's address: here, the test client's."""
    maria = web.client()
    assert signin(maria, "maria", PASSWORD).status_code == 303  # her browser is known now
    attacker = web.client()
    for n in range(30):  # password spraying: many names, one address
        assert signin(attacker, f"user{n}", "Summer2026!").status_code in (401, 429)
        clock.wait(1)
    assert signin(attacker, "tom", "Summer2026!").status_code == 429  # the address waits
    # maria, signing in from her own browser, is not slowed by the attacker's failures
    again = web.client()
    again.cookies.set(security.KNOWN_BROWSER_COOKIE, maria.cookies[security.KNOWN_BROWSER_COOKIE])
    assert signin(again, "maria", PASSWORD).status_code == 303
    # someone on a new browser waits, but only for a while: it is not a lock-out for good
    newcomer = signin(web.client(), "lena", PASSWORD)
    assert newcomer.status_code == 429 and "from this address" in newcomer.text
    clock.wait(15 * 60)
    assert signin(web.client(), "lena", PASSWORD).status_code == 303


def test_hammering_one_name_slows_that_name_not_its_owners_browser(web: Web, clock: Clock) -> None:
    tom = web.client()
    assert signin(tom, "tom", PASSWORD).status_code == 303
    attacker = web.client()
    for _ in range(8):
        signin(attacker, "tom", "guess")
        clock.wait(0.5)
    refused = signin(attacker, "tom", PASSWORD)
    assert refused.status_code == 429 and "for this user" in refused.text
    assert signin(tom, "tom", PASSWORD).status_code == 303  # his own browser: not slowed
    assert signin(web.client(), "quinn", PASSWORD).status_code == 303  # other names: not slowed


def test_a_known_browser_is_slowed_by_its_own_failures(web: Web, clock: Clock) -> None:
    client = web.client()
    assert signin(client, "quinn", PASSWORD).status_code == 303
    for _ in range(5):
        assert signin(client, "quinn", "wrong").status_code == 401
    slowed = signin(client, "quinn", PASSWORD)
    assert slowed.status_code == 429 and "from this browser" in slowed.text
    clock.wait(5)
    assert signin(client, "quinn", PASSWORD).status_code == 303


def test_a_forged_known_browser_cookie_counts_for_nothing(web: Web, clock: Clock) -> None:
    attacker = web.client()
    for _ in range(6):
        signin(attacker, "maria", "guess")
    forged = TestClient(web.app, follow_redirects=False)
    forged.cookies.set(security.KNOWN_BROWSER_COOKIE, '{"id": "x", "names": ["maria"]}')
    assert signin(forged, "maria", PASSWORD).status_code == 429
