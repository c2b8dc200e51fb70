"""Concurrency: parallel debits never overdraw, and a 10,000-request soak keeps the books."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import stripe

from ledgerrun_sandbox import SandboxServer
from tests.helpers.constants import PLATFORM
from tests.helpers.sandbox import (
    EXPRESS,
    balance_of,
    charge_debit,
    debit,
    make_client,
    sandbox_state,
)
from tests.helpers.soak import soak


def test_parallel_debits_of_one_account_never_overdraw(server: SandboxServer) -> None:
    def worker(index: int) -> tuple[int, int]:
        client = make_client(server.url)
        ok = refused = 0
        for i in range(20):
            way = debit if (index + i) % 2 else charge_debit
            try:
                way(client, EXPRESS, 3000, key=f"p-{index}-{i}")
                ok += 1
            except stripe.InvalidRequestError as exc:
                assert exc.code == "balance_insufficient"
                refused += 1
        return ok, refused

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(worker, range(16)))
    ok = sum(r[0] for r in results)
    assert ok == 500_000 // 3000 and sum(r[1] for r in results) == 320 - ok
    state = sandbox_state(server.url)
    assert balance_of(state, EXPRESS) == 500_000 - ok * 3000 == 2000
    assert balance_of(state, PLATFORM) == 1_000_000 + ok * 3000


def test_soak_mixed_requests_from_16_threads_keeps_the_books(server: SandboxServer) -> None:
    soak(server, 16, 125)
