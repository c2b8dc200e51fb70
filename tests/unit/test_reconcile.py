"""Reconcile (ledgerrun.reconcile.check) on the fake client and store: each kind of discrepancy
from scripted books and journals, and the cases that must not be reported."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ledgerrun import errors
from ledgerrun.job import Job
from ledgerrun.reconcile.check import reconcile
from ledgerrun.reconcile.model import Reconciliation
from ledgerrun.store.model import PENDING, SUCCEEDED, Entry, ReversalEntry
from ledgerrun.stripe.shapes import Reversal
from tests.helpers.constants import RUN_DATE, A, B
from tests.helpers.fakes import FakeClient, FakeStore, as_journal, movement
from tests.helpers.stages import fake_session
from tests.helpers.store import intent

DAY = RUN_DATE.isoformat()
OTHER_DAY = (RUN_DATE - dt.timedelta(days=1)).isoformat()
RESULTS_HEADER = ["row", "adjustment_id", "account", "currency", "amount_minor", "direction",
                  "method", "status", "transfer_id", "payment_id"]  # fmt: skip

RETRIES = 6  # the client tries each request six times
TIMED_OUT = errors.NetworkError("timed out", code="network_error").after(RETRIES)


@dataclasses.dataclass
class World:
    job: Job
    client: FakeClient
    store: FakeStore

    @property
    def results(self) -> Path:
        return self.job.results

    def check(self, run_date: str | None = DAY) -> Reconciliation:
        session = fake_session(self.job, self.client)
        return reconcile(self.job, session, as_journal(self.store), self.results,
                         run_date=run_date, now=self.client.clock.now(),
                         from_file=self.results.exists())  # fmt: skip

    def sent(self, adjustment_id: str, account: str = A, amount: int = 100, *,
             state: str = SUCCEEDED, run_date: str = DAY, method: str = "transfer",
             in_stripe: bool = True, stripe: dict[str, Any] | None = None) -> Entry:  # fmt: skip
        """The journal's record of a debit this job sent and, unless ``in_stripe`` is False,
        its object in Stripe's books (``stripe`` overrides the object's fields)."""
        suffix = adjustment_id.lower().replace("-", "")
        done = state == SUCCEEDED
        entry = dataclasses.replace(
            intent(adjustment_id.lower(), job=self.job.name, account=account, currency="usd",
                   amount_minor=amount, method=method, run_date=run_date),
            adjustment_id=adjustment_id,
            state=state,
            transfer_id=f"tr_{suffix}" if done else None,
            payment_id=f"py_{suffix}" if done else None,
        )  # fmt: skip
        self.store.adjustments[entry.key] = entry
        if in_stripe:
            fields: dict[str, Any] = {"account": account, "amount": amount, "run_date": run_date,
                      "method": method, "job": self.job.name, "transfer_id": f"tr_{suffix}",
                      "payment_id": f"py_{suffix}"} | (stripe or {})  # fmt: skip
            self.client.holds(movement(adjustment_id, **fields))
        return entry

    def results_file(self, *rows: tuple[str, str, int, str, str]) -> None:
        """(adjustment id, account, amount, status, method) per results row."""
        self.results.parent.mkdir(parents=True, exist_ok=True)
        with self.results.open("w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(RESULTS_HEADER)
            for n, (adjustment_id, account, amount, status, method) in enumerate(rows):
                suffix = adjustment_id.lower().replace("-", "")
                ids = [f"tr_{suffix}", f"py_{suffix}"] if status == SUCCEEDED else ["", ""]
                out.writerow([n + 2, adjustment_id, account, "usd", amount, "debit", method,
                              status, *ids])  # fmt: skip


@pytest.fixture
def world(tmp_path: Path) -> World:
    job = Job(name="nightly", ledger=tmp_path / "nightly.csv",
              results=tmp_path / "out" / "nightly.results.csv",
              journal=tmp_path / "journal.sqlite", run_date=RUN_DATE, timezone="UTC")  # fmt: skip
    return World(job, FakeClient(), FakeStore())


def kinds(report: Reconciliation) -> list[tuple[str, str]]:
    return sorted((d.kind, d.adjustment_id) for d in report.discrepancies)


# --- agreement -----------------------------------------------------------------------------------


def test_a_run_whose_objects_all_agree_is_clean(world: World) -> None:
    world.sent("ADJ-1", A)
    world.sent("ADJ-2", B, 250, method="charge")
    report = world.check()
    assert report.clean and report.checked == 2 and report.objects == 2
    assert kinds(report) == []


def test_every_listing_goes_through_the_sessions_client(world: World) -> None:
    world.store.legacy = ["v1-job"]
    world.sent("ADJ-1", A)
    world.check()
    world.sent("ADJ-2", B, 250, method="charge")
    world.check()
    listed = {(c.method, c.subject) for c in world.client.calls}
    assert {("transfers", A), ("transfers", B), ("transfers", None)} <= listed
    assert any(m == "search" and f"'{B}'" in q for m, q in listed)  # B's debits by charge
    assert not any(m == "charges" for m, _ in listed)  # the listing capped at 100: never


# --- each kind -----------------------------------------------------------------------------------


def test_a_second_object_for_one_adjustment_is_a_duplicate(world: World) -> None:
    world.sent("ADJ-1", A)
    world.client.holds(movement("ADJ-1", account=A, transfer_id="tr_copy", payment_id="py_copy"))
    report = world.check()
    assert kinds(report) == [("duplicate", "ADJ-1")]
    (found,) = report.discrepancies
    assert found.transfer_id == "tr_copy" and "2 objects for one adjustment" in found.detail


def test_a_duplicate_reversed_in_full_is_no_longer_reported(world: World) -> None:
    """What the duplicate's advice promises: reverse the extra one, then reconcile again."""
    world.sent("ADJ-1", A)
    copy = world.client.holds(movement("ADJ-1", account=A, transfer_id="tr_copy",
                                       payment_id="py_copy", amount_reversed=40))  # fmt: skip
    assert kinds(world.check()) == [("duplicate", "ADJ-1")]  # partly reversed: still moving
    world.client.books[-1] = copy._replace(amount_reversed=100)
    assert kinds(world.check()) == []


