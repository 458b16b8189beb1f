"""Progress on stderr: one line rewritten in place on a terminal, a plain line every so often otherwise.

While listing, it says what is being listed and how many objects were found so far, so a listing
that waits on a slow endpoint is never silent. Once the listing is complete, the total is known and
the line shows objects done of total, the percentage and an ETA (from the objects done so far).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO

PLAIN_INTERVAL_SECONDS = 10.0
TTY_INTERVAL_SECONDS = 0.2
_CLEAR_LINE = "\r\x1b[K"


class Progress:
    """Never writes to stdout, which belongs to the alerts. Called from the listing thread too."""

    def __init__(
        self,
        stream: IO[str],
        *,
        tty: bool,
        clock: Callable[[], float] = time.monotonic,
        interval: float | None = None,
    ) -> None:
        self._stream = stream
        self._tty = tty
        self._clock = clock
        self._interval = (
            interval if interval is not None else (TTY_INTERVAL_SECONDS if tty else PLAIN_INTERVAL_SECONDS)
        )
        self._lock = threading.Lock()
        self._started = self._last = clock()
        self._shown = False  # a terminal line is on screen, to be cleared before other output
        self._total: int | None = None
        self._listing = ""

    def listing(self, source: str, found: int) -> None:
        """`found` objects to read so far in `source`; shown at once for a new source, then as due."""
        with self._lock:
            first = not self._listing.startswith(f"listing {source}:")
            self._listing = f"listing {source}: {found:,} objects so far"
            self._show(self._listing, force=first)

    def listed(self, total: int) -> None:
        """The listing is complete: `total` objects are to be read."""
        with self._lock:
            self._total = total
            self._listing = ""

    def update(self, objects: int, events: int, alerts: int) -> None:
        """`objects` read (or failed) so far, with the events and alerts they held."""
        with self._lock:
            elapsed = max(self._clock() - self._started, 1e-9)
            line = f"{events:,} events  {alerts:,} alerts  {events / elapsed:,.0f} events/s"
            if self._total is None:
                found = f"  ({self._listing})" if self._listing else ""
                self._show(f"{objects:,} objects  {line}{found}")
            else:
                done = f"{objects:,}/{self._total:,} objects ({objects / max(self._total, 1):.0%})"
                self._show(f"{done}  {line}  ETA {_eta(objects, self._total, elapsed)}")

    def warn(self, message: str) -> None:
        with self._lock:
            self._clear()
            self._stream.write(f"warning: {message}\n")
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            self._clear()

    def _show(self, line: str, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        if self._tty:
            self._stream.write(f"{_CLEAR_LINE}backfill: {line}")
            self._shown = True
        else:
            self._stream.write(f"backfill: {line}\n")
        self._stream.flush()

    def _clear(self) -> None:
        if self._shown:
            self._stream.write(_CLEAR_LINE)
            self._stream.flush()
            self._shown = False


def _eta(done: int, total: int, elapsed: float) -> str:
    if done == 0:
        return "-"
    seconds = round((total - done) * elapsed / done)
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
