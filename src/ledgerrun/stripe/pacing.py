"""The pace of a command's requests, as Stripe limits them.

Stripe limits each account to a rate of requests a second (25 in test mode, 100 live) and each
endpoint (a method and a path template, ``POST /v1/transfers``) to 25 a second unless it
documents another figure (``facts.endpoint_rate_limit``); background jobs are asked to keep to a
share of that. So a :class:`Pacer` holds one token bucket for the whole command and one per
endpoint, each with a burst of one second's worth: a request waits for a token of both, taken in
one reservation (a caller never holds one while it waits for the other). Reads (pre-flight, the
guard, reconcile) use their own endpoints' buckets, so in live mode the sending endpoint runs at
its own limit while the reads share what is left of the account's.

When Stripe answers 429 all the same (its own counting differs from ours by a few requests, or
another program uses the same key), the endpoint's pace is lowered (by :data:`BACK_OFF`) and
then raised again slowly, a small step with every answer, up to its limit.

Requests made with ``Stripe-Account`` (as a connected account) are counted against the platform:
Stripe does not document which account they count against, so the stricter reading is taken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ledgerrun.clock import Clock

BACK_OFF = 0.7  # an endpoint answered 429: its pace times this
RECOVERY_STEPS = 200  # answers in a row that bring a lowered pace back to its limit
FLOOR = 1.0  # requests a second an endpoint is never lowered below


@dataclass
class _Bucket:
    """A token bucket kept as the time its next token is due (the generic cell rate
    algorithm): a request may go at ``earliest(now)``, and taking a slot moves that on."""

    ceiling: float  # requests a second at most
    rate: float
    burst_s: float
    due: float  # when the next token is due, with no burst left

    def earliest(self, now: float) -> float:
        interval = 1.0 / self.rate
        tokens = max(1.0, self.rate * self.burst_s)
        return max(self.due, now - (tokens - 1) * interval)

    def take(self, slot: float) -> None:
        self.due = max(self.due, slot) + 1.0 / self.rate


class Pacer:
    """Waits each request for its turn: see the module docstring.

    ``overall`` is the command's rate across all endpoints (None: no limit), ``endpoint`` the
    limit of each endpoint by its name (None: none). Thread-safe; every request of every thread
    of a command goes through one pacer."""

    def __init__(
        self,
        clock: Clock,
        *,
        overall: float | None,
        endpoint: Callable[[str], float | None] = lambda name: None,
        burst_s: float = 1.0,
        adaptive: bool = True,
    ) -> None:
        if overall is not None and not overall > 0:
            raise ValueError("the overall rate must be above 0")
        self._clock = clock
        self._limit = endpoint
        self._burst_s = burst_s
        self._adaptive = adaptive
        self._lock = threading.Lock()
        now = clock.monotonic()
        self._overall = None if overall is None else _Bucket(overall, overall, burst_s, now)
        self._endpoints: dict[str, _Bucket | None] = {}
        self.taken = 0
        self.throttles: dict[str, int] = {}  # endpoint -> 429s answered

    def rate(self, endpoint: str) -> float | None:
        """The endpoint's pace now (lowered after a 429), or None when it has no limit."""
        with self._lock:
            bucket = self._bucket(endpoint)
            return None if bucket is None else bucket.rate

    def acquire(self, endpoint: str) -> float:
        """Wait for a token of the command's bucket and of the endpoint's; return the wait."""
        with self._lock:
            now = self._clock.monotonic()
            buckets = [b for b in (self._overall, self._bucket(endpoint)) if b is not None]
            slot = max([now, *(b.earliest(now) for b in buckets)]) if buckets else now
            for bucket in buckets:
                bucket.take(slot)
            self.taken += 1
        wait = slot - now
        if wait > 0:
            self._clock.sleep(wait)
        return max(wait, 0.0)

    def throttled(self, endpoint: str) -> None:
        """Stripe answered 429: the endpoint goes slower for a while."""
        with self._lock:
            self.throttles[endpoint] = self.throttles.get(endpoint, 0) + 1
            bucket = self._bucket(endpoint)
            if bucket is not None and self._adaptive:
                bucket.rate = max(FLOOR, bucket.rate * BACK_OFF)

    def answered(self, endpoint: str) -> None:
        """Stripe answered (not a 429): a lowered pace comes back a step towards its limit."""
        with self._lock:
            bucket = self._endpoints.get(endpoint)
            if bucket is not None and bucket.rate < bucket.ceiling:
                bucket.rate = min(bucket.ceiling, bucket.rate + bucket.ceiling / RECOVERY_STEPS)

    def _bucket(self, endpoint: str) -> _Bucket | None:
        if endpoint not in self._endpoints:
            limit = self._limit(endpoint)
            self._endpoints[endpoint] = (
                None if limit is None else _Bucket(limit, limit, self._burst_s, 0.0)
            )
        return self._endpoints[endpoint]
