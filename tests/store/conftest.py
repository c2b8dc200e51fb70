"""The store contract runs against every store: each test gets a fresh, empty one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledgerrun.store import open_store
from ledgerrun.store.model import Store

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh store lives: a SQLite path (or a PostgreSQL URL)."""
    if request.param == "sqlite":
        return str(tmp_path / "state" / "journal.sqlite")
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
