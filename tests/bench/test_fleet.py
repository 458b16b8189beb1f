"""`python -m bench.fleet` (docs/scale.md's measured rows) runs: its worker reads every event, its fan-out
queues every object."""

from __future__ import annotations

import re

import pytest

from bench import fleet


def test_the_worker_bench_reads_every_event_and_reports_its_rates(capsys: pytest.CaptureFixture[str]) -> None:
    fleet.main(
        ["--events", "4000", "--latency-ms", "5", "--fan-out-objects", "1000"]
    )  # it asserts the counts

    out = capsys.readouterr().out
    assert re.search(r"corpus: 4,000 events in \d+ objects", out)
    assert re.search(r"fan-out: 1,000 objects in [\d.]+ s: [\d,]+ objects/s \(a listing page 100 ms", out)
    assert re.search(r"S3 first byte    5 ms: +[\d,]+ events/s, +[\d,]+ GETs/s, .* 20 alerts", out)
