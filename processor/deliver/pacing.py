"""Per-channel pacing: Slack allows about one message per second per channel, with short bursts.

A token bucket per destination key. Waiting here, before the send, is what keeps a busy batch
from ever meeting a 429; `hold` records a server's Retry-After so every later send to that
channel waits it out too, instead of each one earning its own 429.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
