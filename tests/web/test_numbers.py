"""The figures of the web pages, in process against a sandbox of their own: the batch page's
plan (every balance Stripe's, credits counted before the debits they cover, never a negative
shortfall, rows done not counted again) and a reversal's page (its counts are the reversals')."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from ledgerrun.store import open_store
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from tests.helpers.constants import SHORT, A, D
from tests.helpers.sandbox import balance_of, make_client
from tests.helpers.sandbox import sandbox_state as state
from tests.web.site import add_user, env, ledger, make_site
from tests.web.test_app import Web, token

DIRECTED = "adjustment_id,account,amount,currency,direction,description"


@pytest.fixture(scope="module")
def web(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    folder = tmp_path_factory.mktemp("numbers")
    config = load_config(make_site(folder, module_sandbox.url))
    store = open_store(config.store)
    for name, role in (("pat", "preparer"), ("ada", "approver")):
        add_user(store, name, role)
    app = create_app(config, store=store, env=env(), worker=False)
    yield Web(config, store, app, module_sandbox.url)
    store.close()


def upload(web: Web, rows: list[str]) -> str:
    """A batch of the job without approval, checked with Stripe by the worker."""
    client = web.signed_in("pat")
    csrf = token(client, "/batches")
    done = client.post(
        "/batches",
        data={"job": "fees", "csrf_token": csrf},
        files={"ledger": ("ledger.csv", ledger(rows, DIRECTED), "text/csv")},
    )
    assert done.status_code == 303, done.text
    batch_id = str(done.headers["location"]).rsplit("/", 1)[-1]
    assert web.work() >= 1  # the check with Stripe
    return batch_id


def plan_rows(page: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(account, direction) -> (available balance, balance check) as the plan table shows them."""
    table = page.split('id="groups"', 1)[1].split("</table>", 1)[0]
    out = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        out[(cells[0], cells[2].lower())] = (cells[7], " ".join(cells[8].split()))
    return out


def money(minor: int) -> str:
    return f"{minor / 100:,.2f}" if minor >= 0 else f"-{-minor / 100:,.2f}"


def test_the_plan_counts_credits_before_debits_and_never_shows_a_negative_shortfall(
    web: Web,
) -> None:
    short_has = balance_of(state(web.sandbox_url), SHORT)
    d_has = balance_of(state(web.sandbox_url), D)
    rows = [
        f"P-1,{SHORT},3000.00,usd,credit,covers the debit after it",
        f"P-2,{SHORT},{money(short_has + 200_000).replace(',', '')},usd,debit,covered",
        f"P-3,{D},{money(d_has + 2_039).replace(',', '')},usd,debit,short by 20.39",
        f"P-4,{D},100.00,usd,credit,too late to cover P-3",
    ]
    batch_id = upload(web, rows)
    pat = web.signed_in("pat")
    page = pat.get(f"/batches/{batch_id}").text
    shown = plan_rows(page)
    # the debit of SHORT is more than its balance, but the credit before it covers it
    assert shown[(SHORT, "debit")] == (money(short_has), "Covered")
    assert shown[(SHORT, "credit")] == (money(short_has), "paid by the platform")
    assert shown[(D, "debit")] == (
        money(d_has),
        "Short by 20.39: fails unless the platform's reserves cover it",
    )
    assert page.count("Short</span> by") == 1 and "by -" not in page

    # D is topped up, then the batch runs: every row succeeds
    make_client(web.sandbox_url).v1.transfers.create(
        {"amount": 200_000, "currency": "usd", "destination": D}
    )
    csrf = token(pat, f"/batches/{batch_id}")
    started = pat.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf})
    assert started.status_code == 303, started.text
    assert web.work() == 1
    progress = pat.get(f"{started.headers['location']}/progress").json()
    assert (progress["exit_code"], progress["succeeded"]) == (0, 4)

    # after the run, with the balances checked before it: nothing left, nothing short
    page = pat.get(f"/batches/{batch_id}").text
    shown = plan_rows(page)
    assert shown[(D, "debit")] == (money(d_has), "nothing left to send")
    assert shown[(SHORT, "debit")] == (money(short_has), "nothing left to send")
    assert "Short</span>" not in page and "by -" not in page
    assert "before the last run" in page

    # checked again: every group shows the balance Stripe holds now, though nothing is left
    assert pat.post(f"/batches/{batch_id}/check", data={"csrf_token": csrf}).status_code == 303
    assert web.work() == 1
    page = pat.get(f"/batches/{batch_id}").text
    shown = plan_rows(page)
    now = state(web.sandbox_url)
    assert balance_of(now, D) == d_has + 200_000 - (d_has + 2_039) + 10_000
    assert shown[(D, "debit")][0] == money(balance_of(now, D)) == shown[(D, "credit")][0]
    assert shown[(SHORT, "debit")][0] == money(balance_of(now, SHORT))
    assert "Short</span>" not in page and "before the last run" not in page


def figures(page: str) -> dict[str, int]:
    found = {}
    for name in ("p-done", "p-total", "p-succeeded", "p-failed", "p-unknown"):
        match = re.search(rf'id="{name}">([\d,]+)<', page)
        assert match is not None, name
        found[name.removeprefix("p-")] = int(match.group(1).replace(",", ""))
    return found


def test_a_reversals_page_counts_its_reversals(web: Web) -> None:
    rows = [f"RV-{n},{A},{n}.00,usd,debit,to reverse" for n in range(1, 6)]
    batch_id = upload(web, rows)
    pat = web.signed_in("pat")
    csrf = token(pat, f"/batches/{batch_id}")
    assert pat.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf}).status_code == 303
    assert web.work() == 1
    ada = web.signed_in("ada")
    csrf = token(ada, f"/batches/{batch_id}")
    chosen = {"csrf_token": csrf, "scope": "all", "reason": "refund"}
    dry = ada.post(f"/batches/{batch_id}/reverse", data={**chosen, "mode": "dry_run"})
    assert dry.status_code == 303
    assert web.work() == 1
    page = ada.get(dry.headers["location"]).text
    assert figures(page) == {"done": 5, "total": 5, "succeeded": 0, "failed": 0, "unknown": 0}
    done = ada.post(f"/batches/{batch_id}/reverse", data={**chosen, "mode": "reverse"})
    assert done.status_code == 303
    assert web.work() == 1
    page = ada.get(done.headers["location"]).text
    assert page.count('<span class="badge b-green">Succeeded</span>') == 5  # the five listed
    assert figures(page) == {"done": 5, "total": 5, "succeeded": 5, "failed": 0, "unknown": 0}
    progress = ada.get(f"{done.headers['location']}/progress").json()
    assert (progress["done"], progress["rows"], progress["succeeded"]) == (5, 5, 5)
    assert progress["finished"] and progress["exit_code"] == 0
    # a reversal finished by a version that kept no figures for it: the page counts its lines
    work_id = done.headers["location"].rsplit("/", 1)[-1]
    web.store.update_work(work_id, progress={})
    page = ada.get(done.headers["location"]).text
    assert figures(page) == {"done": 5, "total": 5, "succeeded": 5, "failed": 0, "unknown": 0}
