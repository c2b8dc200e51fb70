"""Fixtures for the sandbox tests: a fresh in-process sandbox per test, and SDK clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from sandbox_helpers import ServerFactory, base_seed, make_client

from ledgerrun_sandbox import Faults, SandboxServer


@pytest.fixture
def make_server() -> Iterator[ServerFactory]:
    """Start sandboxes on free ports (default seed unless given); all stop at teardown."""
    started: list[SandboxServer] = []

    def factory(
        seed: dict[str, Any] | None = None, faults: Faults | None = None, seed_rng: int = 0
    ) -> SandboxServer:
        server = SandboxServer(seed or base_seed(), faults=faults, seed_rng=seed_rng).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: ServerFactory) -> SandboxServer:
    return make_server()


@pytest.fixture
def client(server: SandboxServer) -> stripe.StripeClient:
    return make_client(server.url)
