"""Progress goes to stderr: plain periodic lines when not a terminal, a click bar when it is."""

from __future__ import annotations

import io

from backfill.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_are_written_once_per_interval():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, tty=False, clock=clock, interval=10.0)

    clock.now = 5.0
    progress.update(1, 100, 0)  # too early: nothing
    clock.now = 10.0
    progress.update(2, 2_000, 3)
    clock.now = 12.0
    progress.update(3, 3_000, 3)  # within the next interval: nothing
    progress.close()

    assert stream.getvalue() == "backfill: 2 objects  2,000 events  3 alerts  200 events/s\n"


def test_a_terminal_gets_a_bar_with_the_counts():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, tty=True, clock=clock)

    clock.now = 2.0
    progress.update(1, 500, 1)
    progress.close()

    assert "backfill" in stream.getvalue()
