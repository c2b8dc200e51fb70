"""How requests are retried: the back-off and the circuit breaker (their pace is
:mod:`ledgerrun.stripe.pacing`'s).

What an answer *means* (retry it, fail the row, leave it unknown) is decided once, when the
gateway maps it to an exception class (see :mod:`ledgerrun.errors`). This module only says how
long to wait, how often to try, and when to give up on Stripe altogether:

============================  ==========================================================
answer                        what the client does
============================  ==========================================================
NotExecutedError              wait (Retry-After, else back-off), retry; out of tries: the
  (429s, no connection)       row is ``skipped`` (nothing was executed)
MaybeExecutedError            wait, retry with the same key; out of tries: ``unknown``
  (409, 5xx, no answer)
UnknownOutcomeError           no retry: ``unknown`` (a key conflict, a 5xx not to retry)
RefusedError (other 4xx)      no retry: the row ``failed``, no money moved
401                           no retry: the whole command stops (StripeAuthError)
============================  ==========================================================

The back-off is exponential with "equal jitter" and never shorter than a ``Retry-After`` the
server sent (capped at :attr:`Policy.retry_after_cap_s`). The breaker opens after
``breaker_threshold`` requests in a row got no usable answer (no connection, no answer, 5xx,
429) with no success in between: the run then sends nothing more and reports what it never
sent as ``skipped``, instead of crawling through one timeout per remaining row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple


class Policy(NamedTuple):
    """How many times to try one request, and how long to wait between tries (seconds)."""

    max_attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 8.0
    retry_after_cap_s: float = 60.0
    breaker_threshold: int = 12


def backoff(
    attempt: int, policy: Policy, jitter: Callable[[], float], retry_after_s: float | None = None
) -> float:
    """Seconds to wait after attempt ``attempt`` (1 for the first) failed: exponential, capped,
    with "equal jitter" (between half and all of the step), and never less than the
    ``Retry-After`` the server gave (itself capped). ``jitter`` returns a number in [0, 1)."""
    step = min(policy.cap_s, policy.base_s * 2 ** (attempt - 1))
    wait: float = step / 2 + step / 2 * jitter()
    if retry_after_s is not None and retry_after_s > 0:
        wait = max(wait, min(retry_after_s, policy.retry_after_cap_s))
    return wait


class Breaker:
    """Counts requests in a row that got no usable answer; opens at ``threshold``.

    Thread-safe. Once open it stays open for the rest of the command: Stripe (or the way to it)
    is down, and the next scheduled run will try again.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = max(1, threshold)
        self._lock = threading.Lock()
        self._streak = 0
        self._open = threading.Event()
        self.reason = ""

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def success(self) -> None:
        with self._lock:
            self._streak = 0

    def failure(self, reason: str) -> bool:
        """Count one failed request; True when this failure opened the breaker."""
        with self._lock:
            self._streak += 1
            if self._streak >= self.threshold and not self._open.is_set():
                self.reason = reason
                self._open.set()
                return True
            return False
