"""A stored upload changed on disk after its approval: the batch page says so plainly (never
"Approved" over a plan the approvers did not see), nothing can be decided or run from it, and an
administrator can put the server's intact copy back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledgerrun.store import open_store
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from tests.web.site import GOOD_ROWS, add_user, env, ledger, make_site
from tests.web.test_app import Web, decide, new_batch, token


@pytest.fixture(scope="module")
def web(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    config = load_config(make_site(tmp_path_factory.mktemp("integrity"), module_sandbox.url))
    store = open_store(config.store)
    for name, role in (("pat", "preparer"), ("ada", "approver"), ("root", "admin")):
        add_user(store, name, role)
    yield Web(config, store, create_app(config, store=store, env=env(), worker=False),
              module_sandbox.url)  # fmt: skip
    store.close()


def test_a_changed_stored_upload_is_said_plainly_and_nothing_runs_from_it(web: Web) -> None:
    rows = [r.replace("W-", "I-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows)
    web.work()
    assert decide(web.signed_in("ada"), batch_id, "approve").status_code == 303
    batch = web.store.batch(batch_id)
    assert batch is not None
    stored = web.config.uploads / f"{batch.sha256}.csv"
    original = stored.read_bytes()
    # someone changes the stored file: more money to another account
    stored.write_bytes(ledger([r.replace("10.00", "9000.00") for r in rows]))
    pat = web.signed_in("pat")
    page = pat.get(f"/batches/{batch_id}").text
    assert "File changed on the server" in page and "The stored ledger file has changed" in page
    assert 'id="batch-status">Approved<' not in page and "9,000.00" not in page
    assert ">Run<" not in page and "Tell an administrator" in page
    csrf = token(pat, "/batches")
    forged = pat.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf})
    assert forged.status_code == 409 and "has changed since it was uploaded" in forged.text
    refused = [e for e in web.store.audit_events(limit=20) if e.action == "refused"]
    assert refused[0].batch_id == batch_id and refused[0].detail["attempted"] == "run"  # type: ignore[index]
    assert not [w for w in web.store.work_items(batch_id) if w.kind == "run"]
    # an administrator puts the original back, from the server's own copy
    admin = web.signed_in("root")
    assert "Restore the original file" in admin.get(f"/batches/{batch_id}").text
    restored = admin.post(
        f"/batches/{batch_id}/restore", data={"csrf_token": token(admin, "/batches")}
    )
    assert restored.status_code == 303 and stored.read_bytes() == original
    page = pat.get(f"/batches/{batch_id}").text
    assert "File changed" not in page and ">Run<" in page
    assert any(e.action == "restore_upload" for e in web.store.audit_events(limit=20))
