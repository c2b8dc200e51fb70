"""Stripe's rate limits: one token bucket for the whole account, one per endpoint.

``--limits test`` (the default) and ``--limits live`` hold requests under the limits Stripe
documents (:mod:`ledgerrun_sandbox.rules`): the platform's global limit (25 or 100 requests a
second; requests made with ``Stripe-Account`` count against the platform) and each endpoint's
own (25 a second, search 20). Each bucket holds one second's worth of requests (the burst) and
refills continuously. A request is admitted only when both its buckets have a token, and then
takes one from each; a refused request takes none and is answered 429 ``rate_limit`` without
being executed. ``--limits off`` admits everything.

The buckets run on a monotonic clock of their own (injectable, for tests), not on the sandbox
clock: moving the sandbox clock forward does not refill them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ledgerrun_sandbox.errors import ApiError
from ledgerrun_sandbox.rules import LIMIT_MODES, endpoint_rate_limit, global_rate_limit

_DOCS = "https://stripe.com/docs/rate-limits"
MESSAGES = {
    "test": "Testmode request rate limit exceeded, the rate limits in testmode are lower than "
    f"livemode. You can learn more about rate limits here {_DOCS}.",
    "live": f"Request rate limit exceeded. You can learn more about rate limits here {_DOCS}.",
}
"""Stripe's own wording of a 429 ``rate_limit`` in each mode."""


@dataclass
class _Bucket:
    rate: float  # tokens a second, and the most the bucket holds (a burst of one second)
    tokens: float
    at: float  # when ``tokens`` was last brought up to date

    def refill(self, now: float) -> None:
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now


class RateLimiter:
    def __init__(self, mode: str = "test", now: Callable[[], float] = time.monotonic) -> None:
        if mode not in LIMIT_MODES:
            raise ValueError(f"limits must be one of {', '.join(LIMIT_MODES)}, not {mode!r}")
        self.mode = mode
        self._now = now
        self._lock = threading.Lock()
        rate = global_rate_limit(mode)
        self._global = None if rate is None else _Bucket(rate, rate, now())
        self._endpoints: dict[str, _Bucket] = {}

    def admit(self, operation: str) -> None:
        """Take a token for one request to ``operation`` (``"POST /v1/transfers"``), or raise
        the 429 Stripe answers when the account or the endpoint is over its limit."""
        if self._global is None:
            return
        with self._lock:
            now = self._now()
            bucket = self._endpoints.get(operation)
            if bucket is None:
                rate = endpoint_rate_limit(operation)
                bucket = self._endpoints[operation] = _Bucket(rate, rate, now)
            self._global.refill(now)
            bucket.refill(now)
            if self._global.tokens >= 1 and bucket.tokens >= 1:
                self._global.tokens -= 1
                bucket.tokens -= 1
                return
        # Stripe's SDKs do not retry a true rate limit (only lock timeouts carry
        # Stripe-Should-Retry: true), so the answer carries no Stripe-Should-Retry.
        raise ApiError(429, MESSAGES[self.mode], code="rate_limit")
