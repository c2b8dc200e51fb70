"""An in-process Stripe that answers at once, for timing what the runner itself costs.

The sandbox on the same two cores cannot serve 1,000 debits a second (nor could any process
sharing them with the runner), so the runner's ceiling is measured against this instead: the
gateway protocol (one "request" per call, as the real gateway sends one HTTP request per call)
answering every debit and credit at once, with Stripe's idempotency (a key sent again gets the
first answer). Behind it run the real :class:`~ledgerrun.stripe.client.Client` (pacing off,
retries, the breaker), the real executor and engine, and a real store.

Also here: a journal in memory that keeps no rules at all, so that the CPU the store costs a
debit can be read as the difference between a run on it and a run on a real store.

    .venv/bin/python benchmarks/instant.py LOCATION [--rows 3000] [--accounts 300]
                                   [--concurrency 8] [--latency-ms 0] [--rate REQUESTS_PER_S]

prints one run's figures as JSON (``benchmarks/store.py`` runs it, in a process of its own each
time, on each store and on another version's sources for comparison).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import itertools
import json
import resource
import sqlite3
import threading
import time
from collections.abc import Mapping
from typing import Any

from ledgerrun.clock import SystemClock
from ledgerrun.events import Events
from ledgerrun.send.execute import Executor, Item
from ledgerrun.stripe.client import Client
from ledgerrun.stripe.pacing import Pacer
from ledgerrun.stripe.shapes import Movement
from ledgerrun.vocab import Direction

PLATFORM = "acct_1PlatformBENCH0000"


class InstantGateway:
    """Debits and credits answered at once (or after ``latency_s``, as a network would: the
    thread sleeps); every other request is not asked by a run's sending phase and raises."""

    server_offset: dt.timedelta | None = dt.timedelta(0)

    def __init__(self, latency_s: float = 0.0) -> None:
        self._latency_s = latency_s
        self._ids = itertools.count(1)
        self._made: dict[str, Movement] = {}
        self._lock = threading.Lock()
        self.requests = 0

    def close(self) -> None:
        pass

    def debit(self, method: str, account: str, request: Mapping[str, Any], key: str) -> Movement:
        return self._move(key, request, Direction.DEBIT, method, account)

    def credit(self, request: Mapping[str, Any], key: str) -> Movement:
        return self._move(key, request, Direction.CREDIT, "", str(request["destination"]))

    def _move(
        self, key: str, request: Mapping[str, Any], direction: Direction, method: str, account: str
    ) -> Movement:
        if self._latency_s:
            time.sleep(self._latency_s)
        with self._lock:
            self.requests += 1
            if key in self._made:
                return self._made[key]
            n = next(self._ids)
            made = Movement(
                direction=direction,
                method=method,
                transfer_id=f"tr_bench{n:010d}",
                payment_id=f"py_bench{n:010d}",
                account=account,
                amount=int(request["amount"]),
                currency=str(request["currency"]),
                created=1_790_000_000 + n,
                transfer_group=request.get("transfer_group"),
                metadata=dict(request.get("metadata") or {}),
                request_id=f"req_bench{n:010d}",
            )
            self._made[key] = made
            return made

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the instant gateway answers no {name}: a run's sending never asks")


class NoJournal:
    """Takes every intent and outcome and keeps nothing: the runner without a store."""

    location = "memory"

    def record_intent(self, entry: Any) -> None:
        pass

    def record_success(self, key: str, **values: Any) -> None:
        pass

    def record_failure(self, key: str, **values: Any) -> None:
        pass

    def record_unknown(self, key: str, **values: Any) -> None:
        pass

    def close(self) -> None:
        pass


