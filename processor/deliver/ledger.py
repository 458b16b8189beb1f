"""Which (eventID, destination) pairs were already delivered, so a retried batch never repeats one."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol


class DeliveryLedger(Protocol):
    """Remembers deliveries. `record` is called only after the destination accepted the message."""

    def already_delivered(self, key: str) -> bool: ...

    def delivered_among(self, keys: list[str]) -> set[str]:
        """The subset of `keys` already delivered: one round trip for a whole batch."""
        ...

    def record(self, key: str) -> None: ...


class MemoryLedger:
    """A warm container's memory of what it sent: bounded, and entries expire after `ttl` seconds.

    Without a DynamoDB table this is the only protection against repeats, and it covers the common
    case: Lambda retries a partially failed batch on the same warm container.
    """

    def __init__(
        self, *, ttl: float = 3600.0, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, float] = OrderedDict()

    def already_delivered(self, key: str) -> bool:
        expires = self._entries.get(key)
        if expires is None:
            return False
        if expires < self._clock():
            del self._entries[key]
            return False
        return True

    def delivered_among(self, keys: list[str]) -> set[str]:
        return {key for key in keys if self.already_delivered(key)}

    def record(self, key: str) -> None:
        self._entries[key] = self._clock() + self._ttl
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
