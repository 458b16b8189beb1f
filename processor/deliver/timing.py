"""Time as an injected dependency: every wait in delivery goes through here, so tests never sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timing:
    """`clock` measures intervals (monotonic), `wall` stamps DynamoDB items (epoch seconds)."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], float] = time.time


SYSTEM = Timing()


@dataclass(frozen=True, slots=True)
class Budget:
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