def test_an_object_nobody_accounts_for_is_an_orphan(world: World) -> None:
    world.sent("ADJ-1", A)
    world.client.holds(movement("HAND-1", account=A, job="nightly"))  # names this job and day
    made_today = dt.datetime.combine(RUN_DATE, dt.time(9), dt.UTC)
    world.client.holds(movement("", account=A, method="charge", metadata={}, created=made_today,
                                transfer_id="tr_bare", payment_id="py_bare"))  # fmt: skip
    report = world.check()
    assert kinds(report) == [("orphan", ""), ("orphan", "HAND-1")]
    assert report.objects == 3


def test_objects_of_another_day_are_not_discrepancies(world: World) -> None:
    world.sent("ADJ-1", A)
    world.sent("OLD-1", A, run_date=OTHER_DAY)  # this job's, known to the journal
    yesterday = dt.datetime.combine(RUN_DATE - dt.timedelta(days=1), dt.time(9), dt.UTC)
    world.client.holds(movement("", account=A, metadata={}, created=yesterday,
                                transfer_id="tr_bare", payment_id="py_bare"))  # fmt: skip
    report = world.check()
    assert report.clean and report.other_dates == 1 and report.objects == 1


def test_another_jobs_objects_known_to_the_journal_are_not_orphans(world: World) -> None:
    """Jobs share the platform's transfer group and accounts, so one job's listings hold the
    other's objects. An orphan is one this job made, or one the journal does not know."""
    world.sent("ADJ-1", A)
    weekly = dataclasses.replace(world.sent("W-1", A), job="weekly")  # the same day, same account
    world.store.adjustments[weekly.key] = weekly
    books = world.client.books
    books[-1] = books[-1]._replace(metadata={**books[-1].metadata, "ledgerrun_job": "weekly"})
    world.client.holds(movement("W-2", account=A, job="weekly"))  # unknown to this journal
    report = world.check()
    assert kinds(report) == [("orphan", "W-2")] and report.objects == 3


def test_a_row_removed_from_the_ledger_is_reported_from_the_results(world: World) -> None:
    world.sent("ADJ-1", A)
    world.sent("ADJ-2", B)
    world.results_file(("ADJ-1", A, 100, SUCCEEDED, "transfer"))
    assert kinds(world.check()) == [("removed_from_ledger", "ADJ-2")]
    world.results.unlink()  # without a results file the journal is the list of rows
    assert kinds(world.check()) == []


def test_money_moved_for_a_row_not_reported_succeeded_is_unsettled(world: World) -> None:
    world.sent("ADJ-1", A, state=PENDING)  # the answer was lost; Stripe made it
    report = world.check()
    assert kinds(report) == [("unsettled", "ADJ-1")]
    assert "the results row is unknown" in report.discrepancies[0].detail


@pytest.mark.parametrize(
    "method, kind", [("transfer", "missing_transfer"), ("charge", "missing_payment")]
)
def test_a_succeeded_row_whose_object_stripe_lacks_is_missing(
    world: World, method: str, kind: str
) -> None:
    world.sent("ADJ-1", A, method=method, in_stripe=False)
    report = world.check()
    assert kinds(report) == [(kind, "ADJ-1")]
    asked = "transfer" if method == "transfer" else "charge"
    assert [c.subject for c in world.client.sent(asked)] == ["tr_adj1" if asked == "transfer"
                                                              else "py_adj1"]  # fmt: skip


def test_an_object_that_differs_from_its_row_is_a_mismatch(world: World) -> None:
    world.sent("ADJ-1", A, amount=100, stripe={"amount": 120})
    report = world.check()
    assert kinds(report) == [("mismatch", "ADJ-1")]
    assert "Stripe has" in report.discrepancies[0].detail


