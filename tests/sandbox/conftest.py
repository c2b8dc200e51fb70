"""Fixtures for the sandbox tests: a fresh sandbox per test (the shared ``make_sandbox``, with
the sandbox tests' own seed by default), and SDK clients."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from ledgerrun_sandbox import Faults, SandboxServer
from tests.helpers.sandbox import ServerFactory, base_seed, make_client


@pytest.fixture
def make_server(make_sandbox: ServerFactory) -> ServerFactory:
    """Start sandboxes on free ports (:func:`base_seed` unless given); all stop at teardown."""

    def factory(
        seed: dict[str, Any] | None = None,
        faults: Faults | None = None,
        seed_rng: int = 0,
        **options: Any,
    ) -> SandboxServer:
        return make_sandbox(seed or base_seed(), faults=faults, seed_rng=seed_rng, **options)

    return factory


@pytest.fixture
def server(make_server: ServerFactory) -> SandboxServer:
    return make_server()


@pytest.fixture
def client(server: SandboxServer) -> stripe.StripeClient:
    return make_client(server.url)