def items(rows: int, accounts: int) -> list[Item]:
    """``rows`` debits by transfer over ``accounts`` accounts, with a run's usual request."""
    out = []
    for index in range(rows):
        account = f"acct_1Bench{index % accounts:010d}"
        key = f"bench-{index:07d}"
        request = {
            "amount": 1000 + index % 977,
            "currency": "usd",
            "destination": PLATFORM,
            "transfer_group": "ledgerrun",
            "description": f"Adjustment {key}",
            "metadata": {
                "ledgerrun_job": "bench",
                "ledgerrun_adjustment_id": key.upper(),
                "ledgerrun_account": account,
                "ledgerrun_run_date": "2026-11-26",
            },
        }
        out.append(
            Item(
                index=index,
                row=index + 2,
                key=key,
                adjustment_id=key.upper(),
                account=account,
                currency="usd",
                amount=int(request["amount"]),  # type: ignore[call-overload]
                direction=Direction.DEBIT,
                method="transfer",
                request=request,
            )
        )
    return out


def executor(
    store: Any, concurrency: int, latency_s: float = 0.0, rate: float | None = None
) -> Executor:
    clock = SystemClock()
    client = Client(
        InstantGateway(latency_s),
        pacer=Pacer(clock, overall=rate),
        clock=clock,
        jitter=lambda: 0.0,
    )
    return Executor(
        job="bench",
        run_id="bench-run",
        run_date="2026-11-26",
        client=client,
        store=store,
        clock=clock,
        events=Events(),
        concurrency=concurrency,
    )


def _connections(store: Any) -> list[sqlite3.Connection]:
    """The SQLite connections a store holds (however many its version keeps)."""
    return [v for v in vars(store).values() if isinstance(v, sqlite3.Connection)]


class Statements:
    """Statements and transactions the runner sends to its store, counted on the client (a
    SQLite trace; psycopg's cursors wrapped: well under a microsecond a statement)."""

    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0

    def saw(self, sql: Any) -> None:
        self.statements += 1  # not locked: the GIL keeps a miscount rare, and it is a count
        if isinstance(sql, str) and sql[:6].upper() == "COMMIT":
            self.commits += 1

    def watch(self, store: Any) -> None:
        for conn in _connections(store):
            conn.set_trace_callback(self.saw)
        if not _connections(store) and not isinstance(store, NoJournal):  # PostgreSQL
            import psycopg

            execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany
            saw = self.saw

            def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                saw(query)
                return execute(self, query, *args, **kwargs)

            def counted_many(self: Any, query: Any, params: Any, *args: Any, **kwargs: Any) -> Any:
                params = list(params)
                counter.statements += len(params)
                return executemany(self, query, params, *args, **kwargs)

            counter = self
            psycopg.Cursor.execute = counted  # type: ignore[method-assign]
            psycopg.Cursor.executemany = counted_many  # type: ignore[method-assign,assignment]


def measure(
    location: str,
    rows: int,
    accounts: int,
    concurrency: int,
    latency_s: float = 0.0,
    rate: float | None = None,
) -> dict[str, float]:
    """One run's sending through the real executor, engine and client on the instant gateway,
    into the store at ``location`` ("memory": no store at all)."""
    from ledgerrun.store import open_store

    store: Any = NoJournal() if location == "memory" else open_store(location)
    count = Statements()
    count.watch(store)
    run = executor(store, concurrency, latency_s, rate)
    todo = items(rows, accounts)
    gc.collect()
    before, began = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    outcomes = run.run(todo, {})
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    run.close()
    store.close()
    done = sum(1 for o in outcomes.values() if o.status == "succeeded")
    if done != rows:
        raise SystemExit(f"{done} of {rows} debits succeeded: {run.notes}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "debits_per_s": rows / wall,
        "cpu_ms": cpu / rows * 1000,
        "statements": count.statements / rows,
        "transactions": count.commits / rows,
        "switches": (after.ru_nvcsw - before.ru_nvcsw) / rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="one run's sending into one store, as JSON")
    parser.add_argument("location", help='a SQLite path, a PostgreSQL URL, or "memory"')
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="each debit's answer")
    parser.add_argument("--rate", type=float, help="requests a second at most (default: none)")
    args = parser.parse_args()
    figures = measure(
        args.location,
        args.rows,
        args.accounts,
        args.concurrency,
        args.latency_ms / 1000,
        args.rate,
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
