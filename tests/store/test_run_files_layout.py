"""Version 4 of the store keeps a run file's blob as the last column of its row (``run_files``
without ``size``): a store written by version 3 is brought forward on every backend, the files
it kept read back as they were, and new ones are kept beside them."""

from __future__ import annotations

import io
import sqlite3
import zlib
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ledgerrun.store import open_store, schema
from ledgerrun.store.model import SCHEMA_VERSION

V3 = (*schema.V2_TABLES, *schema.UPGRADES[3])  # a store's tables as version 3 made them
META = [("application", "ledgerrun"), ("created_at", "2026-12-01"), ("schema_version", "3")]


def _parquet() -> bytes:
    sink = io.BytesIO()
    rows = pa.table({"adjustment_id": [f"ADJ-{n:07d}" for n in range(5_000)]})
    pq.write_table(rows, sink, compression="zstd")
    return sink.getvalue()


PARQUET = _parquet()
TEXT = b"row,adjustment_id\n" + b"2,a\n" * 1_000
KEPT_BY_V3 = [  # (run id, name, data as kept, size): a Parquet file as it is, others compressed
    ("run-1", "rows.parquet", PARQUET, len(PARQUET)),
    ("run-1", "summary.json", zlib.compress(b'{"v": 3}', 6), 8),
    ("run-1", "results.csv", zlib.compress(TEXT, 6), len(TEXT)),
]
INSERT = "INSERT INTO run_files (run_id, name, data, size) VALUES ({0}, {0}, {0}, {0})"


def _version_3(location: str) -> None:
    if location.startswith("postgresql"):
        with psycopg.connect(location, autocommit=True) as pg_conn:
            pg_conn.execute(schema.POSTGRES_META)
            for statement in V3:
                pg_conn.execute(schema.postgres_ddl(statement))
            pg_conn.execute(schema.POSTGRES_LOCKS)
            with pg_conn.cursor() as cursor:
                cursor.executemany("INSERT INTO meta VALUES (%s, %s)", META)
                cursor.execute("INSERT INTO meta VALUES ('store_id', 'v3-store')")
                cursor.executemany(INSERT.format("%s"), KEPT_BY_V3)
        return
    Path(location).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(location)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for statement in V3:
        conn.execute(statement)
    conn.executemany("INSERT INTO meta VALUES (?, ?)", META)
    conn.executemany(INSERT.format("?"), KEPT_BY_V3)
    conn.commit()
    conn.close()


def _query(location: str, sql: str) -> list[tuple[object, ...]]:
    """The rows of ``sql`` (no parameters), read from the store directly."""
    if location.startswith("postgresql"):
        with psycopg.connect(location) as pg_conn:
            return list(pg_conn.execute(sql.replace("length(", "octet_length(")).fetchall())
    conn = sqlite3.connect(location)
    try:
        return list(conn.execute(sql).fetchall())
    finally:
        conn.close()


def _columns(location: str) -> list[str]:
    if location.startswith("postgresql"):
        sql = (
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = 'run_files' ORDER BY ordinal_position"
        )
        return [str(row[0]) for row in _query(location, sql)]
    return [str(row[1]) for row in _query(location, "PRAGMA table_info(run_files)")]


def test_a_version_3_store_is_brought_forward_and_its_run_files_read_as_they_were(
    location: str,
) -> None:
    _version_3(location)
    store = open_store(location)
    try:
        assert store.run_file("run-1", "rows.parquet") == PARQUET
        assert store.run_file("run-1", "summary.json") == b'{"v": 3}'
        assert store.run_file("run-1", "results.csv") == TEXT
        assert store.run_file_names("run-1") == ["results.csv", "rows.parquet", "summary.json"]
        store.save_run_file("run-2", "rows.parquet", io.BytesIO(PARQUET))
        store.save_run_file("run-1", "summary.json", b'{"v": 4}')  # replaced
        assert store.run_file("run-2", "rows.parquet") == PARQUET
        assert store.run_file("run-1", "summary.json") == b'{"v": 4}'
    finally:
        store.close()
    assert _columns(location) == ["run_id", "name", "data"]  # the blob last: nothing after it
    lengths = _query(location, "SELECT name, length(data) FROM run_files ORDER BY name")
    assert ("rows.parquet", len(PARQUET)) in lengths and len(lengths) == 4
    again = open_store(location)  # brought forward once: opened as it is
    try:
        assert again.run_file("run-2", "rows.parquet") == PARQUET
    finally:
        again.close()
    version = _query(location, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert version == [(str(SCHEMA_VERSION),)] and SCHEMA_VERSION == 4


def test_sqlite_before_3_35_brings_run_files_forward_by_making_the_table_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite older than 3.35 (Ubuntu 20.04's, RHEL 8's) has no DROP COLUMN: the upgrade makes
    the table again without ``size`` and copies its rows, with the same result."""
    from ledgerrun.store import sqlite_file

    monkeypatch.setattr(sqlite_file, "DROP_COLUMN_FROM", (999,))  # as if this SQLite were older
    location = str(tmp_path / "old-sqlite.sqlite")
    _version_3(location)
    store = open_store(location)
    try:
        assert store.run_file("run-1", "rows.parquet") == PARQUET
        assert store.run_file("run-1", "results.csv") == TEXT
        store.save_run_file("run-2", "rows.parquet", io.BytesIO(PARQUET))
        assert store.run_file("run-2", "rows.parquet") == PARQUET
    finally:
        store.close()
    assert _columns(location) == ["run_id", "name", "data"]
    tables = {str(row[0]) for row in _query(location, "SELECT name FROM sqlite_master")}
    assert "run_files_before" not in tables
    made = _query(location, "SELECT sql FROM sqlite_master WHERE name = 'run_files'")
    assert "PRIMARY KEY (run_id, name)" in str(made[0][0])
