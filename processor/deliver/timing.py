"""Time as an injected dependency: every wait in delivery goes through here, so tests never sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Timing:
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
