"""Burst rules: a rule with a threshold alerts on the Nth match within a window, not on every match.

The core is otherwise stateless, so this state is deliberately small and local: it lives in one
container (one Lambda execution environment, or one backfill worker process) and is lost at a
cold start. With several containers (one per Kinesis shard) a burst split across shards counts
separately in each, so a threshold is a lower bound on what the whole account did, never more.

Time is the event's own `eventTime`, not the wall clock, so a backfill over months counts bursts
as they happened and a late batch does not merge with a fresh one. Events without a readable
eventTime fall back to the injected clock.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from processor.models import RuleRef
from processor.rules.lookup import MISSING, resolve

MAX_GROUPS: Final[int] = 10_000  # least recently hit groups are forgotten beyond this


class ThresholdCounter:
    """Per (rule, group) sliding windows of match times; `hit` says whether this match alerts."""

    def __init__(self, *, clock: Callable[[], float] = time.time, max_groups: int = MAX_GROUPS) -> None:
        self._clock = clock
        self._max_groups = max_groups
        self._groups: OrderedDict[tuple[str, tuple[str, ...]], deque[float]] = OrderedDict()

    def hit(self, rule: RuleRef, event: dict[str, Any]) -> bool:
        """Count one match of `rule`; True when it completes a burst (the window then starts over)."""
        threshold = rule.threshold
        if threshold is None or threshold.count <= 1:
            return True
        group = (rule.id, tuple(_group_value(event, key) for key in rule.group_by))
        now = _event_time(event)
        if now is None:
            now = self._clock()
        times = self._groups.get(group)
        if times is None:
            times = self._groups[group] = deque()
            if len(self._groups) > self._max_groups:
                self._groups.popitem(last=False)
        else:
            self._groups.move_to_end(group)
        horizon = now - threshold.window_seconds
        while times and times[0] <= horizon:
            times.popleft()
        times.extend([now] * _weight(event, threshold.count_values, threshold.count))
        if len(times) < threshold.count:
            return False
        times.clear()  # one alert per burst; the next alert needs another `count` matches
        return True


def _weight(event: dict[str, Any], key: str, cap: int) -> int:
    """How much one match counts: the items of the list at `key` (at least 1, at most `cap`, so
    an attacker's list of a million names costs no more than one burst), else 1."""
    if not key:
        return 1
    node: Any = event
    for segment in key.split("."):
        node = node.get(segment) if isinstance(node, dict) else None
    return min(max(len(node), 1), cap) if isinstance(node, list) else 1


def _group_value(event: dict[str, Any], key: str) -> str:
    value = resolve(event, key)
    return "" if value is MISSING or value is None else str(value)


def _event_time(event: dict[str, Any]) -> float | None:
    raw = event.get("eventTime") if isinstance(event, dict) else None
    if isinstance(raw, datetime):
        return raw.timestamp()
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return datetime.fromisoformat(raw).timestamp()
    except ValueError:
        return None
