"""Operational notices (a rule that raises, records that cannot be decoded), rate limited.

A broken rule raises on every event it sees; telling Slack each time would flood the channel and
eat the rate limit real alerts need. So each kind of problem (one rule, or "decode") is reported
at most once per container per interval, with how many times it happened since the last notice
and one sample to investigate. Every occurrence is still logged and counted in the metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from processor.models import SlackMessage

ERROR_REPORT_INTERVAL_SECONDS = 3600.0


@dataclass
class NoticeGate:
    """Decides when a notice for `key` is due, and how many occurrences it should mention."""

    interval: float = ERROR_REPORT_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _last_sent: dict[str, float] = field(default_factory=dict)
    _pending: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, occurrences: int) -> int | None:
        """Count occurrences; return the count to report if a notice is due now, else None."""
        self._pending[key] = self._pending.get(key, 0) + occurrences
        last = self._last_sent.get(key)
        if last is not None and self.clock() - last < self.interval:
            return None
        return self._pending[key]

    def sent(self, key: str) -> None:
        """The notice went out (or was attempted): start a new interval and a new count."""
        self._last_sent[key] = self.clock()
        self._pending[key] = 0


Notify = Callable[[SlackMessage], bool]
