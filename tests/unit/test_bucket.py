"""The run's token bucket, on a fake clock."""

from __future__ import annotations

import itertools
import threading

import pytest

from ledgerrun.stripe.policy import TokenBucket
from tests.helpers.fakes import FakeClock


def test_requests_are_spaced_evenly_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(25, clock)
    start = clock.monotonic()
    stamps = []
    for _ in range(100):
        bucket.acquire()
        stamps.append(clock.monotonic() - start)
    assert stamps[0] == 0
    assert stamps[-1] == pytest.approx(99 / 25)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) == pytest.approx(1 / 25)


def test_no_one_second_window_exceeds_the_rate_even_after_idling() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock)
    stamps = []
    for _ in range(3):
        for _ in range(30):
            bucket.acquire()
            stamps.append(clock.monotonic())
        clock.advance(5)  # idle: tokens must not pile up beyond the burst
    for t in stamps:
        assert sum(1 for s in stamps if t <= s < t + 1.0) <= 10


def test_burst_allows_that_many_at_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock, burst=5)
    waits = [bucket.acquire() for _ in range(6)]
    assert waits[:5] == pytest.approx([0] * 5, abs=1e-9)
    assert waits[5] == pytest.approx(0.1)


def test_many_threads_share_one_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket(50, clock)
    threads = [
        threading.Thread(target=lambda: [bucket.acquire() for _ in range(20)]) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bucket.taken == 160
    assert clock.monotonic() - 1000.0 >= 159 / 50 - 1e-9


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, FakeClock())
