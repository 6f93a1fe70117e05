"""Politeness towards TMDB: a token-bucket rate limiter and a retry policy.

TMDB allows roughly 40-50 requests per second per IP; the default here is 20. Every
HTTP request (API calls and poster downloads) takes a token first. Failed requests are
retried with exponential backoff; a ``Retry-After`` header on a 429 or 503 is honoured.
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from recsys.errors import DataError, InvalidParameterError

__all__ = ["RateLimiter", "RetryPolicy", "parse_retry_after"]


class RateLimiter:
    """A token bucket: at most ``rate`` requests per second on average, ``burst`` at once.

    Parameters
    ----------
    rate : tokens added per second (> 0).
    burst : bucket size, the most requests allowed back to back after an idle spell
        (default 1: requests are evenly spaced ``1 / rate`` seconds apart).
    clock, sleep : time source and sleep function (injectable for tests).

    Raises
    ------
    DataError
        If ``rate`` is not a positive finite number or ``burst`` is below 1.

    Examples
    --------
    >>> limiter = RateLimiter(1000.0)
    >>> limiter.acquire() >= 0.0
    True
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise InvalidParameterError(
                "rate",
                f"the request rate must be a positive number of requests per "
                f"second (e.g. 20); received {rate!r}.",
            )
        if int(burst) < 1:
            raise DataError(f"the burst size must be at least 1; received {burst!r}.")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; return the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a failed request.

    Attempt ``k`` (0-based) that fails transiently is followed by a pause of
    ``min(max_backoff, backoff * 2**k)`` seconds, or by the server's ``Retry-After``
    (capped at ``max_retry_after``) when it sent one.

    Attributes
    ----------
    retries : retries after the first attempt (total attempts = ``retries + 1``).
    backoff : first pause in seconds.
    max_backoff : longest pause between attempts.
    max_retry_after : longest ``Retry-After`` honoured; a longer one is cut to this.
    """

    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if int(self.retries) < 0:
            raise DataError(f"retries must be >= 0; received {self.retries!r}.")
        for name in ("backoff", "max_backoff", "max_retry_after"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise DataError(f"{name} must be a number of seconds >= 0; received {value!r}.")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based).

        >>> RetryPolicy(backoff=0.5).delay(2), RetryPolicy().delay(0, retry_after=7.0)
        (2.0, 7.0)
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return min(self.max_backoff, self.backoff * (2.0**attempt))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), else ``None``.

    >>> parse_retry_after("3"), parse_retry_after(None), parse_retry_after("soon")
    (3.0, None, None)
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)
