"""The guard sees every account and every charge (issue 21), judged on the sandbox's books, with
the real command line, on both stores.

* A row debited from one account by one job and journal, then corrected to name another
  account and run by another job under a new journal: the new journal's first run sweeps every
  connected account, finds the first debit and sends nothing (``adjustment_conflict``).
* The same ledger under a new ``id_prefix``: ``possible_duplicate_prefix``, nothing sent,
  unless ``--allow-prefix-change`` (which the store then remembers).
* 150 debits by charge (beyond the 100 that listing charges by ``transfer_group`` returns, a cap
  the sandbox enforces), the journal deleted, the ledger run again: nothing new is debited.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import cli, results_rows, write_job
from tests.helpers.constants import A, B, C
from tests.helpers.sandbox import debits, sandbox_state
from tests.store import pg


@pytest.fixture(params=["sqlite", "postgresql"])
def journals(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """Two separate stores of one kind: SQLite files, or PostgreSQL schemas."""
    if request.param == "sqlite":
        yield [str(tmp_path / "one" / "journal.sqlite"), str(tmp_path / "two" / "journal.sqlite")]
        return
    made = [pg.fresh_store_url() for _ in range(2)]
    yield [url for url, _ in made]
    for _, schema in made:
        pg.drop_schema(schema)


def test_a_row_moved_to_another_account_under_another_store_is_a_conflict(
    tmp_path: Path, sandbox, journals: list[str]
) -> None:
    first = write_job(tmp_path / "first", sandbox.url, [f"MV-1,{A},12.00,usd,,,INV"], name="first")
    assert cli("run", first, "--journal", journals[0]).returncode == 0
    # Finance corrects the row to account B; another job runs it, with a journal of its own.
    second = write_job(
        tmp_path / "second", sandbox.url, [f"MV-1,{B},12.00,usd,,,INV"], name="second"
    )
    writes = sandbox_state(sandbox.url)["stats"]["write_requests"]
    done = cli("run", second, "--journal", journals[1])
    assert done.returncode == 2, done.stdout + done.stderr
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == writes  # nothing sent
    assert debits(sandbox_state(sandbox.url)) == {"MV-1": 1}
    assert "first look at every connected account" in done.stderr  # the sweep, said as it goes
    (rejected,) = (tmp_path / "second" / "out").glob("second.results.rejected-*.csv")
    (row,) = results_rows(rejected)
    assert row["error_code"] == "adjustment_conflict" and A in row["error_message"]
    # The sweep is kept: the next night lists only the ledger's accounts.
    requests = sandbox_state(sandbox.url)["stats"]["requests"]
    again = cli("run", second, "--journal", journals[1])
    assert again.returncode == 2 and "first look" not in again.stderr
    listed = sandbox_state(sandbox.url)["stats"]["requests"] - requests
    assert listed < 10, f"{listed} requests: the second night swept again"


def test_a_new_id_prefix_warns_and_sends_nothing_unless_allowed(
    tmp_path: Path, sandbox, journals: list[str]
) -> None:
    rows = [f"PX-{n},{(A, B, C)[n % 3]},{n + 1}.00,usd,,,INV" for n in range(5)]
    job = write_job(tmp_path, sandbox.url, rows)
    assert cli("run", job, "--journal", journals[0]).returncode == 0
    text = job.read_text(encoding="utf-8").replace("[job]\n", '[job]\nid_prefix = "fin2"\n', 1)
    job.write_text(text, encoding="utf-8")
    plan = cli("plan", job, "--journal", journals[1])
    assert plan.returncode == 2 and "possible_duplicate_prefix" in plan.stdout
    assert "done      0" not in plan.stdout
    writes = sandbox_state(sandbox.url)["stats"]["write_requests"]
    refused = cli("run", job, "--journal", journals[1])
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == writes
    assert set(debits(sandbox_state(sandbox.url), "e2e").values()) == {1}
    allowed = cli("run", job, "--journal", journals[1], "--allow-prefix-change")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert set(debits(sandbox_state(sandbox.url), "e2e").values()) == {2}  # new ids, as meant
    # Remembered: the next ledger of the job under this prefix needs no flag.
    more = [*rows, f"PX-9,{A},9.00,usd,,,INV"]
    (tmp_path / "ledger.csv").write_text(
        (tmp_path / "ledger.csv").read_text().splitlines()[0] + "\n" + "\n".join(more) + "\n"
    )
    later = cli("run", job, "--journal", journals[1])
    assert later.returncode == 0, later.stdout + later.stderr
    assert debits(sandbox_state(sandbox.url), "e2e")["PX-9"] == 1


def test_debits_by_charge_beyond_a_hundred_are_found_after_the_journal_is_lost(
    tmp_path: Path, sandbox
) -> None:
    rows = [f"CH-{n:03d},{(A, B)[n % 2]},1.{n % 100:02d},usd,charge,,INV" for n in range(150)]
    job = write_job(tmp_path, sandbox.url, rows)
    assert cli("run", job).returncode == 0
    assert len(debits(sandbox_state(sandbox.url), "e2e")) == 150
    (tmp_path / "state" / "e2e.sqlite").unlink()  # the journal is lost
    writes = sandbox_state(sandbox.url)["stats"]["write_requests"]
    again = cli("run", job)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sandbox_state(sandbox.url)["stats"]["write_requests"] == writes  # 0 new debits
    assert set(debits(sandbox_state(sandbox.url), "e2e").values()) == {1}
    summary = json.loads((tmp_path / "out" / "e2e.results.csv.summary.json").read_text())
    assert summary["done_earlier"] == 150
    checked = cli("reconcile", job)
    assert checked.returncode == 0, checked.stdout + checked.stderr
