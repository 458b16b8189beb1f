"""Time in delivery: the clock, the invocation's budget, and per-channel pacing.

The clock is an injected dependency: every wait in delivery goes through here, so tests never sleep.

Pacing: Slack allows about one message per second per channel, with short bursts. A token bucket
per destination key. Waiting here, before the send, is what keeps a busy batch from ever meeting a
429; `hold` records a server's Retry-After so every later send to that channel waits it out too,
instead of each one earning its own 429.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple


class Timing(NamedTuple):
    """`clock` measures intervals (monotonic), `wall` stamps DynamoDB items (epoch seconds)."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], float] = time.time


SYSTEM = Timing()


def remaining_seconds(context: Any) -> Callable[[], float]:
    """The invocation's remaining time, from a Lambda context; unlimited without one (a local call)."""
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        return lambda: context.get_remaining_time_in_millis() / 1000.0
    return lambda: float("inf")


class Budget(NamedTuple):
    """The invocation's remaining time minus a reserve kept for finishing a send that has started.

    `reserve` is at least one client timeout: a send begun with less time left could be cut off by
    the Lambda timeout, and then nobody knows whether Slack got the message.
    """

    remaining_seconds: Callable[[], float]
    reserve: float

    def left(self) -> float:
        return self.remaining_seconds() - self.reserve

    def can_send(self) -> bool:
        return self.left() > 0

    def can_wait(self, seconds: float) -> bool:
        return self.left() - seconds > 0


# DynamoDB calls against the deadline (dynamo.py). Here, not there, because the App reserves one
# after every send, table or not, and should not import the table's code to do so.
# The most one call may take (connect + read timeout, one attempt). DynamoDB answers in
# milliseconds; a call that needs seconds is an outage, and the callers have a fallback.
CALL_SECONDS = 2.0
# Shorter allowances for calls made close to the deadline; below the last, no call is started.
CALL_TIERS = (CALL_SECONDS, 1.0, 0.5)
MIN_CALL_SECONDS = CALL_TIERS[-1]
# Kept free after a call so that the invocation can still return its batch response.
FINISH_SECONDS = 0.5


class Deadline:
    """The running invocation's remaining time, for parts built once per container (the table).

    The Dispatcher `start`s it at every batch; `invocation` tells a batch from the one before, so
    what a part learnt about a failing dependency is forgotten when the next batch begins.
    """

    def __init__(self) -> None:
        self._remaining: Callable[[], float] = lambda: float("inf")
        self.invocation = 0

    def start(self, remaining_seconds: Callable[[], float]) -> None:
        self._remaining = remaining_seconds
        self.invocation += 1

    def remaining(self) -> float:
        return self._remaining()


DEFAULT_RATE_PER_SECOND = 1.0
DEFAULT_BURST = 3


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    hold_until: float = 0.0


class ChannelPacer:
    """Answers "how long until I may post to this channel?" and takes a token when it is time."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        rate: float = DEFAULT_RATE_PER_SECOND,
        burst: int = DEFAULT_BURST,
    ) -> None:
        self._clock = clock
        self._rate = rate
        self._burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}

    def wait_time(self, key: str) -> float:
        """Seconds until a token is available for `key` (0 when one is available now)."""
        bucket = self._refill(key)
        now = self._clock()
        held = max(0.0, bucket.hold_until - now)
        missing = max(0.0, 1.0 - bucket.tokens) / self._rate
        return max(held, missing)

    def take(self, key: str) -> None:
        """Spend a token; call right before sending, after waiting `wait_time`."""
        bucket = self._refill(key)
        bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def hold(self, key: str, seconds: float) -> None:
        """The server asked us to back off this channel for `seconds` (Retry-After)."""
        bucket = self._refill(key)
        bucket.hold_until = max(bucket.hold_until, self._clock() + seconds)
        bucket.tokens = 0.0

    def _refill(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=self._burst, updated=now)
            return bucket
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        return bucket
