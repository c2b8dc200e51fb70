"""Search and filters: batches by status, uploader, job, file name and date; rows of a ledger and
of a run's results by account, id and amount; the audit trail by user, action, batch and date,
and its CSV export, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from ledgerrun.store import open_store
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from tests.web.site import GOOD_ROWS, add_user, env, ledger, make_site
from tests.web.test_app import Web, decide, new_batch, signin, token, upload


@pytest.fixture(scope="module")
def web(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    folder = tmp_path_factory.mktemp("search")
    config = load_config(make_site(folder, module_sandbox.url))
    store = open_store(config.store)
    for name, role in (("pat", "preparer"), ("quinn", "preparer"), ("ada", "approver")):
        add_user(store, name, role)
    yield Web(config, store, create_app(config, store=store, env=env(), worker=False),
              module_sandbox.url)  # fmt: skip
    store.close()


@pytest.fixture(scope="module")
def batches(web: Web) -> dict[str, str]:
    """Three batches: pat's November payouts (approved), quinn's December fees, pat's bad one."""
    made = {}
    client = web.signed_in("pat")
    answer = upload(client, "payouts", "November payouts.csv",
                    ledger([r.replace("W-", "SN-") for r in GOOD_ROWS]))  # fmt: skip
    made["november"] = answer.headers["location"].rsplit("/", 1)[-1]
    answer = upload(web.signed_in("quinn"), "fees", "December fees.csv",
                    ledger([r.replace("W-", "SD-") for r in GOOD_ROWS]))  # fmt: skip
    made["december"] = answer.headers["location"].rsplit("/", 1)[-1]
    made["bad"] = new_batch(web, ["SB-1,not-an-account,5,usd,,Fees,INV-3"], job="payouts")
    web.work()
    assert decide(web.signed_in("ada"), made["november"], "approve").status_code == 303
    return made


def listed(web: Web, query: str) -> set[str]:
    page = web.signed_in("ada").get("/batches?" + query)
    assert page.status_code == 200
    return set(re.findall(r'<a href="/batches/([\w-]+)">', page.text))


def test_batches_are_found_by_status_uploader_job_and_file_name(
    web: Web, batches: dict[str, str]
) -> None:
    everything = set(batches.values())
    assert listed(web, "") == everything
    assert listed(web, "status=approved") == {batches["november"]}
    assert listed(web, "status=problems") == {batches["bad"]}
    assert listed(web, "status=waiting") == {batches["december"]}  # fees: ready to run
    assert listed(web, "uploader=quinn") == {batches["december"]}
    assert listed(web, "job=fees") == {batches["december"]}
    assert listed(web, "file=NOVEMBER") == {batches["november"]}
    assert listed(web, "uploader=pat&status=approved") == {batches["november"]}
    page = web.signed_in("ada").get("/batches?job=fees").text
    assert "Only batches of job <strong>fees</strong>" in page and "1 batch." in page
    assert "No batch matches this search." in web.signed_in("ada").get("/batches?file=zzz").text


def test_batches_are_found_by_upload_date_in_the_viewers_time_zone(
    web: Web, batches: dict[str, str]
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    everything = set(batches.values())
    assert listed(web, f"from={today}&to={today}&tz=UTC") == everything
    assert listed(web, f"from={today + dt.timedelta(days=2)}") == set()
    assert listed(web, f"to={today - dt.timedelta(days=2)}&tz=Pacific/Auckland") == set()
    refused = web.signed_in("ada").get("/batches?from=30/11/2026")
    assert "Dates are days such as 2026-11-30." in refused.text


def grid_rows(page: str) -> list[str]:
    return re.findall(r'<tr data-row="(\d+)"', page)


def test_ledger_rows_are_found_by_account_id_and_amount(web: Web, batches: dict[str, str]) -> None:
    client = web.signed_in("ada")
    path = f"/batches/{batches['november']}"
    assert grid_rows(client.get(path).text) == ["2", "3", "4", "5"]
    assert grid_rows(client.get(path + "?account=connaa").text) == ["2", "3"]
    assert grid_rows(client.get(path + "?id=sn-4").text) == ["5"]
    assert grid_rows(client.get(path + "?min=7.25&max=1%2C000.50").text) == ["2", "3", "5"]
    assert grid_rows(client.get(path + "?min=10.01").text) == ["3"]
    page = client.get(path + "?min=ten").text
    assert "Not an amount: &#39;ten&#39;" in page and grid_rows(page) == ["2", "3", "4", "5"]
    assert "1 row shown" in client.get(path + "?id=SN-4").text


def test_the_grid_shows_amounts_with_thousands_separators(
    web: Web, batches: dict[str, str]
) -> None:
    page = web.signed_in("ada").get(f"/batches/{batches['november']}").text
    assert '<td data-column="amount">1,000.50</td>' in page


def test_a_runs_results_are_found_by_account_and_amount(web: Web, batches: dict[str, str]) -> None:
    client = web.signed_in("quinn")
    batch_id = batches["december"]
    csrf = token(client, f"/batches/{batch_id}")
    started = client.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf})
    web.work()
    work = started.headers["location"]
    results = client.get(work + "?account=acct_1ConnAA&min=100").text
    assert re.findall(r'<td class="mono">(SD-\d)</td>', results) == ["SD-2"]
    assert "1 row." in results
    both = client.get(work + "?status=succeeded&id=sd-3").text
    assert re.findall(r'<td class="mono">(SD-\d)</td>', both) == ["SD-3"]


def test_the_audit_trail_is_filtered_and_exported_as_safe_csv(
    web: Web, batches: dict[str, str]
) -> None:
    attacker = web.client()
    signin(attacker, '=HYPERLINK("http://evil.example")', "guess")
    ada = web.signed_in("ada")
    page = ada.get(f"/audit?batch={batches['november']}").text
    actions = set(re.findall(r'<tr class="a-(\w+)">', page))
    assert actions == {"upload", "approve", "check_end"}
    refused = ada.get("/audit?action=sign_in_failed").text
    assert set(re.findall(r'<tr class="a-(\w+)">', refused)) == {"sign_in_failed"}
    exported = ada.get("/audit.csv?action=sign_in_failed")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["user"] for r in rows] == ['\'=HYPERLINK("http://evil.example")']
    assert rows[0]["what"] == "Sign-in failed" and rows[0]["at_utc"].endswith("Z")
    by_user = list(csv.DictReader(io.StringIO(ada.get("/audit.csv?user=quinn").text)))
    assert {r["action"] for r in by_user} >= {"sign_in", "upload"}
    assert {r["user"] for r in by_user} == {"quinn"}
    assert web.client().get("/audit.csv").status_code == 401
    (export,) = [e for e in web.store.audit_events(limit=20) if e.action == "audit_export"][-1:]
    assert export.user == "ada"