def test_a_listing_stripe_did_not_answer_is_unchecked_not_clean(world: World) -> None:
    world.sent("ADJ-1", A)
    world.client.script("transfers", TIMED_OUT, when=None)  # the platform's credits
    report = world.check()
    assert kinds(report) == [("unchecked", "")] and report.unchecked and not report.clean


def test_an_account_the_key_cannot_reach_holds_nothing_of_ours(world: World) -> None:
    world.sent("ADJ-1", A)
    world.client.script("transfers", errors.RefusedError("no access", code="account_invalid"),
                        when=B)  # fmt: skip
    world.store.adjustments["x"] = dataclasses.replace(
        intent("x", job="other", account=B), state="failed")  # fmt: skip
    assert world.check().clean


# --- reversals -----------------------------------------------------------------------------------


def _reversal(entry: Entry, amount: int, state: str, trr: str | None) -> ReversalEntry:
    at = dt.datetime.combine(RUN_DATE, dt.time(3), dt.UTC)
    return ReversalEntry(
        key=f"r:{entry.key}:{amount}", reversal_id=entry.adjustment_id, adjustment_key=entry.key,
        adjustment_id=entry.adjustment_id, job=entry.job, run_date=DAY,
        direction=entry.direction, account=entry.account, transfer_id=entry.transfer_id or "",
        context=entry.account, currency=entry.currency, amount_minor=amount, reason="",
        state=state, generation=0, idempotency_key=f"k-{amount}", request={}, attempts=1,
        attempted_at=at, attempted_at_server=at, reversal_object_id=trr,
    )  # fmt: skip


def test_a_reversal_in_stripe_the_journal_does_not_know_is_unrecorded(world: World) -> None:
    entry = world.sent("ADJ-1", A, amount=100, stripe={"amount_reversed": 60})
    world.client.reversal_books["tr_adj1"] = [
        Reversal("trr_known", "tr_adj1", 20, "usd", 1),
        Reversal("trr_hand", "tr_adj1", 40, "usd", 2),
    ]
    world.store.add_reversal(_reversal(entry, 20, SUCCEEDED, "trr_known"))
    report = world.check()
    assert kinds(report) == [("unrecorded_reversal", "ADJ-1")]
    assert report.discrepancies[0].detail.startswith("trr_hand: 0.40 USD reversed")
    assert [c.args for c in world.client.sent("reversals")] == [("tr_adj1", A)]


def test_a_reversal_the_journal_records_but_stripe_lacks_is_missing(world: World) -> None:
    entry = world.sent("ADJ-1", A, amount=100)
    world.store.add_reversal(_reversal(entry, 30, SUCCEEDED, "trr_gone"))
    report = world.check()
    assert kinds(report) == [("missing_reversal", "ADJ-1")]
    assert "journal records 0.30 USD reversed, Stripe 0.00 USD" in report.discrepancies[0].detail


def test_a_reversal_still_pending_in_the_journal_accounts_for_stripes(world: World) -> None:
    entry = world.sent("ADJ-1", A, amount=100, stripe={"amount_reversed": 30})
    world.store.add_reversal(_reversal(entry, 30, PENDING, None))
    report = world.check()
    assert report.clean and world.client.sent("reversals") == []


def test_a_date_lists_the_accounts_that_can_hold_its_objects_not_the_whole_journal(
    world: World,
) -> None:
    """Requests grow with the accounts that hold something in the listings' window: the
    date's, and those where the job's entries are recent; an account whose entries are all
    older than the window can show nothing of the job there, and costs no request."""
    world.sent("ADJ-1", A)
    world.sent("NEAR-1", B, run_date=OTHER_DAY)  # yesterday's, on another account
    long_ago = world.client.clock.now() - dt.timedelta(days=60)
    old = world.sent("OLD-1", "acct_1OldAccount000", run_date="2026-09-01", in_stripe=False)
    world.store.adjustments[old.key] = dataclasses.replace(
        old, attempted_at=long_ago, attempted_at_server=long_ago, completed_at=long_ago
    )
    report = world.check()
    listed = {c.subject for c in world.client.calls if c.method == "transfers"}
    assert listed == {A, B, None}  # the date's account, the recent one, the platform's credits
    assert report.clean and report.other_dates == 1 and report.checked == 1


def test_reconcile_never_reads_a_request_from_the_journal(world: World) -> None:
    """It compares states and ids: the entries it reads come without their requests (a night of
    200,000 rows would otherwise decode 200,000 of them), so the reads that decode them may
    fail without changing its findings."""
    world.sent("ADJ-1", A)
    world.sent("ADJ-2", B, 250, method="charge")
    world.sent("OLD-1", A, run_date=OTHER_DAY)
    world.client.holds(movement("HAND-1", account=A, job="nightly"))  # an orphan
    before = world.check()
    for method in ("entries", "iter_entries"):
        world.store.fail(method, errors.JournalError("requests are not for reconcile"))
    after = world.check()
    assert kinds(after) == kinds(before) == [("orphan", "HAND-1")]
    assert (after.checked, after.objects, after.other_dates) == (2, 3, 1)
