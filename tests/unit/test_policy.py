"""Back-off, Retry-After and the circuit breaker; and the gateway's one error table."""

from __future__ import annotations

import datetime as dt

import pytest
import stripe

from ledgerrun import errors
from ledgerrun.stripe.answers import translate
from ledgerrun.stripe.policy import Breaker, Policy, backoff

NOW = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)


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


def test_backoff_honours_retry_after_within_its_cap() -> None:
    assert backoff(1, Policy(), lambda: 0.0, retry_after_s=4.0) == 4.0
    assert backoff(5, Policy(), lambda: 0.0, retry_after_s=1.0) == 4.0  # never shorter
    assert backoff(1, Policy(retry_after_cap_s=60), lambda: 0.0, retry_after_s=3600) == 60


def test_the_breaker_opens_after_a_streak_and_a_success_resets_it() -> None:
    breaker = Breaker(3)
    assert not breaker.failure("connection_failed")
    assert not breaker.failure("connection_failed")
    breaker.success()
    assert not breaker.failure("rate_limit") and not breaker.failure("rate_limit")
    assert breaker.failure("network_error") and breaker.is_open
    assert breaker.reason == "network_error"
    assert not breaker.failure("network_error")  # opened once, reported once
    breaker.success()
    assert breaker.is_open  # open for the rest of the command


def error(
    cls: type[stripe.StripeError],
    status: int | None,
    code: str | None = None,
    *,
    kind: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
) -> stripe.StripeError:
    body = {"error": {"type": kind, **({"code": code} if code else {}), "message": "m"}}
    options = dict(http_body=None, http_status=status, json_body=body, headers=headers or {})
    if cls is stripe.InvalidRequestError:
        return stripe.InvalidRequestError("m", None, code=code, **options)
    return cls("m", code=code, **options)  # type: ignore[arg-type]


TABLE = [
    (error(stripe.RateLimitError, 429, "rate_limit"), errors.RateLimitedError),
    (error(stripe.RateLimitError, 429, "lock_timeout"), errors.LockTimeoutError),
    (error(stripe.InvalidRequestError, 409, "idempotency_key_in_use"), errors.KeyInUseError),
    (error(stripe.IdempotencyError, 400, kind="idempotency_error"), errors.KeyConflictError),
    (error(stripe.APIError, 500, kind="api_error"), errors.StripeServerError),
    (
        error(stripe.APIError, 500, kind="api_error", headers={"Stripe-Should-Retry": "false"}),
        errors.ServerUnknownError,
    ),
    (
        error(stripe.InvalidRequestError, 400, "x", headers={"Stripe-Should-Retry": "true"}),
        errors.StripeServerError,
    ),
    (error(stripe.InvalidRequestError, 400, "balance_insufficient"), errors.RefusedError),
    (error(stripe.InvalidRequestError, 400, "amount_too_large"), errors.RefusedError),
    (error(stripe.InvalidRequestError, 404, "resource_missing"), errors.RefusedError),
    (error(stripe.PermissionError, 403, "account_invalid"), errors.AccountCheckError),
]


@pytest.mark.parametrize(("exc", "kind"), TABLE, ids=[k.__name__ for _, k in TABLE])
def test_the_error_table(exc: stripe.StripeError, kind: type) -> None:
    assert type(translate(exc, account_lookup=False, now=NOW)) is kind


def test_a_401_stops_the_command_and_never_shows_the_key() -> None:
    exc = error(stripe.AuthenticationError, 401, kind="invalid_request_error")
    got = translate(exc, account_lookup=False, now=NOW)
    assert isinstance(got, errors.StripeAuthError) and got.exit_code == errors.ExitCode.INVALID


def test_an_account_look_up_names_what_is_wrong() -> None:
    missing = translate(error(stripe.InvalidRequestError, 404), account_lookup=True, now=NOW)
    hidden = translate(error(stripe.PermissionError, 403), account_lookup=True, now=NOW)
    assert isinstance(missing, errors.AccountCheckError) and missing.code == "account_not_found"
    assert isinstance(hidden, errors.AccountCheckError) and hidden.code == "account_inaccessible"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("4", 4.0), ("0.5", 0.5), ("Thu, 26 Nov 2026 02:00:07 GMT", 7.0), ("soon", None)],
)
def test_retry_after_is_read_as_seconds_or_a_date(header: str, seconds: float | None) -> None:
    exc = error(stripe.RateLimitError, 429, "rate_limit", headers={"Retry-After": header})
    got = translate(exc, account_lookup=False, now=NOW)
    assert isinstance(got, errors.RateLimitedError) and got.retry_after_s == seconds


def _no_answer(cause: Exception) -> stripe.APIConnectionError:
    """What the transport raises when a request gets no answer: the SDK's error, caused by
    urllib3's (ledgerrun.stripe.transport); tests/unit/test_transport.py makes real ones."""
    exc = stripe.APIConnectionError(
        "Unexpected error communicating with Stripe. If this problem persists, let us know at "
        "support@stripe.com."
    )
    exc.__cause__ = cause
    return exc


def test_no_connection_is_not_executed_and_no_answer_may_be() -> None:
    from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError

    refused = _no_answer(NewConnectionError(None, "Failed to connect"))  # type: ignore[arg-type]
    dropped = _no_answer(ReadTimeoutError(None, "/v1/transfers", "Read timed out."))  # type: ignore[arg-type]
    closed = _no_answer(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))
    assert type(translate(refused, account_lookup=False, now=NOW)) is errors.ConnectError
    assert type(translate(dropped, account_lookup=False, now=NOW)) is errors.NetworkError
    assert type(translate(closed, account_lookup=False, now=NOW)) is errors.NetworkError


def test_no_answer_is_told_in_the_network_s_words_not_the_sdk_s_advice() -> None:
    from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError

    refused = _no_answer(
        NewConnectionError(
            None,  # type: ignore[arg-type]
            "Failed to establish a new connection: [Errno 111] Connection refused",
        )
    )
    timed_out = _no_answer(ReadTimeoutError(None, "/v1/account", "Read timed out."))  # type: ignore[arg-type]
    reset = _no_answer(
        ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    )
    assert str(translate(refused, account_lookup=False, now=NOW)) == "Connection refused"
    said = str(translate(timed_out, account_lookup=False, now=NOW))
    assert said == "no answer from Stripe: timed out", said
    said = str(translate(reset, account_lookup=False, now=NOW))
    assert said == "no answer from Stripe: Connection reset by peer", said
