"""The retry decision as a table: status, code and Stripe-Should-Retry -> verdict."""

from __future__ import annotations

import pytest

from ledgerrun.stripe.policy import Policy, Verdict, backoff, classify, decide

R, F, U, X = Verdict.RETRY, Verdict.FAILED, Verdict.UNKNOWN, Verdict.FATAL


@pytest.mark.parametrize(
    ("status", "code", "should_retry", "verdict"),
    [
        (None, "network_error", None, R),  # timeout or dropped connection: same key again
        (429, "rate_limit", None, R),
        (429, "lock_timeout", True, R),
        (429, "lock_timeout", None, R),
        (409, "idempotency_key_in_use", True, R),
        (409, "idempotency_key_in_use", None, R),
        (500, "api_error", True, R),  # refused before executing
        (500, "api_error", None, R),
        (503, None, None, R),
        (500, "api_error", False, U),  # Stripe says a retry would replay the same 500
        (400, "idempotency_error", None, U),  # the key was used with other params
        (400, "balance_insufficient", None, F),
        (400, "balance_insufficient", False, F),
        (400, "parameter_unknown", None, F),
        (402, "card_declined", None, F),
        (403, "account_invalid", None, F),
        (404, "resource_missing", None, F),
        (400, "anything", True, R),  # Stripe's own advice wins over the status
        (401, None, None, X),
        (401, None, True, X),  # a refused key is never retried
    ],
)
def test_classify(
    status: int | None, code: str | None, should_retry: bool | None, verdict: Verdict
) -> None:
    assert classify(status, code, should_retry) is verdict


@pytest.mark.parametrize(("attempt", "verdict"), [(1, R), (5, R), (6, U), (9, U)])
def test_retries_run_out_into_unknown(attempt: int, verdict: Verdict) -> None:
    assert decide(None, "network_error", None, attempt, Policy(max_attempts=6)) is verdict
    assert decide(429, "rate_limit", None, attempt, Policy(max_attempts=6)) is verdict


def test_definitive_answers_do_not_depend_on_the_attempt() -> None:
    for attempt in (1, 99):
        assert decide(400, "balance_insufficient", None, attempt, Policy()) is F
        assert decide(401, None, None, attempt, Policy()) is X


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [
        (1, 0.0, 0.25),
        (1, 0.999999, 0.5),
        (2, 0.0, 0.5),
        (3, 0.5, 1.5),
        (5, 0.0, 4.0),
        (6, 0.0, 4.0),
        (10, 1.0, 8.0),
    ],
)
def test_backoff_is_exponential_capped_with_equal_jitter(
    attempt: int, jitter: float, expected: float
) -> None:
    policy = Policy(base_s=0.5, cap_s=8.0)
    assert backoff(attempt, policy, lambda: jitter) == pytest.approx(expected, abs=1e-5)


def test_backoff_honours_retry_after() -> None:
    assert backoff(1, Policy(), lambda: 0.0, retry_after_s=3.0) == 3.0
