"""Hostile Kinesis payloads (issue 16, failures 4 and 5), through the Lambda handler: inflating
is capped per Kinesis record, and a record orjson refuses is reported, never dropped silently."""

from __future__ import annotations

import zlib

import orjson

from processor import handler
from processor.decode.kpl import aggregate
from processor.devtools.kinesis_events import encode, eventbridge_envelope, lambda_kinesis_event
from tests.backfill.trails import PROD, day, event
from tests.core.test_handler import Context
from tests.deliver.fakes import FakeClock


def gzip_bomb_member(megabytes: int) -> bytes:
    """A CloudWatch Logs message whose gzip inflates to `megabytes` MiB of one log event."""
    message = {"messageType": "DATA_MESSAGE", "logEvents": [{"id": "1", "message": "x" * (megabytes << 20)}]}
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(orjson.dumps(message)) + compressor.flush()


def test_the_inflate_cap_holds_for_a_whole_kinesis_record(monkeypatch, capsys) -> None:
    """Failure 4: a KPL record of 9 gzip members of 4 MiB each may not inflate past the cap in
    all (16 MiB): the members beyond it fail, each named."""
    monkeypatch.setenv("DEFAULT_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:alerts")
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    handler.reset(timing=FakeClock().timing)
    bomb = aggregate([gzip_bomb_member(4) for _ in range(9)])
    assert len(bomb) < 1 << 20

    handler.handler(lambda_kinesis_event([("1", bomb)], "arn:aws:kinesis:us-east-1:1:stream/s"), Context())

    logs = capsys.readouterr().out
    assert (
        logs.count(
            "gzip data expands beyond 16777216 bytes (all the gzip members of this Kinesis record together)"
        )
        >= 5
    )
    handler.reset()


def test_an_alerting_record_with_a_number_beyond_a_double_is_reported_undecodable(
    monkeypatch, capsys
) -> None:
    """Failure 5: a record that a rule matches, holding 1e400 in a field no rule reads, is not
    dropped silently: orjson refuses it, and it is logged, counted and reported as undecodable.
    (Where no rule can match such a record, the fast path counts it as unmatched without
    decoding it in full: the one difference from decoding every record, documented.)"""
    monkeypatch.setenv("DEFAULT_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:alerts")
    monkeypatch.setenv("RULE_EVALUATION_ERRORS_TO_SLACK", "false")
    handler.reset(timing=FakeClock().timing)
    record = event(PROD, "eu-west-1", day(3), 0, userIdentity={"type": "Root"})
    payload = encode(eventbridge_envelope(record)).replace(b'"readOnly":false', b'"readOnly":false,"n":1e400')
    assert b"1e400" in payload

    handler.handler(
        lambda_kinesis_event([("seq-1", payload)], "arn:aws:kinesis:us-east-1:1:stream/s"), Context()
    )

    out = capsys.readouterr().out
    assert "undecodable record skipped" in out and "seq-1" in out and "number is infinity" in out
    metrics = [orjson.loads(line) for line in out.splitlines() if '"_aws"' in line]
    assert metrics[-1]["Undecodable"] == 1
    handler.reset()
