"""Log lines quote attacker-controlled values with a bound: a small record never makes a huge line."""

from __future__ import annotations

import logging

import orjson
import pytest

from processor import handler
from processor.log import LOG_VALUE_LIMIT, JsonFormatter
from tests.decode.helpers import cwlogs_payload
from tests.deliver.conftest import set_env
from tests.deliver.fakes import FakeClock, LambdaContext, kinesis_batch


def test_a_931_byte_record_cannot_produce_a_huge_log_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """gzip makes 900 KB of detail-type from under a kilobyte; the decode failure quotes it."""
    envelope = orjson.dumps({"detail-type": "A" * 900_000, "detail": {}}).decode()
    record = cwlogs_payload([envelope])
    assert len(record) < 2000
    set_env(
        monkeypatch, HOOK_URL="http://127.0.0.1:9/services/T/B/x", RULE_EVALUATION_ERRORS_TO_SLACK="false"
    )
    clock = FakeClock()
    handler.reset(timing=clock.timing)
    batch = kinesis_batch([], raw=[record])
    try:
        assert handler.handler(batch, LambdaContext(clock)) == {"batchItemFailures": []}
    finally:
        handler.reset()
    lines = capsys.readouterr().out.splitlines()
    entries = [orjson.loads(line) for line in lines]
    (failure,) = [e for e in entries if e.get("message") == "undecodable record skipped"]
    assert failure["sequence_number"] == batch["Records"][0]["kinesis"]["sequenceNumber"]
    assert (
        "EventBridge event with detail-type 'AAAA" in failure["reason"] and "truncated" in failure["reason"]
    )
    assert max(len(line) for line in lines) < 16_000


def test_every_string_in_a_log_line_is_bounded_and_the_line_stays_json() -> None:
    huge = "x" * 100_000
    record = logging.LogRecord("trailalert", logging.ERROR, __file__, 1, "rule %s failed", (huge,), None)
    record.error = huge
    record.nested = {"reasons": [huge] * 1000, huge: 1}
    line = JsonFormatter().format(record)
    entry = orjson.loads(line)
    assert len(line) < 40 * LOG_VALUE_LIMIT
    assert len(entry["message"]) <= LOG_VALUE_LIMIT + 60 and len(entry["error"]) <= LOG_VALUE_LIMIT + 60
    assert entry["error"].startswith("xxx") and "truncated" in entry["error"]
