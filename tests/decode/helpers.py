"""Builders of realistic inputs: fixtures, CloudWatch Logs payloads, Lambda Kinesis events."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

import orjson

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kinesis"

STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/trailalert-cloudtrail"
SEQ_PREFIX = "4959033827149025660855969253836157109592157598913658"


def load(name: str) -> dict[str, Any]:
    """A fixture from tests/fixtures/kinesis, e.g. load("console_login.eventbridge")."""
    return orjson.loads((FIXTURES / f"{name}.json").read_bytes())


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def sequence_number(i: int) -> str:
    return f"{SEQ_PREFIX}{i:04d}"


def cwlogs_payload(messages: list[str], message_type: str = "DATA_MESSAGE") -> bytes:
    """A gzip CloudWatch Logs subscription payload as a trail's log group produces it."""
    body = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "aws-cloudtrail-logs-123456789012-2f1d7a3e",
        "logStream": "123456789012_CloudTrail_us-east-1",
        "subscriptionFilters": ["trailalert-to-kinesis"],
        "logEvents": [
            {
                "id": f"3819577293762371652045437497312894016546254{i:05d}",
                "timestamp": 1710407213000 + i,
                "message": m,
            }
            for i, m in enumerate(messages)
        ],
    }
    return gzip.compress(orjson.dumps(body))


def cwlogs_control_payload() -> bytes:
    """The message CloudWatch Logs sends when a subscription is created (from the AWS docs)."""
    body = {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [
            {
                "id": "",
                "timestamp": 1432826855105,
                "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.",
            }
        ],
    }
    return gzip.compress(orjson.dumps(body))


def kinesis_record(data: bytes, i: int, partition_key: str = "123456789012") -> dict[str, Any]:
    """One record of a Lambda Kinesis event, shaped as Lambda delivers it."""
    seq = sequence_number(i)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": seq,
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": 1710407213.987,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/trailalert-processor",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
    }


def kinesis_event(*payloads: bytes) -> dict[str, Any]:
    """A Lambda Kinesis event with one record per payload, sequence numbers in order."""
    return {"Records": [kinesis_record(data, i) for i, data in enumerate(payloads)]}
