"""Malformed items each fail with a reason saying what went wrong; their neighbours still decode."""

from __future__ import annotations

import base64
import gzip

import pytest

from processor.decode import DecodeFailure, decode_kinesis_event
from tests.decode.helpers import dumps, kinesis_event, load, sequence_number

GOOD = load("stop_logging.eventbridge")
NOT_A_SHAPE = "is not an EventBridge event, a CloudTrail record or a CloudTrail log file (expected an object)"


def _batch_with_bad_middle(bad_record: dict) -> dict:
    event = kinesis_event(dumps(GOOD), b"", dumps(GOOD))
    event["Records"][1] = bad_record
    return event


def _with_data(b64: str) -> dict:
    record = kinesis_event(b"")["Records"][0]
    record["kinesis"]["data"] = b64
    record["kinesis"]["sequenceNumber"] = sequence_number(1)
    return record


def _with_payload(payload: bytes) -> dict:
    return _with_data(base64.b64encode(payload).decode())


MALFORMED = {
    "not base64": (
        _with_data("eyJldmVudE5hbWUiOi!!"),
        "kinesis data is not valid base64: Only base64 data is allowed",
    ),
    "base64 with bad padding": (
        _with_data("eyJh"[:3]),
        "kinesis data is not valid base64: Incorrect padding",
    ),
    "base64 with non-ASCII characters": (
        _with_data("ZXZlbnTigJk="[:8] + "é"),
        "kinesis data is not valid base64: string argument should contain only ASCII characters",
    ),
    "empty bytes": (_with_payload(b""), "payload is empty (0 bytes)"),
    "whitespace only": (_with_payload(b" \n"), "not JSON: empty document (2 bytes of whitespace)"),
    "not UTF-8": (
        _with_payload(b'{"eventName": "\xc3\x28"}'),
        "not UTF-8: invalid continuation byte (byte 0xc3 at byte 15)",
    ),
    "binary bytes": (
        _with_payload(b"\x00\x01\x02\x03"),
        "not JSON: unexpected character, expected a JSON value at byte 0",
    ),
    "not JSON": (
        _with_payload(b'{"eventName": "Caf\xc3\xa9", oops}'),
        "not JSON: unexpected character, expected a string key at byte 23",  # char 22: é is 2 bytes,
    ),
    "JSON followed by junk": (
        _with_payload(dumps(GOOD) + b"}"),
        "not JSON: unexpected content after document at byte",
    ),
    "JSON array": (
        _with_payload(dumps([GOOD["detail"]])),
        f"JSON array {NOT_A_SHAPE}",
    ),
    "JSON string": (
        _with_payload(b'"AWS API Call via CloudTrail"'),
        f"JSON string {NOT_A_SHAPE}",
    ),
    "JSON null": (
        _with_payload(b"null"),
        f"JSON null {NOT_A_SHAPE}",
    ),
    "EventBridge non-CloudTrail": (
        _with_payload(dumps(load("ec2_state_change.eventbridge"))),
        "EventBridge event with detail-type 'EC2 Instance State-change Notification' does not carry a "
        "CloudTrail record",
    ),
    "EventBridge detail-type not a string": (
        _with_payload(dumps(GOOD | {"detail-type": ["AWS API Call via CloudTrail"]})),
        "EventBridge event has a detail-type of type array, not a string",
    ),
    "gzip garbage": (_with_payload(b"\x1f\x8b\x08\x00" + b"\xde\xad\xbe\xef" * 8), "gzip data is corrupt: "),
    "gzip of a non-subscription JSON": (
        _with_payload(gzip.compress(dumps(GOOD))),
        "gzip payload is not a CloudWatch Logs subscription message: it is no 'messageType'",
    ),
    "KPL magic with bad checksum": (
        _with_payload(b"\xf3\x89\x9a\xc2" + b"\x0a\x02pk" + b"\x00" * 16),
        "KPL aggregate checksum mismatch",
    ),
}


@pytest.mark.parametrize(("bad_record", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_item_fails_with_a_precise_reason_and_neighbours_decode(
    bad_record: dict, reason: str
) -> None:
    batch = decode_kinesis_event(_batch_with_bad_middle(bad_record))

    assert [r.event for r in batch.records] == [GOOD["detail"], GOOD["detail"]]
    assert [(r.item_id, r.index) for r in batch.records] == [(sequence_number(0), 0), (sequence_number(2), 0)]
    (failure,) = batch.failures
    assert failure.item_id == sequence_number(1)
    assert failure.reason.startswith(reason), failure.reason
    assert batch.sequence_numbers == tuple(sequence_number(i) for i in range(3))


@pytest.mark.parametrize(
    ("bad_record", "reason"),
    [
        (
            {"eventSource": "aws:sqs", "body": "{}"},
            "Lambda record has no 'kinesis' section (eventSource 'aws:sqs')",
        ),
        ({"eventID": "x"}, "Lambda record has no 'kinesis' section"),
        ("shardId-000000000000", "Lambda record is a str, not an object"),
        ({"kinesis": {"data": "e30="}}, "Lambda record's kinesis section has no 'sequenceNumber' string"),
    ],
)
def test_lambda_record_without_a_usable_kinesis_section_fails_under_its_position(
    bad_record: object, reason: str
) -> None:
    event = kinesis_event(dumps(GOOD), b"", dumps(GOOD))
    event["Records"][1] = bad_record

    batch = decode_kinesis_event(event)

    assert len(batch.records) == 2
    assert batch.failures == (DecodeFailure("Records[1]", reason),)
    assert batch.sequence_numbers == (sequence_number(0), "Records[1]", sequence_number(2))


def test_kinesis_section_without_data_fails() -> None:
    event = kinesis_event(dumps(GOOD))
    del event["Records"][0]["kinesis"]["data"]

    batch = decode_kinesis_event(event)

    assert batch.failures == (
        DecodeFailure(sequence_number(0), "Lambda record's kinesis section has no 'data' string"),
    )
