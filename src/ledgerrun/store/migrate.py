"""Copying a whole store into another, empty one (SQLite to PostgreSQL, and back), verified.

Every table is copied row for row, in key order, inside one transaction of the destination. Before
that transaction commits, each table is read back from the destination and compared with the
source: the same number of rows, and the same SHA-256 over the rows in key order, each row
serialised canonically (JSON of its values in column order; bytes as hex). Any difference rolls
the copy back, leaving the destination as it was.

The tables and their keys are read from :data:`ledgerrun.store.schema.TABLES`, so a table
added there is copied without a change here. What belongs to one store only is not copied: its
own ``meta`` entries (application, creation time, schema version, store id) and the PostgreSQL
store's table of run-lock holders.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ledgerrun.errors import JournalError
from ledgerrun.store import schema
from ledgerrun.store.sql import Conn, SQLBase

OWN_META = ("application", "created_at", "schema_version", "store_id")
_PAGE = 2000
_SMALL_PAGE = 50  # run_files: compressed files of up to megabytes each


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the primary key; empty when the table has none


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int
    sha256: str


def _split(body: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(body):
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
    parts.append(body[start:].strip())
    return parts


def _table(statement: str) -> Table:
    match = re.match(r"CREATE TABLE (\w+) \((.*)\)\s*$", statement, re.DOTALL)
    if match is None:  # pragma: no cover - the schema's own statements
        raise ValueError(statement)
    columns: list[str] = []
    key: tuple[str, ...] = ()
    for part in _split(match.group(2)):
        pk = re.match(r"PRIMARY KEY \(([^)]*)\)", part)
        if pk:
            key = tuple(c.strip() for c in pk.group(1).split(","))
            continue
        name = part.split()[0]
        columns.append(name)
        if "PRIMARY KEY" in part:
            key = (name,)
    return Table(match.group(1), tuple(columns), key)


TABLES: tuple[Table, ...] = (
    Table("meta", ("key", "value"), ("key",)),
    *(_table(s) for s in schema.TABLES if s.startswith("CREATE TABLE")),
)


def _where(table: Table) -> str:
    if table.name == "meta":
        return f" WHERE key NOT IN ({', '.join(repr(k) for k in OWN_META)})"
    return ""


def _rows(conn: Conn, table: Table) -> Iterator[Sequence[Any]]:
    """Every row of ``table`` (what is copied of it), in key order, a page at a time."""
    cols = ", ".join(table.columns)
    page = _SMALL_PAGE if table.name == "run_files" else _PAGE
    base = f"SELECT {cols} FROM {table.name}{_where(table)}"
    if not table.key:  # a table without a key: small (sign-ins, approvals); every column orders
        order = ", ".join(f"{c} NULLS FIRST" for c in table.columns)
        offset = 0
        while True:
            rows = conn.execute(f"{base} ORDER BY {order} LIMIT {page} OFFSET {offset}").fetchall()
            yield from rows
            if len(rows) < page:
                return
            offset += page
    key = ", ".join(table.key)
    index = [table.columns.index(c) for c in table.key]
    joiner = " AND " if _where(table) else " WHERE "
    after: list[Any] | None = None
    while True:
        if after is None:
            rows = conn.execute(f"{base} ORDER BY {key} LIMIT {page}").fetchall()
        else:
            marks = ", ".join("?" for _ in table.key)
            left, right = (f"({key})", f"({marks})") if len(table.key) > 1 else (key, marks)
            sql = f"{base}{joiner}{left} > {right} ORDER BY {key} LIMIT {page}"
            rows = conn.execute(sql, after).fetchall()
        yield from rows
        if len(rows) < page:
            return
        after = [rows[-1][i] for i in index]


def canonical(row: Sequence[Any]) -> bytes:
    """One row as the checksum reads it: JSON of its values in column order, bytes as hex."""
    values = [{"hex": bytes(v).hex()} if isinstance(v, bytes | memoryview) else v for v in row]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def checksum(conn: Conn, table: Table, sink: Callable[[list[Sequence[Any]]], None] | None = None
             ) -> Copied:  # fmt: skip
    """Row count and SHA-256 of ``table``; each page of rows also goes to ``sink``."""
    digest, count, batch = hashlib.sha256(), 0, []
    for row in _rows(conn, table):
        digest.update(canonical(row))
        count += 1
        if sink is not None:
            batch.append(row)
            if len(batch) >= (_SMALL_PAGE if table.name == "run_files" else _PAGE):
                sink(batch)
                batch = []
    if sink is not None and batch:
        sink(batch)
    return Copied(table.name, count, digest.hexdigest())


def summary(store: SQLBase) -> list[Copied]:
    """Row count and SHA-256 of every table of ``store``, as a copy would be verified."""
    with store._tx("be read in full") as conn:
        return [checksum(conn, table) for table in TABLES]


def copy_store(source: SQLBase, destination: SQLBase) -> list[Copied]:
    """Copy every table of ``source`` into the empty ``destination``, verified (see above).

    Refused when the destination holds anything, or when a run holds a lock on the source."""
    for job in _jobs(source):
        holder = source.lock_holder(job)  # type: ignore[attr-defined]
        if holder is not None:
            raise JournalError(
                f"a run of job {job} is going on (pid {holder.get('pid', '?')} on host"
                f" {holder.get('host', '?')}): migrate the journal when no run is going on"
            )
    where = destination.location
    with (
        source._tx("be read for the migration") as src,
        destination._tx(f"take the migrated journal from {source.location}", write=True) as dst,
    ):
        for table in TABLES:
            if dst.execute(f"SELECT 1 FROM {table.name}{_where(table)} LIMIT 1").fetchone():
                raise JournalError(
                    f"the destination {where} is not empty (its table {table.name} holds rows):"
                    " migrate only into a new, empty store, so that nothing is mixed or lost"
                )
        copied = []
        for table in TABLES:
            sql = (
                f"INSERT INTO {table.name} ({', '.join(table.columns)})"
                f" VALUES ({', '.join('?' for _ in table.columns)})"
            )
            copied.append(checksum(src, table, _inserter(dst, sql)))
        restart = getattr(destination, "restart_sequences", None)
        if restart is not None:
            restart(dst)
        for table, sent in zip(TABLES, copied, strict=True):
            got = checksum(dst, table)
            if got != sent:
                raise JournalError(
                    f"the copy of table {table.name} into {where} does not match its source"
                    f" ({got.rows} rows, SHA-256 {got.sha256[:16]}, against {sent.rows} rows,"
                    f" SHA-256 {sent.sha256[:16]}): nothing was kept"
                )
    return copied


def _inserter(conn: Conn, sql: str) -> Callable[[list[Sequence[Any]]], None]:
    def insert(rows: list[Sequence[Any]]) -> None:
        conn.executemany(sql, rows)

    return insert


def _jobs(store: SQLBase) -> list[str]:
    with store._tx("list the jobs that ran") as conn:
        return [str(row[0]) for row in conn.execute("SELECT DISTINCT job FROM runs ORDER BY job")]
