"""Sending reversals through the engine: a journal that fails stops the command and says why in
its summary, as a run does (version 2's reversals stopped silently)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ledgerrun import errors
from ledgerrun.events import Events, RunStopping
from ledgerrun.job import Job
from ledgerrun.send.keys import idempotency_key
from ledgerrun.send.reversal.command import ReverseResult
from ledgerrun.send.reversal.files import summary_of
from ledgerrun.send.reversal.requests import Request
from ledgerrun.send.reversal.sender import Line, Sender
from ledgerrun.store import open_store
from ledgerrun.store.model import PENDING, Entry, Store
from ledgerrun.vocab import Status
from tests.helpers.constants import RUN_DATE, A, B
from tests.helpers.fakes import FakeClient, movement

T0 = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)


class _Failing:
    """A store whose reversal outcomes cannot be written (the disk filled up)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def record_reversal_success(self, *args: Any, **kwargs: Any) -> None:
        raise errors.StoreUnavailableError("the journal could not record a reversal: disk full")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _debited(store: Store, client: FakeClient, n: int, account: str) -> Entry:
    key = f"adj-{n}"
    made = client.holds(movement(f"ADJ-{n}", account=account, amount=1000,
                                 transfer_id=f"tr_{n}"))  # fmt: skip
    store.record_intent(Entry(key, f"ADJ-{n}", "nightly", RUN_DATE.isoformat(), "debit",
                              account, "usd", 1000, "transfer", PENDING, 0,
                              idempotency_key("debit", key, 0), {}, 1, T0, T0,
                              run_id="run-1"))  # fmt: skip
    store.record_success(key, run_id="run-1", transfer_id=made.transfer_id,
                         payment_id=made.payment_id or "", request_id=None,
                         completed_at=T0)  # fmt: skip
    return store.entries([key])[key]


def test_a_journal_that_cannot_take_a_reversal_stops_the_command_and_says_why(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path / "journal.sqlite")
    try:
        client = FakeClient()
        job = Job(
            name="nightly",
            ledger=tmp_path / "ledger.csv",
            results=tmp_path / "results.csv",
            journal=tmp_path / "journal.csv",
            run_date=RUN_DATE,
            timezone="UTC",
        )
        lines = []
        for n, account in ((1, A), (2, B)):
            entry = _debited(store, client, n, account)
            request = Request(n, entry.adjustment_id, entry.adjustment_id, "", "", entry.key,
                              entry.key, entry, 1000)  # fmt: skip
            lines.append(Line(request, ""))
        heard: list[Any] = []
        job = job.replace(concurrency=1)
        failing: Any = _Failing(store)
        sender = Sender(job, "rev-1", client, failing, client.clock, Events(heard.append))
        sender.send(lines)
        sender.close()
        statuses = sorted(line.status for line in lines)
        assert statuses == [Status.SKIPPED, Status.SUCCEEDED]  # the first moved; then it stopped
        assert sum(len(r) for r in client.reversal_books.values()) == 1
        assert any("disk full" in note for note in sender.notes)
        assert any(isinstance(e, RunStopping) and "disk full" in e.reason for e in heard)
        out = tmp_path / "x.csv"
        result = ReverseResult(errors.ExitCode.INCOMPLETE, job, "rev-1", False, lines, out, out,
                               notes=sender.notes)  # fmt: skip
        assert any("disk full" in note for note in summary_of(result)["notes"])
    finally:
        store.close()
