"""Progress on stderr: a click progress bar on a terminal, a plain line every so often otherwise."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import IO, Any

import click

PLAIN_INTERVAL_SECONDS = 10.0


class Progress:
    """Told about each finished object; never writes to stdout, which belongs to the alerts."""

    def __init__(
        self,
        stream: IO[str],
        *,
        tty: bool,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PLAIN_INTERVAL_SECONDS,
    ) -> None:
        self._stream = stream
        self._clock = clock
        self._interval = interval
        self._started = self._last = clock()
        self._line = ""
        self._bar: Any = None
        if tty:  # no total is known up front: the listing is streamed, so the bar bounces
            self._bar = click.progressbar(
                itertools.repeat(None),
                label="backfill",
                file=stream,
                item_show_func=lambda _: self._line,
                show_eta=False,
            )
            self._bar.__enter__()

    def update(self, objects: int, events: int, alerts: int) -> None:
        now = self._clock()
        rate = events / max(now - self._started, 1e-9)
        self._line = f"{objects:,} objects  {events:,} events  {alerts:,} alerts  {rate:,.0f} events/s"
        if self._bar is not None:
            self._bar.update(1)
        elif now - self._last >= self._interval:
            self._last = now
            click.echo(f"backfill: {self._line}", file=self._stream)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
