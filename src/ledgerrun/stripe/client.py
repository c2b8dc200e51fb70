"""Every request to Stripe goes through one Caller: it takes a token from the run's bucket,
sends, and retries what :func:`ledgerrun.stripe.policy.decide` says to retry. This is the only
retry loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ledgerrun.clock import Clock
from ledgerrun.errors import KeyConflictError, RetriableError, StripeErrorMixin
from ledgerrun.stripe.policy import Policy, Verdict, backoff, decide
from ledgerrun.stripe.ratelimit import TokenBucket

T = TypeVar("T")


class GaveUp(Exception):
    """Retries ran out, or the answer leaves the outcome unknown; ``error`` is the last answer."""

    def __init__(self, error: StripeErrorMixin, attempts: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.attempts = attempts


@dataclass
class SentCount:
    """Requests sent by a Caller, for the journal's attempt counts."""

    sent: int = 0


class Caller:
    def __init__(
        self,
        bucket: TokenBucket,
        clock: Clock,
        jitter: Callable[[], float],
        policy: Policy | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.bucket = bucket
        self.clock = clock
        self.jitter = jitter
        self.policy = policy or Policy()
        self.stop = stop or threading.Event()
        self._jitter_lock = threading.Lock()

    def _draw(self) -> float:
        with self._jitter_lock:  # random.Random is not safe to share between threads
            return self.jitter()

    def call(self, request: Callable[[], T], counter: SentCount | None = None) -> T:
        """Send ``request`` until it succeeds or the policy says stop.

        Definitive refusals (row errors) and fatal errors propagate unchanged; :class:`GaveUp` is
        raised when the outcome is unknown: retries ran out, the run is stopping, or the answer
        itself leaves it open (a 5xx Stripe says not to retry, a key used with other params).
        """
        attempt = 0
        while True:
            attempt += 1
            self.bucket.acquire()
            if counter is not None:
                counter.sent += 1
            try:
                return request()
            except RetriableError as exc:
                verdict = decide(exc.http_status, exc.code, exc.should_retry, attempt, self.policy)
                if verdict is not Verdict.RETRY or self.stop.is_set():
                    raise GaveUp(exc, attempt) from exc
                self.clock.sleep(backoff(attempt, self.policy, self._draw, exc.retry_after_s))
            except KeyConflictError as exc:
                raise GaveUp(exc, attempt) from exc
