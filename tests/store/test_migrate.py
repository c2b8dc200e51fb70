"""`journal migrate`: a journal copied from SQLite into PostgreSQL and back, without loss."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerrun.errors import JournalError
from ledgerrun.store import open_store
from ledgerrun.store.migrate import TABLES, copy_store, summary
from ledgerrun.store.model import AccountRecord, Store
from ledgerrun.store.sql import SQLBase
from ledgerrun.store.web_model import Approval, AuditEvent, Batch, User, WorkItem
from tests.helpers.cli import cli
from tests.helpers.store import T0, fail, intent, run, succeed, unknown
from tests.store import pg
from tests.store.test_contract import seen
from tests.store.test_contract_more import reversal


@pytest.fixture
def url() -> Iterator[str]:
    location, name = pg.fresh_store_url()
    yield location
    pg.drop_schema(name)


def fill(store: Store) -> None:
    """A bit of everything a store holds, with awkward values (quotes, %, ?, non-ASCII, bytes)."""
    store.start_run(run())
    for n in range(30):
        store.record_intent(intent(f"adj-{n:02d}", adjustment_id=f"ADJ-{n} 'é%?'"))
    for n in range(0, 30, 3):
        succeed(store, f"adj-{n:02d}", transfer_id=f"tr_{n}")
    fail(store, "adj-01")
    unknown(store, "adj-02", attempts=2)
    store.finish_run("run-1", T0, 1, {"succeeded": 10})
    store.record_listing("transfers:acct_1", [seen("tr_1", "adj-00"), seen("tr_2", "x")], 9, T0)
    store.record_accounts([AccountRecord("acct_1", T0, None, "", "usd", "US")])
    store.record_reversal_intent(reversal())
    store.add_user(User("ana", "admin", "$argon2id$x", False, T0))
    store.record_signin("ana", "10.0.0.1", False, T0)
    store.add_batch(Batch("b1", "nightly", "Nov.xlsx", "ab" * 32, 9, "ana", T0, "valid", 3, {}))
    store.add_approval(Approval("b1", "nightly", "approved", "bo", T0, "ab" * 32, {}, "ok"))
    store.add_audit(AuditEvent(T0, "ana", "10.0.0.1", "upload", "b1", "ab", {"n": 1}))
    store.add_audit(AuditEvent(T0, "ana", "10.0.0.1", "approve", "b1", "ab", {"n": 2}))
    store.enqueue(WorkItem("w1", "b1", "run", "bo", T0, "queued", {"x": 1}))
    store.save_run_file("run-1", "results.csv", bytes(range(256)) * 100)


def test_a_journal_goes_to_postgresql_and_back_unchanged(tmp_path: Path, url: str) -> None:
    first = tmp_path / "first.sqlite"
    with contextlib.closing(open_store(first)) as store:
        fill(store)
        before = {e.key: e for e in store.iter_entries()}
        events_before = summary(store)  # type: ignore[arg-type]
    with (
        contextlib.closing(open_store(first, readonly=True)) as source,
        contextlib.closing(open_store(url)) as target,
    ):
        copied = copy_store(source, target)  # type: ignore[arg-type]
        assert copied == events_before
        assert {c.table: c.rows for c in copied}["adjustments"] == 30
        assert {c.table: c.rows for c in copied}["events"] == 30 + 10 + 2 + 1
        assert {e.key: e for e in target.iter_entries()} == before
        assert target.run_file("run-1", "results.csv") == bytes(range(256)) * 100
        assert [e.action for e in target.audit_events()] == ["approve", "upload"]
        # New rows number on from the copied ones.
        seq = target.add_audit(AuditEvent(T0, "bo", "x", "sign_in"))
        assert seq == max(e.seq or 0 for e in source.audit_events()) + 1
    back = tmp_path / "back.sqlite"
    with (
        contextlib.closing(open_store(url, readonly=True)) as source,
        contextlib.closing(open_store(back)) as target,
    ):
        copied_back = copy_store(source, target)  # type: ignore[arg-type]
    audit = {c.table: c for c in copied_back}["audit"]
    assert audit.rows == 3
    unchanged = [c for c in copied_back if c.table != "audit"]
    assert unchanged == [c for c in events_before if c.table != "audit"]
    with (
        contextlib.closing(sqlite3.connect(first)) as a,
        contextlib.closing(sqlite3.connect(back)) as b,
    ):
        for table in TABLES:
            if table.name in ("meta", "audit"):
                continue
            query = f"SELECT * FROM {table.name} ORDER BY 1, 2"
            assert a.execute(query).fetchall() == b.execute(query).fetchall(), table.name


def test_a_destination_holding_anything_is_refused_and_left_alone(tmp_path: Path, url: str) -> None:
    source = tmp_path / "j.sqlite"
    with contextlib.closing(open_store(source)) as store:
        fill(store)
    with contextlib.closing(open_store(url)) as target:
        target.record_intent(intent("already-here"))
    with (
        contextlib.closing(open_store(source, readonly=True)) as src,
        contextlib.closing(open_store(url)) as target,
    ):
        with pytest.raises(JournalError, match=r"not empty .*adjustments"):
            copy_store(src, target)  # type: ignore[arg-type]
        assert {e.key for e in target.iter_entries()} == {"already-here"}


def test_a_copy_that_does_not_read_back_the_same_keeps_nothing(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledgerrun.store import migrate

    source = tmp_path / "j.sqlite"
    with contextlib.closing(open_store(source)) as store:
        fill(store)
        assert isinstance(store, SQLBase)
        rows = sum(c.rows for c in summary(store))
    real = migrate.canonical
    calls = {"n": 0}

    def flaky(row: object) -> bytes:  # one row of the read-back differs from what was sent
        calls["n"] += 1
        return real(row) + (b"x" if calls["n"] == rows + 5 else b"")  # type: ignore[arg-type]

    monkeypatch.setattr(migrate, "canonical", flaky)
    with (
        contextlib.closing(open_store(source, readonly=True)) as src,
        contextlib.closing(open_store(url)) as target,
    ):
        with pytest.raises(JournalError, match="does not match its source"):
            copy_store(src, target)  # type: ignore[arg-type]
        assert list(target.iter_entries()) == [] and target.runs("nightly") == []


def test_a_journal_in_use_by_a_run_is_not_migrated(tmp_path: Path, url: str) -> None:
    source = tmp_path / "j.sqlite"
    with contextlib.closing(open_store(source)) as store:
        store.start_run(run())
        store.lock("nightly")
        with (
            contextlib.closing(open_store(source, readonly=True)) as src,
            contextlib.closing(open_store(url)) as target,
            pytest.raises(JournalError, match="run of job nightly is going on"),
        ):
            copy_store(src, target)  # type: ignore[arg-type]


def test_the_migrate_command_reports_what_it_verified(tmp_path: Path, url: str) -> None:
    source = tmp_path / "j.sqlite"
    with contextlib.closing(open_store(source)) as store:
        fill(store)
        sums = {c.table: c for c in summary(store)}  # type: ignore[arg-type]
    done = cli("journal", "migrate", source, url)
    assert done.returncode == 0, done.stderr
    assert "Verified:" in done.stdout and sums["adjustments"].sha256[:16] in done.stdout
    again = cli("journal", "migrate", source, url)
    assert again.returncode == 2 and "not empty" in again.stderr
    assert "Traceback" not in again.stderr
    same = cli("journal", "migrate", source, source)
    assert same.returncode == 2 and "the same store" in same.stderr
    back = tmp_path / "back.sqlite"
    home = cli("journal", "migrate", url, back)
    assert home.returncode == 0, home.stderr
    with contextlib.closing(open_store(back, readonly=True)) as store:
        got = {c.table: c for c in summary(store)}  # type: ignore[arg-type]
    assert got == sums


def test_backup_of_a_postgresql_store_points_to_pg_dump(tmp_path: Path, url: str) -> None:
    job = tmp_path / "job.toml"
    (tmp_path / "ledger.csv").write_text("adjustment_id,account,amount,currency\n")
    job.write_text(f'[job]\nname = "n"\nledger = "ledger.csv"\njournal = "{url}"\n')
    done = cli("journal", "backup", job, tmp_path / "copy.sqlite")
    assert done.returncode == 2 and "pg_dump" in done.stderr


def test_every_table_of_the_schema_is_copied() -> None:
    names = {t.name for t in TABLES}
    assert {"meta", "adjustments", "events", "run_files", "signins", "approvals"} <= names
    run_files = next(t for t in TABLES if t.name == "run_files")
    assert run_files.key == ("run_id", "name") and "data" in run_files.columns
    assert next(t for t in TABLES if t.name == "signins").key == ()
    assert dataclasses.is_dataclass(run_files) and dt.UTC is not None
