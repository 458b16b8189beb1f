"""Route CloudTrail records through an EventBridge rule on moto's server and see what arrives.

moto's TestEventPattern answers without a result, so a pattern is checked the way EventBridge
uses it: a rule with the pattern on a bus, an SQS queue as its target, the records put on the bus
shaped as EventBridge delivers CloudTrail (source `aws.<service>`, the detail-type of the record's
eventType, the record as detail), and the queue read back.

moto's SQS slows down quadratically with the messages a queue holds (1,000 take a minute to read),
so records are put by representative: a pattern's verdict depends only on which of its filters each
named field passes, so records that pass and fail the same filters (as moto's own matcher decides
filter by filter) are matched alike, and one of each group goes through EventBridge for all of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
from moto.events.models import UNDEFINED
from moto.events.models import EventPattern as MotoPattern

REGION = "us-east-1"
DETAIL_TYPES = {
    "AwsApiCall": "AWS API Call via CloudTrail",
    "AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
    "AwsCloudTrailInsight": "AWS Insight via CloudTrail",
}


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


def entry(record: dict[str, Any], bus: str) -> dict[str, Any]:
    """The PutEvents entry EventBridge would make of a CloudTrail record."""
    service = str(record.get("eventSource", "cloudtrail.amazonaws.com")).split(".", 1)[0]
    detail_type = DETAIL_TYPES.get(str(record.get("eventType")), DETAIL_TYPES["AwsApiCall"])
    return {
        "Source": f"aws.{service}",
        "DetailType": detail_type,
        "Detail": json.dumps(record),
        "EventBusName": bus,
    }


def pattern_filters(pattern: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(dotted field path, filter) for every filter of the pattern, inside `$or` branches too."""
    for key, value in pattern.items():
        if key == "$or":
            for branch in value:
                yield from pattern_filters(branch, path)
        elif isinstance(value, dict):
            yield from pattern_filters(value, (*path, key))
        else:
            for one in value:
                yield ".".join((*path, key)), one


def _signature(envelope: dict[str, Any], filters: list[tuple[str, Any]]) -> tuple[bool, ...]:
    """Which filters the envelope's fields pass, each decided by moto's matcher."""
    flat = MotoPattern._flatten_dict(envelope)
    matcher = MotoPattern(None, {})
    return tuple(matcher._does_item_match_filters(flat.get(path, UNDEFINED), [one]) for path, one in filters)


def route(endpoint: str, pattern: dict[str, Any], records: Iterable[dict[str, Any]], name: str) -> set[str]:
    """The eventIDs of the records EventBridge delivers through a rule with `pattern` (eventIDs unique)."""
    filters = list(pattern_filters(pattern))
    groups: dict[tuple[bool, ...], list[str]] = {}
    representatives: list[dict[str, Any]] = []
    for record in records:
        made = entry(record, name)
        envelope = {"source": made["Source"], "detail-type": made["DetailType"], "detail": record}
        signature = _signature(envelope, filters)
        if signature not in groups:
            groups[signature] = []
            representatives.append(made)
        groups[signature].append(record["eventID"])
    delivered = _deliver(endpoint, pattern, representatives, name)
    members = {ids[0]: ids for ids in groups.values()}
    return {event_id for first in delivered for event_id in members[first]}


def queue_rule(events: Any, sqs: Any, bus: str, pattern: dict[str, Any], name: str) -> str:
    """A rule with `pattern` on `bus` whose target is a new SQS queue; returns the queue's URL."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def put(events: Any, entries: list[dict[str, Any]]) -> None:
    for start in range(0, len(entries), 10):  # PutEvents takes at most 10 entries
        answer = events.put_events(Entries=entries[start : start + 10])
        assert answer["FailedEntryCount"] == 0, answer


def received(sqs: Any, url: str) -> set[str]:
    """The eventIDs of the CloudTrail records that reached the queue."""
    seen: set[str] = set()
    while True:  # a long visibility timeout: each message is read once, no deletes needed
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=3600)
        if not messages.get("Messages"):
            return seen
        seen |= {json.loads(m["Body"])["detail"]["eventID"] for m in messages["Messages"]}


def _deliver(endpoint: str, pattern: dict[str, Any], entries: list[dict[str, Any]], name: str) -> set[str]:
    events, sqs = client(endpoint, "events"), client(endpoint, "sqs")
    events.create_event_bus(Name=name)
    url = queue_rule(events, sqs, name, pattern, name)
    put(events, entries)
    return received(sqs, url)
