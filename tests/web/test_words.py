"""Finance's words and true numbers on every page: how a run ended, control totals never passed
off across currencies, a mistyped account id said as such, a totals line that was not taken for
one, the report of a web run naming its people and file, "1 row", and no flags or exit codes
except as details."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest

from ledgerrun.store import open_store
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from tests.web.site import GOOD_ROWS, add_user, env, ledger, make_site
from tests.web.test_app import Web, new_batch, token, upload

SHORT = "acct_1ConnHA000007"  # 4,355.81 USD: a debit of 9,999.00 fails for balance


@pytest.fixture(scope="module")
def web(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    folder = tmp_path_factory.mktemp("words")
    config = load_config(make_site(folder, module_sandbox.url))
    (folder / "jobs" / "consents.csv").write_text(
        "account,reference,granted_at\nacct_1ConnAA000000,C-1,2026-01-01\n", encoding="utf-8"
    )
    (folder / "jobs" / "consented.toml").write_text(
        '[job]\nname = "consented"\nledger = "unused.csv"\n\n[consent]\nregistry = "consents.csv"\n'
        f'\n[stripe]\napi_base = "{module_sandbox.url}"\n',
        encoding="utf-8",
    )
    store = open_store(config.store)
    add_user(store, "pat", "preparer")
    add_user(store, "ada", "approver")
    yield Web(config, store, create_app(config, store=store, env=env(), worker=False),
              module_sandbox.url)  # fmt: skip
    store.close()


def text_of(html: str) -> str:
    """A page's words as a person reads them (tags and attributes left out)."""
    body = html.split("<main>", 1)[-1]
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def ran(web: Web, rows: list[str], name: str = "november.csv") -> tuple[str, str]:
    """A batch of job fees (no approval), run; its id and its run's page."""
    client = web.signed_in("pat")
    answer = upload(client, "fees", name, ledger(rows))
    batch_id = answer.headers["location"].rsplit("/", 1)[-1]
    web.work()
    csrf = token(client, f"/batches/{batch_id}")
    started = client.post(f"/batches/{batch_id}/run", data={"csrf_token": csrf})
    assert started.status_code == 303
    web.work()
    return batch_id, started.headers["location"]


def test_a_run_with_failed_rows_says_so_in_the_list_and_on_its_page(web: Web) -> None:
    rows = ["WF-1,acct_1ConnAA000000,1.00,usd,,ok,1", f"WF-2,{SHORT},9999.00,usd,,short,2"]
    batch_id, work = ran(web, rows)
    client = web.signed_in("pat")
    listed = text_of(client.get("/batches").text)
    assert "Run finished: some rows failed" in listed
    page = text_of(client.get(work).text)
    assert "Some rows failed at Stripe for good" in page and "exit code 1" in page
    assert "1 Failed" in page and "Run did not finish" not in page  # a row's status, in words
    for cli_word in ("--", "exit 1:", "amount_minor"):
        assert cli_word not in page and cli_word not in listed, cli_word
    batch_page = text_of(client.get(f"/batches/{batch_id}").text)
    assert "(exit code 1)" in batch_page and "exit 1:" not in batch_page


def test_the_report_of_a_web_run_names_its_user_and_file_and_links_the_download(web: Web) -> None:
    _, work = ran(web, [r.replace("W-", "RP-") for r in GOOD_ROWS], name="Payroll Nov.csv")
    client = web.signed_in("ada")
    report = client.get(f"{work}/report").text
    words = text_of(report)
    assert re.search(r"Ran by\s+pat\b", words) and "@" not in words.split("Ran by", 1)[1][:30]
    assert "Payroll Nov.csv" in words
    links = set(re.findall(r'href="([^"#]+)"', report))
    assert links == {"results.csv"}  # beside the report: the results' download
    assert client.get(f"{work}/results.csv").status_code == 200


def test_a_control_total_across_currencies_is_never_said_to_match(web: Web) -> None:
    rows = ["X-1,acct_1ConnAA000000,100.00,usd,,a,1", "X-2,acct_1ConnBA000001,50.00,eur,,b,2",
            "Total,,150.00,,,,"]  # fmt: skip
    batch_id = new_batch(web, rows, job="fees")
    page = web.signed_in("pat").get(f"/batches/{batch_id}").text
    control = text_of(re.search(r'<dd id="control-total">.*?</dd>', page, re.S).group(0))  # type: ignore[union-attr]
    assert "Across currencies" in control and "Matches" not in control
    assert "USD debits 100.00, credits 0.00" in control and "EUR debits 50.00" in control
    one = new_batch(web, [r.replace("X-", "Y-") for r in rows[:1]] + ["Total,,100.00,usd,,,"],
                    job="fees")  # fmt: skip
    page = web.signed_in("pat").get(f"/batches/{one}").text
    control = text_of(re.search(r'<dd id="control-total">.*?</dd>', page, re.S).group(0))  # type: ignore[union-attr]
    assert "Matches" in control and "USD debits 100.00, credits 0.00." in control


def test_a_mistyped_account_id_is_said_to_be_one_not_no_consent(web: Web) -> None:
    rows = ["MT-1,acct_1ConnAA00000O,10.00,usd,,typo,1"]  # an O for the last 0
    batch_id = new_batch(web, rows, job="consented")
    page = web.signed_in("pat").get(f"/batches/{batch_id}").text
    cell = text_of(re.search(r'<tr data-row="2".*?</tr>', page, re.S).group(0))  # type: ignore[union-attr]
    assert "probably a mistyped account id" in cell and "acct_1ConnAA000000 is" in cell
    assert "bad account" in cell and "no consent" not in cell


def test_a_label_that_is_not_total_gets_one_hint_not_empty_values(web: Web) -> None:
    rows = ["H-1,acct_1ConnAA000000,100.00,usd,,a,1", "Subtotal,,100.00,,,,"]
    batch_id = new_batch(web, rows, job="fees")
    page = web.signed_in("pat").get(f"/batches/{batch_id}").text
    row = text_of(re.search(r'<tr data-row="3".*?</tr>', page, re.S).group(0))  # type: ignore[union-attr]
    assert "This looks like a totals line (“Subtotal”)" in row
    assert "empty value" not in row


def test_counts_take_their_nouns_right(web: Web) -> None:
    batch_id = new_batch(web, ["P-1,acct_1ConnAA000000,1000.00,usd,,one,1"], job="fees")
    page = text_of(web.signed_in("pat").get(f"/batches/{batch_id}").text)
    assert "1 row without problems" in page and "1 row shown" in page
    assert "1 rows" not in page
    assert "1,000.00" in page  # the grid's figure, with its thousands separator
