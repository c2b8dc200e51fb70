"""PostgreSQL plumbing for :mod:`ledgerrun.store.postgres`: connections (with the TCP settings
that notice a vanished host in seconds), URLs (never with a password), the adapter that lets the
store's SQL mixins (written with ``?`` placeholders, as for SQLite) run on psycopg in a pipeline,
and the small queries the store asks of a connection."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections.abc import Iterator, Sequence
from typing import Any, cast

import psycopg
from psycopg import errors as pgerrors
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from ledgerrun.errors import ConfigError, JournalError, StoreUnavailableError
from ledgerrun.job import redact_location
from ledgerrun.store.sql import Cursor

PgConn = psycopg.Connection[tuple[Any, ...]]

# Client-side TCP settings of every connection (unless the URL sets them): a server or a network
# that vanishes is noticed within seconds, not the kernel's two hours.
CLIENT_SETTINGS = {
    "keepalives": 1,
    "keepalives_idle": 2,
    "keepalives_interval": 1,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
    "connect_timeout": 10,
}
# The same on the server's side of each of our connections (user-settable): the server ends the
# session of a host that vanished, so its run lock is free within about five seconds. (No
# tcp_user_timeout there: on Linux it would override the probe count, and it is longer.)
SERVER_SETTINGS = (
    "SET tcp_keepalives_idle = 2; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 3"
)

_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def shown(url: str) -> str:
    """A store URL as it may be shown: no password, in the user part or in the query."""
    return _QUERY_PASSWORD.sub(r"\1…", redact_location(url))


def check_url(url: str) -> dict[str, Any]:
    """The URL's connection parameters; refused when it holds a password (never echoed)."""
    where = shown(url)
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise ConfigError(f"the store URL {where} cannot be read: {first_line(exc)}") from None
    if "password" in params:
        raise ConfigError(
            f"the store URL {where} has a password in it: ledgerrun takes PostgreSQL passwords"
            " only from the environment (PGPASSWORD) or a password file (~/.pgpass or"
            " PGPASSFILE), so that no job file, command line or log holds one. Remove it from"
            " the URL"
        )
    return params


class Adapter:
    """A psycopg connection seen through :class:`~ledgerrun.store.sql.Conn`: ``?`` placeholders,
    rows as tuples, in pipeline mode (a result read waits for what was sent before it)."""

    __slots__ = ("_conn", "_pipeline")

    def __init__(self, conn: PgConn, pipeline: psycopg.Pipeline) -> None:
        self._conn, self._pipeline = conn, pipeline

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        return cast(Cursor, Result(self._conn.execute(to_pyformat(sql), params), self._pipeline))

    def executemany(self, sql: str, params: Any) -> Cursor:
        cursor = self._conn.cursor()
        cursor.executemany(to_pyformat(sql), params)
        return cast(Cursor, Result(cursor, self._pipeline))


class Result:
    """A pipelined statement's cursor: fetching waits for its rows (psycopg does that), and so
    does reading ``rowcount`` (which the pipeline fills in only once the result arrives)."""

    __slots__ = ("_cursor", "_pipeline", "_synced")

    def __init__(self, cursor: psycopg.Cursor[tuple[Any, ...]], pipeline: psycopg.Pipeline):
        self._cursor, self._pipeline, self._synced = cursor, pipeline, False

    @property
    def rowcount(self) -> int:
        if not self._synced:
            self._pipeline.sync()
            self._synced = True
        return self._cursor.rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Sequence[Any]]:
        return list(self._cursor.fetchall())

    def __iter__(self) -> Iterator[Sequence[Any]]:
        return iter(self._cursor)


BEGIN_WRITE = "BEGIN ISOLATION LEVEL READ COMMITTED"
BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
TOKENS = re.compile(r"'(?:[^']|'')*'|\?|%")


@functools.lru_cache(maxsize=2048)
def to_pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s``; every literal ``%`` doubled (psycopg reads ``%``
    even inside quoted strings); a ``?`` inside a quoted string left alone."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        return token.replace("%", "%%")

    return TOKENS.sub(swap, sql)


def placeholder(conn: object) -> str:
    return "?" if isinstance(conn, Adapter) else "%s"


