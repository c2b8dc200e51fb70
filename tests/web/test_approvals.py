"""Approval policies in the web application and ``ledgerrun run``: two distinct approvers above an
amount (never the uploader), comments, send back to the preparer and the corrected upload, and
every refused decision or run in the audit trail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledgerrun.store import open_store
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from tests.helpers.cli import cli
from tests.helpers.sandbox import debits
from tests.helpers.sandbox import sandbox_state as state
from tests.web.site import GOOD_ROWS, TWO_ABOVE_100, add_user, env, ledger, make_site
from tests.web.test_app import CSRF_RE, Web, decide, new_batch, token, upload


@pytest.fixture(scope="module")
def web(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    folder = tmp_path_factory.mktemp("approvals")
    config = load_config(make_site(folder, module_sandbox.url))
    store = open_store(config.store)
    for name, role in (("pat", "preparer"), ("ada", "approver"), ("bob", "approver"),
                       ("root", "admin")):  # fmt: skip
        add_user(store, name, role)
    yield Web(config, store, create_app(config, store=store, env=env(), worker=False),
              module_sandbox.url)  # fmt: skip
    store.close()


def refusals(web: Web, batch_id: str) -> list[dict[str, Any]]:
    return [
        {"user": e.user, **(e.detail or {})}
        for e in web.store.audit_events(limit=1000)
        if e.action == "refused" and e.batch_id == batch_id
    ]


def run_form(client: Any, batch_id: str) -> Any:
    return client.post(f"/batches/{batch_id}/run", data={"csrf_token": token(client, "/batches")})


def test_above_the_rules_amount_two_distinct_approvers_are_needed(web: Web) -> None:
    rows = [r.replace("W-", "T-") for r in GOOD_ROWS]  # 1,022.75 USD: above 100.00
    batch_id = new_batch(web, rows, job="treasury")
    web.work()
    preparer = web.signed_in("pat")
    page = preparer.get(f"/batches/{batch_id}").text
    assert "Needs <strong>2 approvers</strong>" in page and "it moves 1,022.75 USD" in page
    assert "debits plus credits" in page and ">Run<" not in page
    assert "Ready for approval (2 approvers)" in preparer.get("/batches").text

    ada = web.signed_in("ada")
    assert decide(ada, batch_id, "approve", comment="Checked against the GL").status_code == 303
    assert web.store.batch(batch_id).status == "approving"  # type: ignore[union-attr]
    page = preparer.get(f"/batches/{batch_id}").text
    assert "Needs 1 more approval (1 of 2)" in page and "Checked against the GL" in page
    assert ">Run<" not in page and "Partly approved: 1 of 2" in preparer.get("/batches").text
    # one approval sends nothing: the page's Run is refused, and recorded
    refused = run_form(preparer, batch_id)
    assert refused.status_code == 409 and "needs 2 approvals first (1 so far)" in refused.text
    # the same approver again does not count
    again = decide(ada, batch_id, "approve")
    assert again.status_code == 409 and "approved this batch already" in again.text
    assert web.store.batch(batch_id).status == "approving"  # type: ignore[union-attr]
    assert [(r["user"], r["attempted"], r["status"]) for r in refusals(web, batch_id)] == [
        ("ada", "approve", 409), ("pat", "run", 409),
    ]  # fmt: skip

    bob = web.signed_in("bob")
    assert decide(bob, batch_id, "approve").status_code == 303
    assert web.store.batch(batch_id).status == "approved"  # type: ignore[union-attr]
    page = preparer.get(f"/batches/{batch_id}").text
    assert ">Run<" in page and "Needs 1 more" not in page
    assert run_form(preparer, batch_id).status_code == 303
    web.work()
    assert debits(state(web.sandbox_url), "treasury") == {f"T-{i}": 1 for i in range(1, 5)}
    assert "Run finished: every row sent" in preparer.get("/batches").text


def test_below_the_rules_amount_no_approver_is_needed(web: Web) -> None:
    small = ["S-1,acct_1ConnAA000000,10.00,usd,,Fees,INV-1"]
    batch_id = new_batch(web, small, job="treasury")
    web.work()
    page = web.signed_in("pat").get(f"/batches/{batch_id}").text
    assert ">Run<" in page and "Needs no approver" in page
    assert "above 100.00 USD moved (debits plus credits): 2 approvers" in page


def test_nobody_approves_their_own_upload_and_the_refusal_is_recorded(web: Web) -> None:
    rows = [r.replace("W-", "O-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows, job="treasury", by="root")
    admin = web.signed_in("root")
    assert decide(admin, batch_id, "approve").status_code == 403
    assert decide(web.signed_in("pat"), batch_id, "approve").status_code == 403  # a preparer
    (own, role) = refusals(web, batch_id)[::-1]
    assert own["user"] == "root" and "four eyes" in own["why"] and own["status"] == 403
    assert role["user"] == "pat" and "role preparer" in role["why"]
    assert not web.store.approvals(batch_id)


def test_send_back_returns_the_batch_to_its_preparer_who_uploads_a_correction(web: Web) -> None:
    rows = [r.replace("W-", "SB-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows)
    ada = web.signed_in("ada")
    silent = decide(ada, batch_id, "send-back")
    assert silent.status_code == 400 and "needs a comment" in silent.text
    sent = decide(ada, batch_id, "send-back", comment="Row 3 belongs to December")
    assert sent.status_code == 303
    batch = web.store.batch(batch_id)
    assert batch is not None and batch.status == "sent_back"
    assert decide(web.signed_in("bob"), batch_id, "approve").status_code == 409
    preparer = web.signed_in("pat")
    assert "Sent back to the preparer" in preparer.get("/batches").text
    page = preparer.get(f"/batches/{batch_id}").text
    assert "Row 3 belongs to December" in page and "Upload the correction" in page
    assert ">Run<" not in page
    csrf = CSRF_RE.search(page).group(1)  # type: ignore[union-attr]
    corrected = preparer.post(
        "/batches",
        data={"csrf_token": csrf, "replaces": batch_id, "job": "fees"},  # the job is the batch's
        files={"ledger": ("corrected.csv", ledger(rows[:2]), "text/csv")},
    )
    assert corrected.status_code == 303
    new_id = corrected.headers["location"].rsplit("/", 1)[-1]
    new = web.store.batch(new_id)
    assert new is not None and new.job == "payouts" and new.summary["replaces"] == batch_id
    assert web.store.batch(batch_id).summary["replaced_by"] == new_id  # type: ignore[union-attr]
    assert (
        f'href="/batches/{new_id}">the corrected batch' in preparer.get(f"/batches/{batch_id}").text
    )
    assert "Corrects" in preparer.get(f"/batches/{new_id}").text
    actions = [e.action for e in web.store.audit_events(limit=500) if e.batch_id == batch_id]
    assert "send_back" in actions and "refused" in actions


def cli_job(folder: Path, web: Web, ledger_file: Path) -> Path:
    job = folder / "treasury.toml"
    job.write_text(
        f'[job]\nname = "treasury"\nledger = "{ledger_file.as_posix()}"\n'
        f'results = "out/{{job}}.results.csv"\njournal = "{web.config.store}"\n\n'
        f'[stripe]\napi_base = "{web.sandbox_url}"\nrate_limit = 200\ntimeout_s = 10\n\n'
        + TWO_ABOVE_100,
        encoding="utf-8",
    )
    return job


def test_ledgerrun_run_honours_the_same_policy(web: Web, tmp_path: Path) -> None:
    rows = [r.replace("W-", "CL-") for r in GOOD_ROWS]
    data = ledger(rows)
    batch_id = new_batch(web, rows, job="treasury")
    ledger_file = tmp_path / "november.csv"
    ledger_file.write_bytes(data)
    job = cli_job(tmp_path, web, ledger_file)
    assert decide(web.signed_in("ada"), batch_id, "approve").status_code == 303
    once = cli("run", job)
    assert once.returncode == 2, once.stderr
    assert "needs 2 distinct approvers" in once.stderr and "only ada approved it" in once.stderr
    assert "moves 1,022.75 USD" in once.stderr
    assert debits(state(web.sandbox_url), "treasury").keys().isdisjoint({"CL-1"})
    assert decide(web.signed_in("bob"), batch_id, "approve").status_code == 303
    twice = cli("run", job)
    assert twice.returncode == 0, twice.stderr
    assert {k: v for k, v in debits(state(web.sandbox_url), "treasury").items()
            if k.startswith("CL-")} == {f"CL-{i}": 1 for i in range(1, 5)}  # fmt: skip
    # a changed file is another ledger: nobody approved it
    ledger_file.write_bytes(ledger([r.replace("CL-", "CM-") for r in GOOD_ROWS]))
    changed = cli("run", job)
    assert changed.returncode == 2 and "nobody has approved it yet" in changed.stderr


def test_ledgerrun_run_refuses_a_ledger_sent_back(web: Web, tmp_path: Path) -> None:
    rows = [r.replace("W-", "CS-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows, job="treasury")
    assert decide(web.signed_in("ada"), batch_id, "approve").status_code == 303
    assert decide(web.signed_in("bob"), batch_id, "send-back", comment="No").status_code == 303
    ledger_file = tmp_path / "november.csv"
    ledger_file.write_bytes(ledger(rows))
    done = cli("run", cli_job(tmp_path, web, ledger_file))
    assert done.returncode == 2 and "sent back to its preparer by bob" in done.stderr


def test_the_audit_page_shows_refusals_in_words(web: Web) -> None:
    rows = [r.replace("W-", "AU-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows, job="treasury", by="root")
    assert decide(web.signed_in("root"), batch_id, "approve").status_code == 403  # its own
    page = web.signed_in("root").get("/audit").text
    assert re.search(r"refused", page) and "four eyes" in page


def test_an_upload_form_on_a_sent_back_batch_is_only_for_preparers(web: Web) -> None:
    rows = [r.replace("W-", "SP-") for r in GOOD_ROWS]
    batch_id = new_batch(web, rows)
    decide(web.signed_in("ada"), batch_id, "send-back", comment="Wrong account")
    assert "Upload the correction" not in web.signed_in("bob").get(f"/batches/{batch_id}").text
    client = web.signed_in("pat")
    assert upload(client, "payouts", "x.csv", ledger(rows[:1])).status_code == 303
