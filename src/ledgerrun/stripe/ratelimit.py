"""One token bucket for the whole run: every request to Stripe, from every worker, takes a token."""

from __future__ import annotations

import threading

from ledgerrun.clock import Clock


class TokenBucket:
    """At most ``rate`` requests per second on average, bursts of at most ``burst``.

    Callers reserve a slot under the lock and sleep outside it, so waiting workers do not block one
    another and slots are handed out in order. The default burst of one spaces requests evenly,
    which keeps every one-second window at or under the rate Stripe enforces.
    """

    def __init__(self, rate: float, clock: Clock, burst: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._next = clock.monotonic() - (self.burst - 1) / rate
        self.taken = 0

    def acquire(self) -> float:
        """Wait for a token; return how long this caller waited."""
        interval = 1.0 / self.rate
        with self._lock:
            now = self._clock.monotonic()
            earliest = now - (self.burst - 1) * interval
            slot = max(self._next, earliest)
            self._next = slot + interval
            self.taken += 1
        wait = slot - now
        if wait > 0:
            self._clock.sleep(wait)
        return max(wait, 0.0)
