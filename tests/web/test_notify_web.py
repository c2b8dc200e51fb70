"""The web application's notifications, delivered to a real receiver: a batch needs approval, is
approved or rejected (with the approver's comment) or sent back; a run through the worker ends
(run_end, with the job's [metrics] textfile written). serve.toml's [notify] and the job's are
both told, each channel once."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledgerrun.store import open_store
from ledgerrun.web import notices
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from tests.helpers.constants import PLATFORM
from tests.helpers.receivers import HttpReceiver, Request
from tests.helpers.sandbox import make_client
from tests.web.site import GOOD_ROWS, A, add_user, env, make_site
from tests.web.test_app import Web, decide, new_batch

SECRET = "serve-webhook-secret-42"


@pytest.fixture
def told(module_sandbox: Any, tmp_path: Path) -> Iterator[tuple[Web, HttpReceiver]]:
    receiver = HttpReceiver().start()
    serve_notify = (
        "\n[notify]\n"
        f'webhook = "{receiver.url}/serve-hook"\n'
        'webhook_secret_env = "HOOK_SECRET"\n'
        'web_url = "https://ledgerrun.example.com"\n'
    )
    config_path = make_site(tmp_path, module_sandbox.url, serve_extra=serve_notify)
    payouts = tmp_path / "jobs" / "payouts.toml"
    payouts.write_text(
        payouts.read_text()
        + '\n[notify]\nslack_webhook_env = "SLACK_URL"\n'
        + '\n[metrics]\ntextfile = "../metrics/{job}.prom"\n',
        encoding="utf-8",
    )
    config = load_config(config_path)
    store = open_store(config.store)
    for name, role in (("pat", "preparer"), ("ada", "approver")):
        add_user(store, name, role)
    secrets = {"HOOK_SECRET": SECRET, "SLACK_URL": receiver.url + "/slack/T1/B2/x"}
    app = create_app(config, store=store, env={**env(), **secrets}, worker=False)
    web = Web(config, store, app, module_sandbox.url)
    web.work = lambda: _work(web, secrets)  # type: ignore[method-assign]
    try:
        yield web, receiver
    finally:
        store.close()
        receiver.stop()


def _work(web: Web, secrets: dict[str, str]) -> int:
    from ledgerrun.web.worker import Worker

    worker = Worker(web.config, web.store, {**env(), **secrets})
    done = 0
    while worker.step():
        done += 1
    return done


def hook_bodies(requests: list[Request]) -> list[dict[str, Any]]:
    out = []
    for request in requests:
        if request.path == "/serve-hook":
            digest = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
            assert request.headers["ledgerrun-signature"] == "sha256=" + digest
            out.append(json.loads(request.body))
    return out


def slack_texts(requests: list[Request]) -> list[str]:
    return [json.loads(r.body)["text"] for r in requests if r.path.startswith("/slack/")]


def test_approval_events_and_the_run_reach_the_servers_and_the_jobs_channels(
    told: tuple[Web, HttpReceiver],
) -> None:
    web, receiver = told
    batch_id = new_batch(web, [r.replace("W-", "NW-") for r in GOOD_ROWS])
    (uploaded,) = hook_bodies(receiver.wait_for(2))
    assert uploaded["event"] == "batch_uploaded" and uploaded["job"] == "payouts"
    assert uploaded["by"] == "pat"
    assert uploaded["batch"] == {
        "id": batch_id,
        "file": "ledger.csv",
        "rows": 4,
        "uploaded_by": "pat",
        "url": f"https://ledgerrun.example.com/batches/{batch_id}",
    }
    (text,) = slack_texts(receiver.requests)
    assert f"batch {batch_id} needs approval" in text
    assert f"Open: https://ledgerrun.example.com/batches/{batch_id}" in text

    web.work()  # the check with Stripe
    approver = web.signed_in("ada")
    assert decide(approver, batch_id, "approve", comment="Fine for November").status_code == 303
    approved = hook_bodies(receiver.wait_for(4))[1]
    assert approved["event"] == "batch_approved" and approved["by"] == "ada"
    assert approved["message"] == "Fine for November"

    preparer = web.signed_in("pat")
    page = preparer.get(f"/batches/{batch_id}")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert preparer.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf}).status_code == 303
    assert web.work() == 1
    ended = hook_bodies(receiver.wait_for(6))[2]
    assert ended["event"] == "run_end" and ended["exit_code"] == 0 and ended["by"] == "pat"
    assert ended["counts"]["succeeded"] == 4 and ended["job"] == "payouts"
    metrics = (web.config.jobs.parent / "metrics" / "payouts.prom").read_text()
    exit_codes = {
        s.labels["job"]: s.value
        for f in text_string_to_metric_families(metrics)
        for s in f.samples
        if s.name == "ledgerrun_last_run_exit_code"
    }
    assert exit_codes == {"payouts": 0}

    # A duplicate of NW-1 appears in Stripe: the reconcile the page asks for tells of it.
    make_client(web.sandbox_url).v1.transfers.create(
        {
            "amount": 1000,
            "currency": "usd",
            "destination": PLATFORM,
            "transfer_group": "ledgerrun",
            "metadata": {"ledgerrun_job": "payouts", "ledgerrun_adjustment_id": "NW-1"},
        },
        {"stripe_account": A},
    )
    asked = preparer.post(f"/batches/{batch_id}/reconcile", data={"csrf_token": csrf})
    assert asked.status_code == 303
    assert web.work() == 1
    found = hook_bodies(receiver.wait_for(8))[3]
    assert found["event"] == "reconcile_discrepancy" and found["discrepancies"] == {"duplicate": 1}
    assert (
        found["results"].endswith(".results.csv") and "ledgerrun-reconcile-" not in found["results"]
    )


def test_a_rejection_and_a_send_back_carry_the_comment(told: tuple[Web, HttpReceiver]) -> None:
    web, receiver = told
    batch_id = new_batch(web, [r.replace("W-", "RJ-") for r in GOOD_ROWS])
    receiver.wait_for(2)
    approver = web.signed_in("ada")
    assert decide(approver, batch_id, "reject", comment="Wrong month").status_code == 303
    rejected = hook_bodies(receiver.wait_for(4))[1]
    assert (rejected["event"], rejected["by"], rejected["message"]) == (
        "batch_rejected", "ada", "Wrong month",
    )  # fmt: skip
    assert "Comment: Wrong month" in slack_texts(receiver.requests)[1]
    # a send back, from the page's button, with what to correct
    other = new_batch(web, [r.replace("W-", "SB-") for r in GOOD_ROWS])
    receiver.wait_for(6)  # its upload's hook and Slack message
    assert decide(approver, other, "send-back", comment="Split it in two").status_code == 303
    sent_back = hook_bodies(receiver.wait_for(8))[3]  # both of the send back's, in either order
    assert (sent_back["event"], sent_back["by"], sent_back["message"]) == (
        "batch_sent_back", "ada", "Split it in two",
    )  # fmt: skip
    assert sent_back["batch"]["id"] == other


def test_each_approval_short_of_the_rules_count_tells_who_still_must_approve(
    told: tuple[Web, HttpReceiver],
) -> None:
    web, receiver = told
    add_user(web.store, "bob", "approver")
    batch_id = new_batch(web, [r.replace("W-", "TA-") for r in GOOD_ROWS], job="treasury")
    (uploaded,) = hook_bodies(receiver.wait_for(1))  # serve.toml's hook only: no job [notify]
    assert uploaded["event"] == "batch_uploaded" and uploaded["batch"]["id"] == batch_id
    assert decide(web.signed_in("ada"), batch_id, "approve").status_code == 303
    first = hook_bodies(receiver.wait_for(2))[1]
    assert first["event"] == "batch_uploaded" and first["by"] == "ada"
    assert first["batch"]["approvals"] == {"needed": 2, "approved_by": ["ada"]}
    assert "Needs 1 more approval (1 of 2)" in first["message"]
    assert decide(web.signed_in("bob"), batch_id, "approve").status_code == 303
    second = hook_bodies(receiver.wait_for(3))[2]
    assert second["event"] == "batch_approved" and second["by"] == "bob"
    assert second["batch"]["approvals"] == {"needed": 2, "approved_by": ["ada", "bob"]}


def test_a_job_without_approval_does_not_ask_for_one(told: tuple[Web, HttpReceiver]) -> None:
    web, _ = told
    batch_id = new_batch(web, [r.replace("W-", "NA-") for r in GOOD_ROWS], job="fees")
    batch = web.store.batch(batch_id)
    assert batch is not None and batch.status == "valid"
    assert not notices.needs_approval(batch)
    with pytest.raises(ValueError, match="not a batch event"):
        notices.batch_event(web.config, batch, "run_end", by="pat")
