"""The run's pace (ledgerrun.stripe.pacing), on a fake clock: the account's bucket and each
endpoint's, a second's burst each, one reservation for both, and a pace lowered by a 429 that
comes back slowly."""

from __future__ import annotations

import itertools
import threading

import pytest

from ledgerrun.stripe import facts
from ledgerrun.stripe.pacing import BACK_OFF, RECOVERY_STEPS, Pacer
from tests.helpers.fakes import FakeClock

TRANSFERS = "POST /v1/transfers"
ACCOUNTS = "GET /v1/accounts/{id}"


def stamps(pacer: Pacer, clock: FakeClock, endpoints: list[str]) -> list[float]:
    out = []
    for endpoint in endpoints:
        pacer.acquire(endpoint)
        out.append(clock.monotonic())
    return out


def most_in_a_second(times: list[float]) -> int:
    return max(sum(1 for s in times if t <= s < t + 1.0 - 1e-9) for t in times)


def test_no_second_holds_more_than_the_overall_rate_after_a_burst_of_one_second() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, overall=10)
    times = []
    for _ in range(3):
        times += stamps(pacer, clock, ["GET /v1/balance"] * 30)
        clock.advance(5)  # idle: tokens never pile up beyond one second's worth
    assert most_in_a_second(times) <= 2 * 10  # the burst, then the steady pace
    steady = times[10:30]
    gaps = [b - a for a, b in itertools.pairwise(steady)]
    assert min(gaps) == pytest.approx(0.1)


def test_each_endpoint_keeps_to_its_own_limit_and_reads_use_others() -> None:
    """Live mode: 100 a second for the account, 25 per endpoint: the sending endpoint runs at
    its own limit while reads share what is left."""
    clock = FakeClock()
    pacer = Pacer(clock, overall=facts.RATE_LIMIT_LIVE,
                  endpoint=lambda name: facts.endpoint_rate_limit(name))  # fmt: skip
    start = clock.monotonic()
    sends, reads = list[float](), list[float]()
    for n in range(400):
        name = TRANSFERS if n % 2 == 0 else ACCOUNTS
        pacer.acquire(name)
        (sends if name == TRANSFERS else reads).append(clock.monotonic() - start)
    assert most_in_a_second(sends) <= 2 * 25 and most_in_a_second(reads) <= 2 * 25
    assert sends[-1] == pytest.approx(199 / 25, abs=1.1)  # 25 a second, after a second's burst


def test_a_429_lowers_the_endpoints_pace_and_answers_bring_it_back_slowly() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, overall=None, endpoint=lambda name: 25)
    pacer.throttled(TRANSFERS)
    assert pacer.rate(TRANSFERS) == pytest.approx(25 * BACK_OFF)
    assert pacer.rate(ACCOUNTS) == 25  # only the endpoint that was refused
    for _ in range(RECOVERY_STEPS // 10):
        pacer.answered(TRANSFERS)
    assert 25 * BACK_OFF < (pacer.rate(TRANSFERS) or 0) < 25
    for _ in range(RECOVERY_STEPS):
        pacer.answered(TRANSFERS)
    assert pacer.rate(TRANSFERS) == 25 and pacer.throttles == {TRANSFERS: 1}


def test_many_threads_share_one_pacer() -> None:
    clock = FakeClock()
    pacer = Pacer(clock, overall=50, burst_s=1 / 50)
    threads = [
        threading.Thread(target=lambda: [pacer.acquire(TRANSFERS) for _ in range(20)])
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pacer.taken == 160
    assert clock.monotonic() - 1000.0 >= 159 / 50 - 1e-9


def test_no_limit_means_no_wait_and_a_rate_must_be_positive() -> None:
    pacer = Pacer(FakeClock(), overall=None)
    assert [pacer.acquire(TRANSFERS) for _ in range(1000)] == [0.0] * 1000
    with pytest.raises(ValueError):
        Pacer(FakeClock(), overall=0)
