"""What is worth retrying, and how long to wait: exponential backoff with jitter, capped.

Connection errors, timeouts, 429 and 502/503/504 are transient; any other 4xx (and 500, which
Grafana answers for bugs, not for load) is an answer that a retry would only repeat.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # the first try and three retries
    base_delay: float = 0.5  # seconds before the first retry; doubles each time
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # the longest Retry-After obeyed

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1-based): Retry-After when the
        server gave one, else base * 2^(retry-1) with +-25 % jitter, at most max_delay."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        backoff = min(self.base_delay * 2.0 ** (retry - 1), self.max_delay)
        return backoff * random.uniform(0.75, 1.25)


DEFAULT_POLICY = RetryPolicy()


def is_retryable(status: int) -> bool:
    """True for the statuses a retry can cure; 0 stands for no answer (reset, timeout)."""
    return status == 0 or status in RETRYABLE_STATUS


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header in its delay-seconds form; None otherwise."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: fall back to the backoff
    return seconds if seconds >= 0 else None
