"""When to try a send again and how long to wait first: a policy object, no sleeping in here.

Modelled on slack_sdk's retry handlers (a budget of attempts, one rule per failure kind, injectable
backoff) but the waiting is done by the dispatcher through the injected sleep, capped by the
Lambda's remaining time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import NamedTuple

from processor.deliver.errors import DeliveryError, RateLimited, Unavailable


def full_jitter(delay: float) -> float:
    """AWS's "full jitter": spread retries of many containers instead of having them collide."""
    return random.uniform(0, delay)  # noqa: S311 - jitter, not cryptography


def no_jitter(delay: float) -> float:
    return delay


class RetryPolicy(NamedTuple):
    """`max_attempts` counts the first try. Backoff doubles from `base` up to `cap` seconds."""

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 8.0
    jitter: Callable[[float], float] = full_jitter
    default_retry_after: float = 1.0

    def delay(self, error: DeliveryError, attempt: int) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None when this error is not retried."""
        if attempt >= self.max_attempts:
            return None
        if isinstance(error, RateLimited):
            # Slack says how long; waiting less only earns another 429.
            return error.retry_after if error.retry_after is not None else self.default_retry_after
        if isinstance(error, Unavailable):
            return self.jitter(min(self.cap, self.base * 2 ** (attempt - 1)))
        return None


NO_RETRY = RetryPolicy(max_attempts=1)
