"""Progress goes to stderr: plain periodic lines when not a terminal, one line rewritten on a terminal;
a status line while listing; objects done of total, a percentage and an ETA once the listing is known."""

from __future__ import annotations

import io

from backfill import progress as progress_module
from backfill.progress import Progress
from tests.backfill.trails import PROD, day, log_file, write_folder


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


def test_listing_is_said_at_once_for_each_source_then_as_due():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, tty=False, clock=clock, interval=10.0)

    progress.listing("s3://trail/", 0)
    clock.now = 3.0
    progress.listing("s3://trail/", 1_000)  # too early
    clock.now = 11.0
    progress.listing("s3://trail/", 2_000)
    progress.listing("/logs", 0)  # a new source: at once

    assert stream.getvalue().splitlines() == [
        "backfill: listing s3://trail/: 0 objects so far",
        "backfill: listing s3://trail/: 2,000 objects so far",
        "backfill: listing /logs: 0 objects so far",
    ]


def test_once_the_listing_is_complete_the_total_a_percentage_and_an_eta_are_shown():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, tty=False, clock=clock, interval=10.0)

    clock.now = 10.0
    progress.update(5, 50_000, 1)  # total not known yet: the listing is still going
    progress.listed(200)
    clock.now = 20.0
    progress.update(50, 500_000, 2)

    assert stream.getvalue().splitlines() == [
        "backfill: 5 objects  50,000 events  1 alerts  5,000 events/s",
        "backfill: 50/200 objects (25%)  500,000 events  2 alerts  25,000 events/s  ETA 0:01:00",
    ]


def test_a_terminal_gets_one_line_rewritten_in_place_and_cleared_at_the_end():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, tty=True, clock=clock)

    progress.listed(4)
    clock.now = 2.0
    progress.update(1, 500, 1)
    clock.now = 4.0
    progress.update(2, 1_000, 1)
    progress.close()

    assert stream.getvalue() == (
        "\r\x1b[Kbackfill: 1/4 objects (25%)  500 events  1 alerts  250 events/s  ETA 0:00:06"
        "\r\x1b[Kbackfill: 2/4 objects (50%)  1,000 events  1 alerts  250 events/s  ETA 0:00:04"
        "\r\x1b[K"
    )


def test_a_run_shows_its_total_through_the_cli(tmp_path, backfill, monkeypatch):
    """Every update is shown (interval 0): the last one has the whole listing's total."""
    monkeypatch.setattr(progress_module, "PLAIN_INTERVAL_SECONDS", 0.0)
    write_folder(tmp_path, [log_file(PROD, "eu-west-1", day(n)) for n in (1, 2, 3)])

    run = backfill(str(tmp_path))

    assert run.exit_code == 0, run.stderr
    assert "backfill: 3/3 objects (100%)  9 events  3 alerts" in run.stderr
