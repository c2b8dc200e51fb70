"""Fixtures of the end-to-end suites: a fresh PostgreSQL store (a schema of its own on the test
server, see :mod:`tests.store.pg`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.store import pg


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL store."""
    url, schema = pg.fresh_store_url()
    yield url
    pg.drop_schema(schema)
