"""Sessions live on the server: signing out, a new password and ``ledgerrun users disable`` end
them at once, so a saved copy of the cookie opens no page afterwards."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ledgerrun.store import open_store
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from ledgerrun.web.security import hash_password
from tests.web.site import add_user, env, make_site
from tests.web.test_app import Web, token

COOKIE = "ledgerrun_session"


@pytest.fixture
def web(module_sandbox: Any, tmp_path: Path) -> Iterator[Web]:
    config = load_config(make_site(tmp_path, module_sandbox.url))
    store = open_store(config.store)
    add_user(store, "pat", "preparer")
    add_user(store, "ada", "approver")
    yield Web(config, store, create_app(config, store=store, env=env(), worker=False),
              module_sandbox.url)  # fmt: skip
    store.close()


def replay(web: Web, cookie: str) -> TestClient:
    """Another browser holding a saved copy of the session cookie."""
    client = web.client()
    client.cookies.set(COOKIE, cookie)
    return client


def test_sign_out_ends_the_session_on_the_server(web: Web) -> None:
    client = web.signed_in("pat")
    saved = client.cookies[COOKIE]
    assert replay(web, saved).get("/batches").status_code == 200  # the copy works while open
    assert (
        client.post("/signout", data={"csrf_token": token(client, "/batches")}).status_code == 303
    )
    for path in ("/batches", "/audit"):
        answer = replay(web, saved).get(path)
        assert answer.status_code == 302 and answer.headers["location"].startswith("/signin")
    assert replay(web, saved).get("/work/1-a/results.csv").status_code == 401
    ended = [s for s in web.store.open_sessions(web.store.users()[0].created_at) if s.user == "pat"]
    assert ended == []


def test_a_new_password_ends_every_session_of_the_user(web: Web) -> None:
    first, second = web.signed_in("pat"), web.signed_in("pat")
    other = web.signed_in("ada")
    web.store.update_user("pat", password_hash=hash_password("a brand new password"))
    assert first.get("/batches").status_code == 302
    assert second.get("/batches").status_code == 302
    assert other.get("/batches").status_code == 200  # only pat's sessions


def test_users_disable_ends_the_session_at_once(web: Web) -> None:
    client = web.signed_in("pat")
    assert client.get("/batches").status_code == 200
    done = subprocess.run(
        [sys.executable, "-m", "ledgerrun", "users", "disable", "pat", "--config",
         str(web.config.path)], capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "signed out everywhere" in done.stdout
    assert client.get("/batches").status_code == 302
    web.store.update_user("pat", disabled=False)
    assert client.get("/batches").status_code == 302  # enabling again opens no old session
    assert web.signed_in("pat").get("/batches").status_code == 200


def test_the_store_keeps_only_a_hash_of_the_session_id(web: Web) -> None:
    import base64
    import hashlib
    import json

    client = web.signed_in("pat")
    assert client.get("/batches").status_code == 200
    (session,) = web.store.open_sessions(web.store.users()[0].created_at)
    payload = client.cookies[COOKIE].split(".", 1)[0]  # itsdangerous: data.timestamp.signature
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) == {"sid", "csrf"}  # the cookie holds the id and the form token, no user
    assert session.user == "pat" and session.session_key != data["sid"]
    assert session.session_key == hashlib.sha256(data["sid"].encode()).hexdigest()
