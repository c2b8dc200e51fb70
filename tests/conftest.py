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
