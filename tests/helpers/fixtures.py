"""The fixtures every test folder shares; ``tests/conftest.py`` registers them.

There is one way to start a sandbox in a test: :func:`make_sandbox` (any seed, any faults, as
many as the test needs, all stopped at teardown). :func:`sandbox` is the usual one: the sample
accounts of ``data_samples/accounts.json``; ``tests/sandbox/conftest.py`` gives the sandbox's
own tests their smaller seed through the same factory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledgerrun_sandbox import Faults, SandboxServer
from tests.helpers.constants import KEY, SAMPLE_ACCOUNTS
from tests.helpers.sandbox import ServerFactory


@pytest.fixture
def make_sandbox() -> Iterator[ServerFactory]:
    """``make_sandbox(seed=None, faults=None, seed_rng=0, **options)``: a sandbox serving on a
    free port of 127.0.0.1 (``seed`` a seed dict or file; the sample accounts when None),
    accepting the tests' ``KEY``, with rate limits off so that tests not about them never wait
    (``limits="test"`` and the other :class:`SandboxServer` options pass through). Every sandbox
    started stops at teardown (a test may stop one earlier)."""
    started: list[SandboxServer] = []

    def factory(
        seed: dict[str, Any] | Path | None = None,
        faults: Faults | None = None,
        seed_rng: int = 0,
        **options: Any,
    ) -> SandboxServer:
        seeded = SAMPLE_ACCOUNTS if seed is None else seed
        options.setdefault("api_keys", [KEY])
        options.setdefault("limits", "off")
        server = SandboxServer(seeded, faults=faults, seed_rng=seed_rng, **options).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(make_sandbox: ServerFactory) -> SandboxServer:
    """A sandbox seeded with the sample accounts, serving on a free port of 127.0.0.1."""
    return make_sandbox()


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