def connect(url: str, application: str, readonly: bool, busy_s: float) -> PgConn:
    """A new autocommit connection with the TCP settings above and the session's settings."""
    params = check_url(url)
    options: dict[str, Any] = {k: v for k, v in CLIENT_SETTINGS.items() if k not in params}
    if "application_name" not in params:
        options["application_name"] = application
    try:
        conn = psycopg.connect(url, autocommit=True, **options)
    except psycopg.Error as exc:
        detail = first_line(exc)
        hint = ""
        if "password" in detail:
            hint = ". Give the password in PGPASSWORD or ~/.pgpass (PGPASSFILE), never in the URL"
        if hint:
            raise JournalError(f"cannot connect to the store {shown(url)}: {detail}{hint}") from exc
        raise StoreUnavailableError(
            f"cannot connect to the store {shown(url)}: {detail}. Run again when the server is"
            " reachable; nothing is sent twice"
        ) from exc
    try:
        session = [SERVER_SETTINGS, f"SET lock_timeout = {int(busy_s * 1000)}"]
        if conn.info.server_version >= 140000:
            session.append("SET client_connection_check_interval = 1000")
        if readonly:
            session.append("SET default_transaction_read_only = on")
        row = conn.execute("SHOW synchronous_commit").fetchone()
        if row is not None and row[0] == "off":  # keep a stronger setting (remote_apply, ...)
            session.append("SET synchronous_commit = on")
        conn.execute("; ".join(session))
    except psycopg.Error as exc:
        conn.close()
        raise JournalError(
            f"cannot set up the connection to the store {shown(url)}: {first_line(exc)}"
        ) from exc
    return conn


def table_names(conn: PgConn) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid ="
        " c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
    )
    return {str(row[0]) for row in rows}


def current_schema(conn: PgConn) -> str | None:
    row = conn.execute("SELECT current_schema()").fetchone()
    return None if row is None or row[0] is None else str(row[0])


def end(conn: PgConn) -> None:
    """Roll back whatever transaction is still open on ``conn`` (after an error)."""
    if not conn.closed and conn.info.transaction_status != pq.TransactionStatus.IDLE:
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")


def schema_version(conn: PgConn) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row and str(row[0]).isdigit() else 0


def bring_forward(conn: PgConn, version: int) -> None:
    """Inside the caller's transaction (holding the schema lock): the lock holders' table, which
    came after version 2, and each later version's statements, then ``version`` written."""
    from ledgerrun.store import schema

    if "locks" not in table_names(conn):
        conn.execute(schema.POSTGRES_LOCKS)
    found = schema_version(conn)  # another session may have brought it forward meanwhile
    for step in range(found + 1, version + 1):
        for statement in schema.UPGRADES[step]:
            conn.execute(schema.postgres_ddl(statement))
    conn.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(version),))


def first_line(exc: BaseException) -> str:
    from ledgerrun.scrub import scrub

    text = str(exc).strip() or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return scrub("; ".join(lines[:2]))


def now_seconds() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def journal_error(exc: psycopg.Error, doing: str, where: str, busy_s: float) -> JournalError:
    """What a psycopg error means for the operator, as a JournalError."""
    detail = first_line(exc)
    if isinstance(exc, pgerrors.LockNotAvailable | pgerrors.QueryCanceled):
        return JournalError(
            f"the store {where} is locked by another session, so it could not {doing} within"
            f" {busy_s:g} s (is a psql session or another tool holding a transaction"
            " open on it?)"
        )
    if isinstance(exc, pgerrors.DiskFull | pgerrors.OutOfMemory | pgerrors.TooManyConnections):
        return StoreUnavailableError(
            f"the store {where} could not {doing}: the PostgreSQL server is out of space or"
            f" resources ({detail}). Free some and run again; nothing is sent twice"
        )
    if isinstance(exc, pgerrors.InsufficientPrivilege):
        return JournalError(
            f"the store {where} could not {doing}: the PostgreSQL user lacks a privilege"
            f" ({detail}). Grant it the use of its database or schema (see docs/stores.md)"
        )
    if isinstance(exc, pgerrors.ReadOnlySqlTransaction):
        return JournalError(
            f"the store {where} could not {doing}: the server accepts no writes ({detail}):"
            " is it a standby? Point the job at the primary"
        )
    if isinstance(exc, pgerrors.UndefinedTable | pgerrors.UndefinedColumn):
        return damaged(where, detail)
    if isinstance(exc, psycopg.OperationalError):
        return StoreUnavailableError(
            f"the store {where} could not {doing}: the connection to PostgreSQL failed"
            f" ({detail}). Nothing is sent twice: run again when the server is reachable"
        )
    return JournalError(f"the store {where} could not {doing}: {detail}")


def damaged(where: str, detail: str) -> JournalError:
    return JournalError(
        f"the store {where} is damaged ({detail}). It is the record of what was sent"
        " to Stripe, so do not drop it or start a new one: restore it from a backup (pg_dump),"
        " and keep the damaged schema for inspection"
    )
