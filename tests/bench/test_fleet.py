"""`python -m bench.fleet` (docs/scale.md's measured row) runs, and its worker reads every event."""

from __future__ import annotations

import re

import pytest

from bench import fleet


def test_the_worker_bench_reads_every_event_and_reports_its_rates(capsys: pytest.CaptureFixture[str]) -> None:
    fleet.main(["--events", "4000", "--latency-ms", "5"])  # the bench asserts every event was counted

    out = capsys.readouterr().out
    assert re.search(r"corpus: 4,000 events in \d+ objects", out)
    assert re.search(r"S3 first byte    5 ms: +[\d,]+ events/s, +[\d,]+ GETs/s, .* 20 alerts", out)
