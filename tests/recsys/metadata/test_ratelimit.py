from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from recsys.errors import DataError
from recsys.metadata.ratelimit import RateLimiter, RetryPolicy, parse_retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_requests_are_spaced_one_over_rate_apart():
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(9):
        limiter.acquire()
        stamps.append(clock.now)
    # First request immediately, then one every 0.25 s: 9 requests span 2 s.
    assert stamps[0] == 100.0
    assert stamps[-1] == pytest.approx(102.0)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert gaps == pytest.approx([0.25] * 8)


def test_burst_allows_back_to_back_then_throttles_to_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(10.0, burst=3, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == pytest.approx([0.1, 0.1])
    clock.now += 10.0  # idle: the bucket refills to ``burst`` only
    assert [limiter.acquire() for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 0.1])


def test_long_run_rate_never_exceeds_the_limit():
    clock = FakeClock()
    limiter = RateLimiter(20.0, burst=5, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(205):
        limiter.acquire()
    # 5 free tokens, then 200 at 20/s need at least 10 s.
    assert clock.now - start == pytest.approx(10.0)


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf")])
def test_bad_rate_is_rejected(rate):
    with pytest.raises(DataError, match="rate"):
        RateLimiter(rate)


def test_backoff_doubles_and_is_capped():
    policy = RetryPolicy(backoff=0.5, max_backoff=3.0)
    assert [policy.delay(k) for k in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retry_after_wins_but_is_capped():
    policy = RetryPolicy(backoff=0.5, max_retry_after=30.0)
    assert policy.delay(3, retry_after=2.0) == 2.0
    assert policy.delay(0, retry_after=3600.0) == 30.0


def test_parse_retry_after_seconds_and_http_date():
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(42.0)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("") is None
    assert parse_retry_after("in a while") is None


def test_bad_policy_values_are_rejected():
    with pytest.raises(DataError):
        RetryPolicy(retries=-1)
    with pytest.raises(DataError):
        RetryPolicy(backoff=float("nan"))
