"""The administration page (admins only): add users, change roles, disable and enable them, set a
new password, by ``ledgerrun users``'s rules; and each person changing their own password. A
disabled user or a new password ends the user's sessions at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledgerrun.store import open_store
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from ledgerrun.web.security import check_password
from tests.web.site import PASSWORD, add_user, env, make_site
from tests.web.test_app import Web, signin, token


@pytest.fixture
def web(module_sandbox: Any, tmp_path: Path) -> Iterator[Web]:
    config = load_config(make_site(tmp_path, module_sandbox.url))
    store = open_store(config.store)
    add_user(store, "root", "admin")
    add_user(store, "pat", "preparer")
    add_user(store, "ada", "approver")
    yield Web(config, store, create_app(config, store=store, env=env(), worker=False),
              module_sandbox.url)  # fmt: skip
    store.close()


def post(client: Any, path: str, **form: str) -> Any:
    return client.post(path, data={"csrf_token": token(client, "/batches"), **form})


def test_only_admins_see_and_use_the_users_page(web: Web) -> None:
    for name in ("pat", "ada"):
        client = web.signed_in(name)
        assert client.get("/admin/users").status_code == 403
        assert ">Users<" not in client.get("/batches").text
        refused = post(client, "/admin/users", name="mallory", role="admin", password="x" * 12)
        assert refused.status_code == 403
    assert web.store.user("mallory") is None
    refusals = [e for e in web.store.audit_events(limit=50) if e.action == "refused"]
    assert {e.user for e in refusals} >= {"pat", "ada"}
    page = web.signed_in("root").get("/admin/users")
    assert page.status_code == 200 and 'data-user="pat"' in page.text


def test_an_admin_adds_a_user_by_the_command_lines_rules(web: Web) -> None:
    admin = web.signed_in("root")
    short = post(admin, "/admin/users", name="lena", role="approver", password="short")
    assert short.status_code == 400 and "at least 8 characters" in short.text
    bad_name = post(admin, "/admin/users", name="lena smith", role="approver", password="x" * 9)
    assert bad_name.status_code == 400 and "a user name is 1-100 letters" in bad_name.text.lower()
    again = post(admin, "/admin/users", name="pat", role="approver", password="x" * 9)
    assert again.status_code == 409 and "already a user pat" in again.text
    done = post(admin, "/admin/users", name="lena", role="approver", password="lena's password")
    assert done.status_code == 303
    lena = web.store.user("lena")
    assert lena is not None and lena.role == "approver" and lena.password_hash.startswith("$argon2")
    assert web.signed_in("lena", "lena's password").get("/batches").status_code == 200
    added = [e for e in web.store.audit_events(limit=20) if e.action == "user_added"]
    assert added[0].user == "root" and added[0].detail == {"name": "lena", "role": "approver"}


def test_disabling_and_a_reset_password_sign_the_user_out_at_once(web: Web) -> None:
    admin = web.signed_in("root")
    pat = web.signed_in("pat")
    assert post(admin, "/admin/users/pat/disable").status_code == 303
    assert pat.get("/batches").status_code == 302
    assert signin(web.client(), "pat", PASSWORD).status_code == 401
    assert post(admin, "/admin/users/pat/enable").status_code == 303
    pat = web.signed_in("pat")
    reset = post(admin, "/admin/users/pat/password", password="a temporary password")
    assert reset.status_code == 303
    assert pat.get("/batches").status_code == 302
    assert web.signed_in("pat", "a temporary password").get("/batches").status_code == 200
    assert post(admin, "/admin/users/pat/role", role="approver").status_code == 303
    assert web.store.user("pat").role == "approver"  # type: ignore[union-attr]
    actions = [e.action for e in web.store.audit_events(limit=50) if e.user == "root"]
    for action in ("user_disabled", "user_enabled", "user_password", "user_role"):
        assert action in actions


def test_an_admin_cannot_disable_or_demote_themselves(web: Web) -> None:
    admin = web.signed_in("root")
    assert post(admin, "/admin/users/root/disable").status_code == 409
    assert post(admin, "/admin/users/root/role", role="preparer").status_code == 409
    root = web.store.user("root")
    assert root is not None and root.role == "admin" and not root.disabled
    assert post(admin, "/admin/users/nobody/disable").status_code == 404


def test_a_person_changes_their_own_password_and_other_sessions_end(web: Web) -> None:
    here, elsewhere = web.signed_in("ada"), web.signed_in("ada")
    wrong = post(here, "/account/password", current="not it", new="x" * 10, again="x" * 10)
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    differ = post(here, "/account/password", current=PASSWORD, new="x" * 10, again="y" * 10)
    assert differ.status_code == 400 and "two new passwords differ" in differ.text
    done = post(
        here, "/account/password", current=PASSWORD, new="ada's new one", again="ada's new one"
    )
    assert done.status_code == 303
    assert here.get("/batches").status_code == 200  # this session goes on
    assert elsewhere.get("/batches").status_code == 302  # every other one ended
    user = web.store.user("ada")
    assert user is not None and check_password(user.password_hash, "ada's new one")
