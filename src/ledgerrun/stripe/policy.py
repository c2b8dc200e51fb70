"""When to send a request again: one pure decision, and the back-off between attempts.

Everything Stripe can answer reduces to a status, an error code and the ``Stripe-Should-Retry``
header (no status at all when the answer never arrived). :func:`classify` says what such an answer
means for the request; :func:`decide` adds the attempt count. No other module retries.

============================  ==========================================================
answer                        verdict
============================  ==========================================================
no answer (timeout, dropped)  RETRY: same key, same params; the request may have run
Stripe-Should-Retry: true     RETRY
401                           FATAL: the key itself is refused; stop the run
429 rate_limit / lock_timeout RETRY: Stripe refused before executing
409 idempotency_key_in_use    RETRY: the first request with this key is still running
400 idempotency_error         UNKNOWN: the key was used with other parameters
5xx                           RETRY, unless Stripe-Should-Retry: false, then UNKNOWN
other 4xx                     FAILED: a definitive refusal (balance_insufficient, ...)
============================  ==========================================================

A RETRY verdict with no attempts left becomes UNKNOWN: the request may have executed, and only
the same idempotency key (or a look-up in Stripe) can settle it later.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class Verdict(enum.Enum):
    RETRY = "retry"
    FAILED = "failed"
    UNKNOWN = "unknown"
    FATAL = "fatal"


def classify(status: int | None, code: str | None, should_retry: bool | None) -> Verdict:
    """What an answer means for the request, before counting attempts."""
    if status is None:
        return Verdict.RETRY
    if status == 401:
        return Verdict.FATAL
    if should_retry is True:
        return Verdict.RETRY
    if code == "idempotency_error":
        return Verdict.UNKNOWN
    if status in (409, 429):
        return Verdict.RETRY
    if status >= 500:
        return Verdict.UNKNOWN if should_retry is False else Verdict.RETRY
    return Verdict.FAILED


@dataclass(frozen=True)
class Policy:
    """How many times to try one request, and how long to wait between tries (seconds)."""

    max_attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 8.0


def decide(
    status: int | None, code: str | None, should_retry: bool | None, attempt: int, policy: Policy
) -> Verdict:
    """The verdict for the answer to attempt number ``attempt`` (1 for the first try)."""
    verdict = classify(status, code, should_retry)
    if verdict is Verdict.RETRY and attempt >= policy.max_attempts:
        return Verdict.UNKNOWN
    return verdict


def backoff(
    attempt: int, policy: Policy, jitter: Callable[[], float], retry_after_s: float | None = None
) -> float:
    """Seconds to wait after attempt ``attempt`` failed: exponential, capped, with "equal jitter"
    (between half and all of the step), and never less than a ``Retry-After`` the server gave.
    ``jitter`` returns a number in [0, 1)."""
    step = min(policy.cap_s, policy.base_s * 2 ** (attempt - 1))
    wait: float = step / 2 + step / 2 * jitter()
    return max(wait, retry_after_s or 0.0)
