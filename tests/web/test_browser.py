"""The web application in a real browser (headless Chromium through Playwright), served by
``ledgerrun serve`` in its own process, against the sandbox over HTTP.

One server and one browser; the steps run in order, as a preparer and an approver would work:
a signed-out visitor, a ledger with problems, the fixed ledger, the approval, the run, the
downloads, a reversal. Money is checked in the sandbox's own books.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api as playwright_api

from tests.helpers.constants import KEY
from tests.helpers.sandbox import debits
from tests.helpers.sandbox import sandbox_state as state
from tests.web.site import (
    BAD_ROWS,
    GOOD_ROWS,
    PASSWORD,
    cli_add_user,
    ledger,
    make_site,
    start_server,
    stop_server,
    xlsx_rows,
)
from tools.chromium import CHROMIUM, launch

pytestmark = pytest.mark.slow


@dataclass
class Site:
    url: str
    folder: Path
    log: Path
    sandbox_url: str
    browser: Any
    notes: dict[str, Any] = field(default_factory=dict)

    def page(self, user: str | None = None) -> Any:
        """A page in a fresh browser context (its own cookies), signed in as ``user``."""
        context = self.browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        if user is not None:
            page.goto(self.url + "/signin")
            page.get_by_label("Username").fill(user)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(re.compile(r".*/batches$"))
        return page


@pytest.fixture(scope="module")
def site(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser-site")
    config = make_site(folder, module_sandbox.url)
    cli_add_user(config, "pat", "preparer")
    cli_add_user(config, "ada", "approver")
    cli_add_user(config, "bob", "approver")
    log = folder / "serve.log"
    if not CHROMIUM.exists():  # a fresh machine: Debian's chromium, never a download
        script = Path(__file__).resolve().parents[2] / "tools" / "ensure_chromium.sh"
        subprocess.run(["sh", str(script)], check=True, timeout=900)
    process, url = start_server(config, log)
    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        try:
            yield Site(url, folder, log, module_sandbox.url, browser)
        finally:
            browser.close()
            stop_server(process)


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def step_a_signed_out_visitor_sees_no_page_and_no_download(site: Site) -> None:
    page = site.page()
    page.goto(site.url + "/batches")
    assert page.url.startswith(site.url + "/signin?next=")
    assert page.get_by_role("button", name="Sign in").is_visible()
    direct = page.request.get(site.url + "/batches", max_redirects=0)
    assert direct.status == 302 and direct.headers["location"].startswith("/signin")
    assert page.request.get(site.url + "/work/1-a/results.csv").status == 401
    assert page.request.get(site.url + "/work/1-a/results.xlsx").status == 401
    page.context.close()


def step_sign_out_ends_the_session_and_a_saved_cookie_opens_nothing(site: Site) -> None:
    page = site.page("pat")
    saved = page.context.cookies()
    assert any(c["name"] == "ledgerrun_session" for c in saved)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/signin$"))
    page.context.close()
    replayed = site.browser.new_context()
    replayed.add_cookies(saved)  # a copy of the cookie kept from before the sign-out
    again = replayed.new_page()
    again.goto(site.url + "/batches")
    assert again.url.startswith(site.url + "/signin?next=")
    assert again.request.get(site.url + "/work/1-a/results.csv").status == 401
    replayed.close()


def step_the_preparer_sees_each_problem_on_its_cell(site: Site) -> None:
    page = site.page("pat")
    page.get_by_label("Job").select_option("payouts")
    page.get_by_label("Ledger file").set_input_files(
        str(write(site.folder, "november.csv", ledger(BAD_ROWS)))
    )
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r".*/batches/[\w-]+$"))
    assert page.locator("#batch-status").inner_text() == "Has problems"
    amount = page.locator('tr[data-row="3"] td.bad[data-column="amount"]')
    assert "ten" in amount.inner_text() and "bad amount" in amount.inner_text()
    account = page.locator('tr[data-row="4"] td.bad[data-column="account"]')
    assert "not-an-account" in account.inner_text() and "bad account" in account.inner_text()
    assert page.locator('tr[data-row="2"] td.bad').count() == 0
    # the description's markup is shown as text, not run as HTML
    assert "<b>November</b>" in page.locator('tr[data-row="2"]').inner_text()
    page.get_by_label("Only rows with problems").check()  # the page's script submits the filter
    page.wait_for_url(re.compile(r".*only=problems.*"))
    rows = page.locator("#ledger-rows tbody tr")
    assert [rows.nth(i).get_attribute("data-row") for i in range(rows.count())] == ["3", "4"]
    page.context.close()


def step_the_preparer_uploads_the_fixed_ledger_and_cannot_approve_it(site: Site) -> None:
    page = site.page("pat")
    page.get_by_label("Job").select_option("payouts")
    page.get_by_label("Ledger file").set_input_files(
        str(write(site.folder, "november-fixed.csv", ledger(GOOD_ROWS)))
    )
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r".*/batches/[\w-]+$"))
    page.wait_for_selector("#batch-status")
    assert page.locator("#batch-status").inner_text() == "Ready for approval"
    site.notes["batch"] = page.url
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.get_by_role("button", name="Run").count() == 0
    # a forged approval, with this user's own valid CSRF token, is refused all the same
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    forged = page.request.post(page.url + "/approve", form={"csrf_token": csrf or ""})
    assert forged.status == 403
    # and a POST without the token is refused whoever sends it
    assert page.request.post(page.url + "/run", form={}).status == 403
    page.context.close()


def step_the_approver_approves_and_the_batch_runs_with_progress_to_the_end(site: Site) -> None:
    page = site.page("ada")
    page.goto(site.notes["batch"])
    # the plan: the worker has checked the balances with Stripe in the meantime
    playwright_api.expect(page.locator("#plan")).to_contain_text("1,022.75")
    assert page.get_by_role("button", name="Run").count() == 0
    page.get_by_role("button", name="Approve").click()
    page.wait_for_selector("#batch-status")
    assert page.locator("#batch-status").inner_text() == "Approved"
    page.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r".*/work/[\w-]+$"))
    site.notes["work"] = page.url
    # the page polls its progress and reloads itself once the run has finished
    page.wait_for_selector("text=Download results (CSV)", timeout=60_000)
    assert page.locator("#p-done").inner_text() == "4"
    assert page.locator("#p-total").inner_text() == "4"
    assert page.locator("#p-succeeded").inner_text() == "4"
    assert "every row succeeded" in page.locator("#p-note").inner_text()
    page.reload()  # what the page shows survives a reload: it lives in the store
    assert page.locator("#p-done").inner_text() == "4"
    assert debits(state(site.sandbox_url), "payouts") == {f"W-{i}": 1 for i in range(1, 5)}
    page.context.close()


def step_results_download_as_csv_and_xlsx_and_agree(site: Site) -> None:
    page = site.page("pat")
    page.goto(site.notes["work"])
    with page.expect_download() as first:
        page.get_by_role("link", name="Download results (CSV)").click()
    with page.expect_download() as second:
        page.get_by_role("link", name="Download results (XLSX)").click()
    as_csv = Path(first.value.path()).read_text(encoding="utf-8")
    assert first.value.suggested_filename.endswith(".results.csv")
    assert second.value.suggested_filename.endswith(".results.xlsx")
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    sheet = xlsx_rows(Path(second.value.path()).read_bytes())
    assert [r["status"] for r in rows] == ["succeeded"] * 4
    key = ("adjustment_id", "account", "status", "transfer_id")
    assert [tuple(r[k] for k in key) for r in rows] == [tuple(r[k] for k in key) for r in sheet]
    assert KEY not in as_csv
    # the results table filters by status
    page.get_by_label("Status").select_option("failed")
    page.wait_for_url(re.compile(r".*status=failed.*"))
    assert page.locator("#result-rows tbody tr").count() == 0
    page.context.close()


def step_a_reversal_from_the_page_is_exactly_once(site: Site) -> None:
    def books() -> dict[str, tuple[int, int]]:
        return {
            t["metadata"]["ledgerrun_adjustment_id"]: (t["amount_reversed"],
                                                       len(t["reversals"]["data"]))
            for t in state(site.sandbox_url)["transfers"]
            if t["metadata"].get("ledgerrun_job") == "payouts"
        }  # fmt: skip

    page = site.page("ada")
    page.goto(site.notes["batch"] + "#reverse")
    # every succeeded row, with an id typed: refused, never the wider choice
    page.get_by_label("Adjustment ids (one per line)").fill("W-3")
    page.get_by_label("Every succeeded row of this batch").check()
    page.get_by_role("button", name="Dry run").click()
    playwright_api.expect(page.locator("main")).to_contain_text("also typed 1 adjustment id")
    assert books()["W-3"] == (0, 0)
    # the form as it comes: the typed ids, and only they
    page.goto(site.notes["batch"] + "#reverse")
    assert page.get_by_label("Only these adjustment ids").is_checked()
    page.get_by_label("Adjustment ids (one per line)").fill("W-3")
    page.get_by_label("Reason").fill("charged twice")
    page.get_by_role("button", name="Dry run").click()
    page.wait_for_url(re.compile(r".*/work/[\w-]+$"))
    page.wait_for_selector("#reversal-lines", timeout=60_000)
    lines = page.locator("#reversal-lines tbody tr")
    assert lines.count() == 1 and "W-3" in lines.first.inner_text()  # W-3 alone, not all four
    assert books()["W-3"] == (0, 0)  # a dry run reverses nothing
    page.goto(site.notes["batch"] + "#reverse")
    page.get_by_role("button", name="Reverse").click()
    page.wait_for_url(re.compile(r".*/work/[\w-]+$"))
    playwright_api.expect(page.locator("#reversal-lines")).to_contain_text(
        "Succeeded", timeout=60_000
    )
    assert books() == {"W-1": (0, 0), "W-2": (0, 0), "W-3": (500, 1), "W-4": (0, 0)}
    # the page offers no second Reverse of it, and a forged one is refused
    page.goto(site.notes["batch"])
    assert page.get_by_role("button", name="Reverse").count() == 0
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value") or ""
    forged = page.request.post(
        site.notes["batch"] + "/reverse",
        form={"csrf_token": csrf, "scope": "chosen", "ids": "W-3", "reason": "charged twice",
              "mode": "reverse"},
    )  # fmt: skip
    assert forged.status == 409
    assert books()["W-3"] == (500, 1)
    page.context.close()


def step_two_approvers_above_the_rules_amount_before_the_run(site: Site) -> None:
    """Job treasury: two approvers above 100.00 USD. One approval sends nothing."""
    page = site.page("pat")
    page.get_by_label("Job").select_option("treasury")
    rows = [r.replace("W-", "TR-") for r in GOOD_ROWS]  # 1,022.75 USD
    page.get_by_label("Ledger file").set_input_files(
        str(write(site.folder, "treasury.csv", ledger(rows)))
    )
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r".*/batches/[\w-]+$"))
    batch = page.url
    playwright_api.expect(page.locator("#approval-policy")).to_contain_text("2 approvers")
    page.context.close()

    ada = site.page("ada")
    ada.goto(batch)
    ada.get_by_label("Comment").fill("Matches the treasury sheet")
    ada.get_by_role("button", name="Approve").click()
    playwright_api.expect(ada.locator("#approval-waiting")).to_contain_text(
        "Needs 1 more approval (1 of 2)"
    )
    assert ada.get_by_role("button", name="Run").count() == 0
    assert ada.get_by_role("button", name="Approve").count() == 0  # not twice by one person
    csrf = ada.locator('input[name="csrf_token"]').first.get_attribute("value") or ""
    assert ada.request.post(batch + "/run", form={"csrf_token": csrf}).status == 409
    assert "TR-1" not in debits(state(site.sandbox_url), "treasury")
    ada.context.close()

    bob = site.page("bob")
    bob.goto(batch)
    bob.get_by_role("button", name="Approve").click()
    playwright_api.expect(bob.locator("#batch-status")).to_have_text("Approved")
    bob.get_by_role("button", name="Run").click()
    bob.wait_for_url(re.compile(r".*/work/[\w-]+$"))
    bob.wait_for_selector("text=Download results (CSV)", timeout=60_000)
    assert debits(state(site.sandbox_url), "treasury") == {f"TR-{i}": 1 for i in range(1, 5)}
    bob.context.close()


def step_times_are_shown_in_the_viewers_time_zone(site: Site) -> None:
    context = site.browser.new_context(timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    page.goto(site.url + "/signin")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/batches$"))
    first = page.locator("#batch-count ~ div time").first
    playwright_api.expect(first).to_have_class(re.compile("local"))
    assert re.search(r"\b(EST|EDT)\b", first.inner_text()), first.inner_text()
    assert (first.get_attribute("title") or "").endswith("UTC")  # the UTC moment, kept
    context.close()


def step_the_stripe_key_is_in_no_page_or_log(site: Site) -> None:
    page = site.page("ada")
    for path in ("/batches", site.notes["batch"], site.notes["work"], "/audit"):
        page.goto(path if path.startswith("http") else site.url + path)
        assert KEY not in page.content()
    audit = page.locator("#audit").inner_text()
    for action in ("Signed in", "Uploaded", "Approved", "Run started"):
        assert action in audit
    page.context.close()
    assert KEY not in site.log.read_text(encoding="utf-8", errors="replace")


def test_a_batch_from_upload_to_reversal_in_the_browser(site: Site) -> None:
    """The steps in order, as one test: they build on each other (and so must not be spread
    over several test processes)."""
    step_a_signed_out_visitor_sees_no_page_and_no_download(site)
    step_sign_out_ends_the_session_and_a_saved_cookie_opens_nothing(site)
    step_the_preparer_sees_each_problem_on_its_cell(site)
    step_the_preparer_uploads_the_fixed_ledger_and_cannot_approve_it(site)
    step_the_approver_approves_and_the_batch_runs_with_progress_to_the_end(site)
    step_results_download_as_csv_and_xlsx_and_agree(site)
    step_a_reversal_from_the_page_is_exactly_once(site)
    step_two_approvers_above_the_rules_amount_before_the_run(site)
    step_times_are_shown_in_the_viewers_time_zone(site)
    step_the_stripe_key_is_in_no_page_or_log(site)
