"""Work items held by leases, on every store; and a version-2 store brought forward to the
current schema is the same as a new one."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import psycopg

from ledgerrun.store import open_store, schema
from ledgerrun.store.model import SCHEMA_VERSION, Store
from ledgerrun.store.web_model import WorkItem
from tests.store import pg

T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=30)


def _queued(store: Store, work_id: str = "w-1") -> None:
    store.enqueue(WorkItem(work_id, "b-1", "run", "pat", T0, "queued", {"dry_run": False}))


def test_a_claimed_item_is_leased_and_no_one_else_takes_it_while_renewed(store: Store) -> None:
    _queued(store)
    item = store.claim_work("host-a:1:aa", T0, LEASE)
    assert item is not None and item.state == "running" and item.worker == "host-a:1:aa"
    assert item.lease_until == T0 + LEASE and item.history[0]["event"] == "started"
    assert store.claim_work("host-b:2:bb", T0 + LEASE / 2, LEASE) is None
    assert store.renew_lease("w-1", "host-a:1:aa", T0 + LEASE * 2)
    assert store.claim_work("host-b:2:bb", T0 + LEASE + dt.timedelta(seconds=1), LEASE) is None


def test_an_item_whose_lease_ran_out_is_taken_over_by_any_worker(store: Store) -> None:
    _queued(store)
    store.claim_work("host-a:1:aa", T0, LEASE)
    later = T0 + LEASE + dt.timedelta(seconds=1)
    taken = store.claim_work("host-b:2:bb", later, LEASE)
    assert taken is not None and taken.worker == "host-b:2:bb" and taken.started_at == T0
    assert [e["event"] for e in taken.history] == ["started", "taken_over"]
    assert taken.history[-1]["from"] == "host-a:1:aa"
    assert not store.renew_lease("w-1", "host-a:1:aa", later + LEASE)  # no longer its own
    assert store.claim_work("host-c:3:cc", later + dt.timedelta(seconds=1), LEASE) is None


def test_a_finished_item_is_never_taken_again(store: Store) -> None:
    _queued(store)
    store.claim_work("host-a:1:aa", T0, LEASE)
    store.update_work("w-1", state="done", ended_at=T0, exit_code=0)
    assert store.claim_work("host-b:2:bb", T0 + LEASE * 10, LEASE) is None
    assert not store.renew_lease("w-1", "host-a:1:aa", T0 + LEASE)


def _columns_sqlite(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        conn.close()


def test_a_version_2_sqlite_journal_is_brought_forward_to_the_tables_of_a_new_one(
    tmp_path: Path,
) -> None:
    old = tmp_path / "v2.sqlite"
    conn = sqlite3.connect(old)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for statement in schema.V2_TABLES:
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("application", "ledgerrun"), ("created_at", T0.isoformat()), ("schema_version", "2")],
    )
    conn.execute(
        "INSERT INTO work (work_id, batch_id, kind, requested_by, requested_at, state, params,"
        " worker, message) VALUES ('w-0', 'b-0', 'run', 'pat', ?, 'running', '{}', 'old:1:x',"
        " '')",
        (T0.isoformat(),),
    )
    conn.commit()
    conn.close()
    open_store(old).close()
    new = tmp_path / "new.sqlite"
    open_store(new).close()
    assert _columns_sqlite(old) == _columns_sqlite(new)
    store = open_store(old)
    try:
        taken = store.claim_work("host-b:2:bb", T0, LEASE)  # a version-2 item has no lease
        assert taken is not None and taken.work_id == "w-0"
    finally:
        store.close()
    version = (
        sqlite3.connect(old)
        .execute("SELECT value FROM meta WHERE key = 'schema_version'")
        .fetchone()
    )
    assert version == (str(SCHEMA_VERSION),)


def _columns_pg(url: str) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() ORDER BY table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(str(table), []).append(str(column))
    return out


def test_a_version_2_postgresql_store_is_brought_forward_to_the_tables_of_a_new_one() -> None:
    old_url, old_schema = pg.fresh_store_url()
    new_url, new_schema = pg.fresh_store_url()
    try:
        with psycopg.connect(old_url, autocommit=True) as conn:
            conn.execute(schema.POSTGRES_META)
            for statement in schema.V2_TABLES:
                conn.execute(schema.postgres_ddl(statement))
            conn.execute(schema.POSTGRES_LOCKS)
            conn.execute(
                "INSERT INTO meta VALUES ('application', 'ledgerrun'), ('schema_version', '2'),"
                " ('store_id', 'v2-store'), ('created_at', '2026-11-26')"
            )
        open_store(old_url).close()
        open_store(new_url).close()
        assert _columns_pg(old_url) == _columns_pg(new_url)
    finally:
        pg.drop_schema(old_schema)
        pg.drop_schema(new_schema)
