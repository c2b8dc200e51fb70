"""The PostgreSQL server the tests use, and a fresh, empty store on it for each test.

``make test`` starts a throwaway server (tools/pgserver.py) and gives its URL in
$LEDGERRUN_TEST_PG. A plain ``pytest`` without it starts one itself with the same tool (one per
test process, stopped when the process ends). When no server can be had, the tests that need one
fail, saying how to get one: they are never skipped.

Each store lives in a schema of its own on the one test database (made in milliseconds; dropped
after the test), selected with the URL's ``options=-csearch_path=...``.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from tools import pgserver

ENV = pgserver.ENV
_started: dict[str, str] = {}
_guard = threading.Lock()


def server_url() -> str:
    """The test server's URL: $LEDGERRUN_TEST_PG, or a server this process starts."""
    with _guard:
        if os.environ.get(ENV):
            return os.environ[ENV]
        if "url" not in _started:
            folder = Path(tempfile.mkdtemp(prefix="ledgerrun-pg-"))
            folder.chmod(0o755)
            try:
                _started["url"] = pgserver.start(folder)
            except (pgserver.ServerError, OSError) as exc:
                pgserver.stop(folder)
                pytest.fail(
                    f"the PostgreSQL tests need a server and none could be started ({exc}). Run"
                    f" them with `make test`, which installs PostgreSQL and starts one, or set"
                    f" {ENV} to the URL of a database they may fill",
                    pytrace=False,
                )
            atexit.register(pgserver.stop, folder)
        return _started["url"]


def admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(server_url(), autocommit=True)


def with_schema(url: str, name: str) -> str:
    """``url`` whose sessions use the schema ``name``."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={name}')}"


def new_schema(owner: str | None = None) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    with admin() as conn:
        conn.execute(f"CREATE SCHEMA {name}" + (f" AUTHORIZATION {owner}" if owner else ""))
    return name


def drop_schema(name: str) -> None:
    """Drop a test's schema, unless a session still uses it (the server is thrown away)."""
    try:
        with admin() as conn:
            conn.execute("SET lock_timeout = '2s'")
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    except psycopg.Error:
        pass


def fresh_store_url() -> tuple[str, str]:
    """A URL where a fresh, empty store will be made, and the schema's name."""
    name = new_schema()
    return with_schema(server_url(), name), name
