"""The run report in real headless Chromium: what a reader sees on screen, what sorting does, and
what the browser prints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page

from ledgerrun.output.html import write_report
from ledgerrun.summary import ControlTotal
from tests.test_report import EVIL, MIXED, make_run, mixed_outcomes, write_reversals

CONTROL = ControlTotal(row=22, stated="9,144.34", computed="9,144.34", currency="usd",
                           matches=True)  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    run = make_run(folder, MIXED, mixed_outcomes(), exit_code=3, mode="live",
                   control_total=CONTROL)  # fmt: skip
    write_reversals(
        run.results, [["2", "u0", "tr_0", "trr_1", "60.00", "usd", "succeeded", "", ""]]
    )
    return write_report(run.results, run.summary, run.table)


@pytest.fixture
def opened(page: Page, report: Path) -> Iterator[Page]:
    """The report, opened; fails the test on a script error, a dialog or any request but the
    page itself."""
    errors: list[str] = []
    requests: list[str] = []

    def refused(dialog: Dialog) -> None:
        errors.append(dialog.message)
        dialog.dismiss()

    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", refused)
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report.as_uri())
    yield page
    assert errors == []
    assert requests == [report.as_uri()]  # nothing loaded from anywhere else


def column(page: Page, index: int) -> list[str]:
    cells = page.locator(f"#account-table tbody tr td:nth-child({index})")
    return [text.strip() for text in cells.all_inner_texts()]


def style(page: Page, selector: str, prop: str, pseudo: str | None = None) -> str:
    value: str = page.eval_on_selector(
        selector, "(el, [p, pseudo]) => getComputedStyle(el, pseudo).getPropertyValue(p)",
        [prop, pseudo],
    )  # fmt: skip
    return value


def test_the_banner_the_verdict_and_the_control_total_are_shown(opened: Page) -> None:
    banner = opened.locator("#mode")
    assert banner.is_visible()
    assert banner.locator(".mode-label").inner_text() == "LIVE"  # uppercased by CSS, too
    assert style(opened, "#mode", "background-color") == "rgb(180, 35, 24)"  # red
    assert banner.bounding_box()["y"] == 0  # type: ignore[index]  # the top of the page
    assert "Incomplete" in opened.locator("#verdict .tag").inner_text().title()
    control = opened.locator("#control-total")
    assert control.is_visible()
    assert control.locator(".tag").inner_text() == "MATCHES"  # text-transform: uppercase
    assert "states 9,144.34 USD; the rows add up to 9,144.34 USD" in control.inner_text()


def test_the_account_table_is_visible_with_every_account(opened: Page) -> None:
    table = opened.locator("#account-table")
    assert table.is_visible()
    assert table.locator("tbody tr").count() == 17
    accounts = column(opened, 1)
    assert accounts == sorted(accounts) and "acct_1U12" in accounts and "acct_1S00" in accounts
    assert style(opened, "#account-table thead th", "position") == "sticky"
    requested = opened.locator('#account-table tr[data-account="acct_1U05"] td:nth-child(5)')
    assert requested.inner_text() == "612.34"
    assert style(opened, '#account-table tr[data-account="acct_1U05"] td:nth-child(5)',
                 "text-align") == "right"  # fmt: skip
    # the hostile adjustment id is shown as text, and nothing ran
    assert EVIL in opened.locator("#rows-failed").inner_text()


def test_clicking_a_header_sorts_the_accounts(opened: Page) -> None:
    header = opened.locator("#account-table thead th", has_text="requested")
    header.click()
    assert header.get_attribute("aria-sort") == "descending"  # the largest amounts first
    first = column(opened, 1)[:2]
    assert first == ["acct_1J00", "acct_1U12"]  # 5,000 JPY, then 1,350.00 USD
    cells = opened.locator("#account-table tbody td:nth-child(5)")
    values = [float(v) for v in cells.evaluate_all("cells => cells.map(c => c.dataset.value)")]
    assert values == sorted(values, reverse=True)
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    values = [float(v.replace(",", "")) for v in column(opened, 5)]
    assert values == sorted(values)
    account = opened.locator("#account-table thead th", has_text="Account")
    assert account.get_attribute("aria-sort") is None
    account.locator("button.sort").click()  # the button, or anywhere in the header
    assert account.get_attribute("aria-sort") == "ascending"  # text: A to Z first
    assert header.get_attribute("aria-sort") is None
    accounts = column(opened, 1)
    assert accounts == sorted(accounts)
    account.click()
    assert column(opened, 1) == sorted(accounts, reverse=True)


def test_print_rules_apply(opened: Page) -> None:
    assert opened.locator("#account-table button.sort").first.is_visible()
    opened.emulate_media(media="print")
    assert opened.locator("#account-table button.sort").first.is_hidden()
    assert style(opened, "#account-table thead", "display") == "table-header-group"
    assert style(opened, "#account-table tbody tr", "break-inside") == "avoid"
    assert style(opened, "#rows-failed tbody.item", "break-inside") == "avoid"
    assert style(opened, "body", "background-color") == "rgb(255, 255, 255)"
    # the banner stays, in ink: white, with a thick red border
    assert opened.locator("#mode").is_visible()
    assert style(opened, "#mode", "background-color") == "rgb(255, 255, 255)"
    assert style(opened, "#mode", "border-top-color") == "rgb(180, 35, 24)"
    # the whole SHA-256 is printed; a link shows where it goes unless its text says so already
    assert opened.locator("#details .print-full").first.is_visible()
    assert opened.locator("#details .cut").first.is_hidden()
    assert style(opened, "footer a.file", "content", "::after") in ("none", "normal")


def test_a_link_prints_its_target(opened: Page) -> None:
    link = "#reversals .note a"
    assert opened.locator(link).inner_text() == "the reversals file"
    assert style(opened, link, "content", "::after") in ("none", "normal")
    opened.emulate_media(media="print")
    assert style(opened, link, "content", "::after") == '" (run.results.reversals.csv)"'


def test_the_page_makes_sense_without_its_script(browser: Browser, report: Path) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(report.as_uri())
        assert page.locator("#account-table button").count() == 0
        accounts = column(page, 1)
        assert len(accounts) == 17 and accounts == sorted(accounts)
        assert page.locator("#verdict").is_visible()
    finally:
        context.close()


def test_printing_to_pdf_makes_a4_pages(opened: Page) -> None:
    pdf = opened.pdf(prefer_css_page_size=True)  # the page's own @page size
    assert pdf.startswith(b"%PDF")
    boxes = set(re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf))
    assert [(round(float(w)), round(float(h))) for w, h in boxes] == [(595, 842)]  # A4, points
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2  # the report runs over pages
