"""The one retry loop: what each kind of answer does, Retry-After, the breaker, a stop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from ledgerrun import errors
from ledgerrun.stripe.client import Client, Listener, SentCount, StoppedError
from ledgerrun.stripe.pacing import Pacer
from ledgerrun.stripe.policy import Policy
from tests.helpers.fakes import FakeClock

ENDPOINT = "GET /v1/balance"


def client(
    clock: FakeClock, policy: Policy | None = None, **options: Any
) -> tuple[Client, list[str]]:
    heard: list[str] = []
    made = Client(
        gateway=None,  # type: ignore[arg-type]
        pacer=Pacer(clock, overall=1000),
        clock=clock,
        jitter=lambda: 0.0,
        policy=policy or Policy(max_attempts=4, breaker_threshold=50),
        listener=Listener(breaker_opened=heard.append),
        **options,
    )
    return made, heard


def script(*answers: object) -> Callable[[], object]:
    queue = list(answers)

    def request() -> object:
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return request


def limited(after: float | None = None) -> errors.RateLimitedError:
    return errors.RateLimitedError("slow down", code="rate_limit", retry_after_s=after)


def dropped() -> errors.NetworkError:
    return errors.NetworkError("no answer", code="network_error")


def test_retries_until_an_answer_honouring_retry_after() -> None:
    clock = FakeClock()
    made, _ = client(clock)
    counter = SentCount()
    assert made.call(ENDPOINT, script(limited(4.0), limited(None), "ok"), counter) == "ok"
    assert counter.sent == 3
    # 4 s because the server asked for them (not the 0.25 s back-off), then 0.5 s of back-off.
    assert sum(clock.slept) == pytest.approx(4.0 + 0.5)


def test_429s_that_run_out_are_not_executed_and_certain() -> None:
    made, _ = client(FakeClock())
    with pytest.raises(errors.RateLimitedError) as caught:
        made.call(ENDPOINT, script(*[limited()] * 4))
    assert caught.value.attempts == 4 and caught.value.uncertain is False


def test_a_429_after_a_lost_answer_leaves_the_outcome_uncertain() -> None:
    made, _ = client(FakeClock())
    with pytest.raises(errors.RateLimitedError) as caught:
        made.call(ENDPOINT, script(dropped(), limited(), limited(), limited()))
    assert caught.value.uncertain is True


def test_maybe_executed_errors_run_out_as_they_are() -> None:
    made, _ = client(FakeClock())
    with pytest.raises(errors.NetworkError) as caught:
        made.call(ENDPOINT, script(*[dropped()] * 4))
    assert caught.value.attempts == 4


@pytest.mark.parametrize(
    "answer",
    [
        errors.RefusedError("no", code="balance_insufficient"),
        errors.KeyConflictError("other params", code="idempotency_error"),
        errors.ServerUnknownError("replayed 500", code="api_error"),
    ],
)
def test_definitive_answers_are_never_retried(answer: errors.StripeError) -> None:
    made, _ = client(FakeClock())
    counter = SentCount()
    with pytest.raises(type(answer)):
        made.call(ENDPOINT, script(answer, "never"), counter)
    assert counter.sent == 1


def test_a_refused_key_stops_every_later_request() -> None:
    made, _ = client(FakeClock())
    with pytest.raises(errors.StripeAuthError):
        made.call(ENDPOINT, script(errors.StripeAuthError("bad key")))
    counter = SentCount()
    with pytest.raises(errors.StripeAuthError):
        made.call(ENDPOINT, script("ok"), counter)
    assert counter.sent == 0


def test_the_breaker_opens_on_a_streak_and_nothing_more_is_sent() -> None:
    clock = FakeClock()
    made, heard = client(clock, Policy(max_attempts=6, breaker_threshold=5))
    refused = errors.ConnectError("refused", code="connection_failed")
    with pytest.raises(errors.ConnectError):
        made.call(ENDPOINT, script(*[refused] * 6))
    assert made.breaker.is_open and heard == ["connection_failed"]
    counter = SentCount()
    with pytest.raises(StoppedError) as caught:
        made.call(ENDPOINT, script("ok"), counter)
    assert counter.sent == 0 and caught.value.code == "stripe_unavailable"


def test_a_stop_ends_the_retries_and_refuses_new_requests() -> None:
    stop = threading.Event()
    made, _ = client(FakeClock(), stop=stop)

    def request() -> object:
        stop.set()
        raise dropped()

    with pytest.raises(errors.NetworkError):
        made.call(ENDPOINT, request)
    with pytest.raises(StoppedError) as caught:
        made.call(ENDPOINT, script("ok"))
    assert caught.value.code == "stopped"
