"""Build the inputs the Lambda sees: EventBridge envelopes and Lambda-shaped Kinesis events."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from typing import Any

import orjson

_DETAIL_TYPES = {
    "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
    "AwsConsoleAction": "AWS Console Action via CloudTrail",
    "AwsCloudTrailInsight": "AWS Insight via CloudTrail",
}


def eventbridge_envelope(record: dict[str, Any]) -> dict[str, Any]:
    """Wrap a CloudTrail record the way EventBridge delivers it to a Kinesis target."""
    source = str(record.get("eventSource", "aws.unknown")).removesuffix(".amazonaws.com")
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, str(record.get("eventID", "")))),
        "detail-type": _DETAIL_TYPES.get(str(record.get("eventType")), "AWS API Call via CloudTrail"),
        "source": f"aws.{source}",
        "account": str(record.get("recipientAccountId", "")),
        "time": record.get("eventTime", ""),
        "region": record.get("awsRegion", ""),
        "resources": [],
        "detail": record,
    }


def lambda_kinesis_event(items: Iterable[tuple[str, bytes]], stream_arn: str) -> dict[str, Any]:
    """A Lambda Kinesis event from (sequenceNumber, data) pairs, as the event source mapping builds it."""
    records = []
    for sequence, data in items:
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "pk",
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(data).decode(),
                    "approximateArrivalTimestamp": 1700000000.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::111122223333:role/trailalert",
                "awsRegion": "us-east-1",
                "eventSourceARN": stream_arn,
            }
        )
    return {"Records": records}


def put_and_read_back(kinesis: Any, stream: str, payloads: list[bytes]) -> dict[str, Any]:
    """Put payloads into a stream, read them back, and shape them as the Lambda would receive them."""
    for data in payloads:
        kinesis.put_record(StreamName=stream, Data=data, PartitionKey="pk")
    description = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    items: list[tuple[str, bytes]] = []
    for shard in description["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        response = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        items.extend((r["SequenceNumber"], r["Data"]) for r in response["Records"])
    return lambda_kinesis_event(items, description["StreamARN"])


def encode(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record)
