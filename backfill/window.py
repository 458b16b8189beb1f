"""The time window of a backfill: which day folders to list, which files to open, which events count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

# CloudTrail names a file after the time it delivered it, usually within 15 minutes of the events
# it holds. Files delivered up to this long after the window's end are still opened, so a late
# delivery is not missed; their events outside the window are then dropped one by one.
DELIVERY_LAG = timedelta(hours=1)
_EVENT_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class Bound:
    """A `--start`/`--end` value: a UTC time, and whether the user gave only a date."""

    value: datetime
    date_only: bool


class TimeBoundType(click.ParamType):
    """`2026-11-01`, `2026-11-01T12:00`, `2026-11-01T12:00:00Z` or with an offset; naive means UTC."""

    name = "DATE|DATETIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Bound:
        if isinstance(value, Bound):
            return value
        text = str(value).strip()
        try:
            if len(text) == 10:
                return Bound(datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC), True)
            parsed = datetime.fromisoformat(text.replace(" ", "T"))
        except ValueError:
            self.fail(f"{text!r} is not a date (2026-11-01) or a time (2026-11-01T12:00Z)", param, ctx)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return Bound(parsed.astimezone(UTC), False)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Events with `start <= eventTime < end`; either side may be open. A date-only end includes that day."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def from_bounds(cls, start: Bound | None, end: Bound | None) -> TimeWindow:
        end_value = None
        if end is not None:
            end_value = end.value + timedelta(days=1) if end.date_only else end.value
        window = cls(start.value if start else None, end_value)
        if window.start and window.end and window.start >= window.end:
            raise click.BadParameter("--end must be after --start", param_hint="--end")
        return window

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None

    def may_hold(self, delivered: datetime) -> bool:
        """Whether a file delivered at `delivered` can hold events of the window."""
        if self.start is not None and delivered < self.start:
            return False
        return self.end is None or delivered < self.end + DELIVERY_LAG

    def first_day(self) -> date | None:
        return self.start.date() if self.start else None

    def day_after_last(self) -> date | None:
        """The first day folder that cannot hold a file of the window (late deliveries included)."""
        if self.end is None:
            return None
        last = self.end + DELIVERY_LAG - timedelta(microseconds=1)
        return last.date() + timedelta(days=1)

    def event_filter(self) -> EventFilter:
        return EventFilter(
            self.start.strftime(_EVENT_TIME) if self.start else None,
            self.end.strftime(_EVENT_TIME) if self.end else None,
        )


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Compares `eventTime` strings directly: CloudTrail writes them in one fixed ISO format, so
    string order is time order and no datetime is built per event (the hot path)."""

    start: str | None
    end: str | None

    def __call__(self, event: dict[str, Any]) -> bool:
        when = event.get("eventTime")
        if not isinstance(when, str):
            return True  # no time to judge by: keep it rather than lose it silently
        if self.start is not None and when < self.start:
            return False
        return self.end is None or when < self.end
