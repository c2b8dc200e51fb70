"""The soak: mixed debits, charges, refunds, replays, lists and balance reads from many threads
to one sandbox, after which its books must balance to the cent.
``tests/sandbox/test_sandbox_soak.py`` runs 2,000 requests; ``tools/soak.py`` (``make soak``)
runs 10,000."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import stripe

from ledgerrun_sandbox import SandboxServer
from tests.helpers.sandbox import (
    CANADA,
    CUSTOM,
    EMPTY,
    EXPRESS,
    charge_debit,
    debit,
    id_of,
    make_client,
    sandbox_state,
)

# A debit in another currency than the account's is refused with no code, naming "currency".
EXPECTED_REFUSALS = {"balance_insufficient", "param:currency", "transfers_not_allowed"}
# A refund of more than is left names "amount"; of a fully refunded payment, its own code.
REFUND_REFUSALS = {"charge_already_refunded", "param:amount"}


def _totals(state: dict[str, Any]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for account in (state["platform"], *state["accounts"]):
        totals.update(account["balance"])
    return totals


class _Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def add(self, **counts: int) -> None:
        with self.lock:
            self.counts.update(counts)


def _soak_worker(url: str, index: int, requests: int, tally: _Tally) -> None:
    rng = random.Random(index)
    client = make_client(url)
    made: list[tuple[str, dict[str, Any], str, str]] = []  # (kind, params, account, key)
    payments: list[tuple[str, int]] = []  # the platform's py_ of each debit, and its amount
    debit_targets = [
        (EXPRESS, "usd"), (CUSTOM, "usd"), (EMPTY, "usd"), (EMPTY, "usd"), (CANADA, "cad"),
        (EXPRESS, "eur"),  # not the account's currency
    ]  # fmt: skip
    for n in range(requests):
        roll = rng.random()
        key = f"soak-{index}-{n}"
        try:
            if roll < 0.55:
                account, currency = rng.choice(debit_targets)
                params: dict[str, Any] = {"amount": rng.randint(50, 5000), "currency": currency,
                                          "metadata": {"n": str(n)}}  # fmt: skip
                tally.add(posts=1)
                if roll < 0.35:
                    obj: Any = debit(client, account, key=key, **params)
                    made.append(("transfer", params, account, key))
                    payments.append((obj.destination_payment, obj.amount))
                else:
                    obj = charge_debit(client, account, key=key, **params)
                    made.append(("charge", params, account, key))
                    payments.append((obj.id, obj.amount))
                tally.add(executed=1, moved=1)
            elif roll < 0.65:
                account = rng.choice([EXPRESS, CUSTOM, EMPTY])
                tally.add(posts=1)
                client.v1.transfers.create(
                    {"amount": rng.randint(1, 3000), "currency": "usd", "destination": account},
                    {"idempotency_key": key},
                )
                tally.add(executed=1, moved=1)
            elif roll < 0.7 and payments:
                payment, amount = rng.choice(payments)
                tally.add(posts=1)
                refund = client.v1.refunds.create(
                    {"charge": payment, "amount": rng.randint(1, amount)}, {"idempotency_key": key}
                )
                assert id_of(refund.source_transfer_reversal).startswith("trr_")
                tally.add(executed=1, refunds=1)
            elif roll < 0.75 and made:
                kind, params, account, old_key = rng.choice(made)
                tally.add(posts=1)
                way = debit if kind == "transfer" else charge_debit
                obj = way(client, account, key=old_key, **params)
                assert obj.last_response.headers["Idempotent-Replayed"] == "true"
                tally.add(replays=1)
            elif roll < 0.9:
                if rng.random() < 0.5:
                    page: stripe.ListObject[Any] = client.v1.transfers.list(
                        {"limit": rng.randint(1, 20)},
                        {"stripe_account": rng.choice(debit_targets[:3])[0]},
                    )
                else:
                    page = client.v1.charges.list({"limit": rng.randint(1, 20)})
                # The SDK types a list's data, has_more and url, not its object.
                assert page.object == "list"  # type: ignore[attr-defined]
            else:
                balance = client.v1.balance.retrieve(options={"stripe_account": EXPRESS})
                assert balance.available[0].amount >= 0
        except stripe.InvalidRequestError as exc:
            reason = exc.code or f"param:{exc.param}"
            assert reason in EXPECTED_REFUSALS | REFUND_REFUSALS, exc
            tally.add(refused=1, **{f"code:{reason}": 1})
        tally.add(requests=1)


def soak(server: SandboxServer, threads: int, per_thread: int) -> None:
    """Mixed requests from many threads at once; the books must balance to the cent. The test
    runs 2,000 requests; ``tools/soak.py`` (``make soak``) runs 10,000."""
    before = sandbox_state(server.url)
    tally = _Tally()
    with ThreadPoolExecutor(threads) as pool:
        futures = [
            pool.submit(_soak_worker, server.url, i, per_thread, tally) for i in range(threads)
        ]
        for future in futures:
            future.result()
    after = sandbox_state(server.url)
    counts, stats = tally.counts, after["stats"]
    total = threads * per_thread
    assert counts["requests"] == stats["requests"] == total
    assert counts["posts"] == stats["write_requests"]
    assert stats["idempotent_replays"] == counts["replays"] > total // 100
    assert stats["writes_refused"] == counts["refused"] > total // 100
    assert all(counts[f"code:{code}"] > total // 1000 for code in EXPECTED_REFUSALS), counts
    executed, moved = counts["executed"], counts["moved"]
    assert stats["writes_executed"] == executed > total // 5
    assert len(after["transfers"]) == len(after["charges"]) == moved
    assert len({t["id"] for t in after["transfers"]}) == moved
    assert len(after["refunds"]) == counts["refunds"] > 0
    reversed_total = sum(t["amount_reversed"] for t in after["transfers"])
    assert reversed_total == sum(r["amount"] for r in after["refunds"])
    assert _totals(after) == _totals(before)
    for account in (after["platform"], *after["accounts"]):
        assert all(amount >= 0 for amount in account["balance"].values())
