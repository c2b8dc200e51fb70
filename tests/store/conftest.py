"""The store contract runs against every store: each test gets a fresh, empty one.

PostgreSQL stores are made on the test server (see :mod:`tests.store.pg`): a schema per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledgerrun.store import open_store
from ledgerrun.store.model import Store
from tests.store import pg

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a fresh store lives: a SQLite path, or a PostgreSQL URL (a schema of its own)."""
    if request.param == "sqlite":
        yield str(tmp_path / "state" / "journal.sqlite")
        return
    if request.param == "postgresql":
        url, schema = pg.fresh_store_url()
        yield url
        pg.drop_schema(schema)
        return
    raise AssertionError(request.param)


@pytest.fixture
def open_(location: str) -> Iterator[Callable[..., Store]]:
    opened: list[Store] = []

    def _open(**options: object) -> Store:
        store = open_store(location, **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(open_: Callable[..., Store]) -> Store:
    return open_()
