"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path: Path):
    """Write text (or bytes) to a file in tmp_path and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return _write


@pytest.fixture
def sandbox():
    """A sandbox seeded with the sample accounts, serving on a free port of 127.0.0.1."""
    from ledgerrun_sandbox import SandboxServer
    from tests.support import SAMPLES

    with SandboxServer(SAMPLES / "accounts.json", port=0) as server:
        yield server


@pytest.fixture(autouse=True)
def own_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own per-user state folder (where bare ledgers keep their journal), in
    this process and in every command it starts: nothing reaches the real home folder."""
    home = tmp_path / ".state-home"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    monkeypatch.delenv("LEDGERRUN_JOURNAL", raising=False)
    return home
