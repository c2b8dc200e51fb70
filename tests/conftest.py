"""Fixtures shared by the whole suite: they live in tests/helpers/fixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.fixtures import make_sandbox, sandbox, write

__all__ = ["make_sandbox", "own_state_home", "sandbox", "write"]


@pytest.fixture(autouse=True)
def own_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own per-user state folder (where bare ledgers keep their journal), in
    this process and in every command it starts: nothing reaches the real home folder."""
    home = tmp_path / ".state-home"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    monkeypatch.delenv("LEDGERRUN_JOURNAL", raising=False)
    return home


# The suites that take seconds a test (real processes, sandboxes, browsers) run first, so that
# the two workers of `make test` finish together instead of one waiting on a long tail.
_SLOW_FIRST = (
    "tests/test_readme.py",  # the docs walk: the longest single test, so it starts first
    "tests/e2e/",
    "tests/web/test_browser.py",
    "tests/browser/",
    "tests/sandbox/test_sandbox_soak.py",
    "tests/ingest/test_fuzz.py",
    "tests/store/",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid
        for index, prefix in enumerate(_SLOW_FIRST):
            if path.startswith(prefix):
                return index
        return len(_SLOW_FIRST)

    items.sort(key=rank)  # stable: each suite keeps its own order
