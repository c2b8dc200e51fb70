"""Fixtures of the web tests: a sandbox, a site folder and an in-process application."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[Any]:
    from ledgerrun_sandbox import SandboxServer
    from tests.helpers.constants import KEY, SAMPLES

    with SandboxServer(SAMPLES / "accounts.json", port=0, api_keys=[KEY], limits="off") as server:
        yield server


# Starlette's test client asks for the httpx2 package and warns when it finds httpx instead;
# httpx is what the project installs, so import the client once here with that warning silenced.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import starlette.testclient  # noqa: F401


# In-process tests hash and check many passwords: cheap Argon2 parameters keep them quick (the
# hash records its parameters, so checking follows them). Servers started as processes keep the
# real ones.
def _cheap_hashes() -> None:
    from argon2 import PasswordHasher

    from ledgerrun.web import security

    security.HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


_cheap_hashes()
