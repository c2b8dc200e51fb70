"""The web upload reads finance's exports the way the command line does (issue 23): the same
job file's [columns] and [ledger] settings, through the same preparation, so a NetSuite CSV or a
QuickBooks workbook uploaded as exported shows the same rows, problems and control total."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest

from ledgerrun.ingest.validate import check
from ledgerrun.jobfile import load_target
from ledgerrun.store import open_store
from ledgerrun.web.app import create_app
from ledgerrun.web.config import load_config
from tests.helpers.constants import JOBS, RUN_DATE, SAMPLES
from tests.web.site import add_user, env, make_site
from tests.web.test_app import Web, upload

EXPORTS = SAMPLES / "exports"
CASES = [
    ("netsuite", "netsuite-adjustments", "netsuite_saved_search.csv"),
    ("quickbooks", "quickbooks-journal", "quickbooks_journal.xlsx"),
    ("xero", "xero-transactions", "xero_transactions.csv"),
    ("german_excel", "german-excel", "german_excel.csv"),
    ("daily_sheet", "daily-fees", "daily_sheet_reexported.csv"),
]


@pytest.fixture(scope="module")
def site(module_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    folder = tmp_path_factory.mktemp("exports-site")
    config = load_config(make_site(folder, module_sandbox.url))
    for job, _, _ in CASES:  # the shipped job files, pointed at the test's sandbox
        text = (JOBS / f"{job}.toml").read_text(encoding="utf-8")
        text = text.replace(
            'sandbox = "../data_samples/accounts.json"', f'api_base = "{module_sandbox.url}"'
        )
        (config.jobs / f"{job}.toml").write_text(text, encoding="utf-8")
    store = open_store(config.store)
    add_user(store, "pat", "preparer")
    app = create_app(config, store=store, env=env(), worker=False)
    yield Web(config, store, app, module_sandbox.url)
    store.close()


@pytest.mark.parametrize(("job", "name", "file"), CASES, ids=[c[0] for c in CASES])
def test_an_upload_is_read_as_the_command_line_reads_it(
    site: Web, job: str, name: str, file: str
) -> None:
    expected = check(load_target(JOBS / f"{job}.toml", RUN_DATE).replace(ledger=EXPORTS / file))
    assert expected.ok, expected.problems
    client = site.signed_in("pat")
    answer = upload(client, name, file, (EXPORTS / file).read_bytes())
    assert answer.status_code == 303, answer.text
    page = html.unescape(client.get(answer.headers["location"]).text)
    assert "Has problems" not in page
    rows = re.findall(r'<tr data-row="(\d+)"', page)
    assert [int(r) for r in rows] == expected.ledger.rows.to_pylist()
    line = expected.control_total
    if line is None:
        assert "no totals line in the ledger" in page
    else:
        assert "Matches" in page and line.describe() in page
