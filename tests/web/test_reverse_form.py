"""The reverse form never widens what was typed: typed adjustment ids are reversed, and only they,
whatever the form's other choice says; "every succeeded row" with ids typed is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledgerrun.store import open_store
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from tests.web.site import GOOD_ROWS, add_user, env, make_site
from tests.web.test_app import Web, new_batch, token


@pytest.fixture(scope="module")
def web(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    folder = tmp_path_factory.mktemp("reverse-form")
    config = load_config(make_site(folder, module_sandbox.url))
    store = open_store(config.store)
    add_user(store, "pat", "preparer")
    add_user(store, "ada", "approver")
    yield Web(config, store, create_app(config, store=store, env=env(), worker=False),
              module_sandbox.url)  # fmt: skip
    store.close()


@pytest.fixture(scope="module")
def ran(web: Web) -> str:
    """A batch of four rows, run: every row succeeded."""
    batch_id = new_batch(web, [r.replace("W-", "RF-") for r in GOOD_ROWS], job="fees")
    web.work()
    client = web.signed_in("pat")
    csrf = token(client, f"/batches/{batch_id}")
    assert client.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf}).status_code == 303
    web.work()
    return batch_id


def dry_run(web: Web, batch_id: str, **form: str) -> Any:
    client = web.signed_in("ada")
    csrf = token(client, f"/batches/{batch_id}")
    answer = client.post(
        f"/batches/{batch_id}/reverse", data={"csrf_token": csrf, "mode": "dry_run", **form}
    )
    web.work()  # the dry run, done (it reverses nothing)
    return answer


def last_request(web: Web, batch_id: str) -> dict[str, Any]:
    reverses = [w for w in web.store.work_items(batch_id) if w.kind == "reverse"]
    return reverses[-1].params if reverses else {}


def test_the_forms_default_reverses_only_the_typed_ids(web: Web, ran: str) -> None:
    page = web.signed_in("ada").get(f"/batches/{ran}").text
    assert 'value="chosen" checked' in page and 'value="all" checked' not in page
    assert dry_run(web, ran, scope="chosen", ids="RF-2").status_code == 303
    assert last_request(web, ran)["ids"] == ["RF-2"]


def test_typed_ids_without_a_choice_reverse_only_those(web: Web, ran: str) -> None:
    assert dry_run(web, ran, ids="RF-3, RF-4").status_code == 303
    assert last_request(web, ran)["ids"] == ["RF-3", "RF-4"]


def test_every_row_with_ids_typed_is_refused_never_widened(web: Web, ran: str) -> None:
    before = len(web.store.work_items(ran))
    answer = dry_run(web, ran, scope="all", ids="RF-1")
    assert answer.status_code == 400
    assert "also typed 1 adjustment id" in answer.text and "Nothing was reversed" in answer.text
    assert len(web.store.work_items(ran)) == before
    refused = [e for e in web.store.audit_events(limit=50) if e.action == "refused"]
    assert refused[0].batch_id == ran and refused[0].detail["attempted"] == "reverse"  # type: ignore[index]


def test_every_row_is_taken_only_when_no_id_is_typed(web: Web, ran: str) -> None:
    assert dry_run(web, ran, scope="all", ids="  \n ").status_code == 303
    params = last_request(web, ran)
    assert params["ids"] == [f"RF-{i}" for i in range(1, 5)] and params["scope"] == "all"
    assert "(every succeeded row)" in web.signed_in("ada").get(f"/batches/{ran}").text
