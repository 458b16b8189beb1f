"""Through processor.handler.handler with a Lambda-shaped Kinesis batch: partial failures and retries."""

from __future__ import annotations

import boto3
import orjson
import pytest

from processor import handler
from processor.devtools.slack_standin import SlackStandIn
from tests.deliver.conftest import set_env
from tests.deliver.fakes import (
    FakeClock,
    LambdaContext,
    cloudtrail_event,
    event_ids_posted,
    kinesis_batch,
    sequence_of,
)

RULES = 'event["eventName"] == "StopLogging"'

pytestmark = pytest.mark.usefixtures("fresh_container")


def _slack_app(monkeypatch: pytest.MonkeyPatch, slack: SlackStandIn, **extra: str) -> None:
    set_env(
        monkeypatch,
        SLACK_BOT_TOKEN="xoxb-test-token",
        DEFAULT_SLACK_CHANNEL_ID="CSEC",
        SLACK_API_URL=slack.api_url,
        RULES=RULES,
        USE_DEFAULT_RULES="false",
        **extra,
    )


def _events(count: int) -> list[dict]:
    return [cloudtrail_event(f"evt-{i}", principal=f"user{i}") for i in range(count)]


def test_persistent_5xx_for_one_alert_fails_exactly_its_record(
    slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slack_app(monkeypatch, slack)
    handler.reset(timing=clock.timing)
    batch = kinesis_batch(_events(5))
    slack.fail_matching("evt-2", 500)
    response = handler.handler(batch, LambdaContext(clock))
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_of(batch, 2)}]}
    assert sorted(event_ids_posted(slack.posts)) == ["evt-0", "evt-1", "evt-3", "evt-4"]


def test_reinvoking_the_batch_after_recovery_posts_only_what_was_missing(
    slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slack_app(monkeypatch, slack)
    handler.reset(timing=clock.timing)
    batch = kinesis_batch(_events(5))
    slack.fail_matching("evt-2", 500)
    assert handler.handler(batch, LambdaContext(clock))["batchItemFailures"]
    slack.clear_faults()
    assert handler.handler(batch, LambdaContext(clock)) == {"batchItemFailures": []}
    assert sorted(event_ids_posted(slack.posts)) == [f"evt-{i}" for i in range(5)]  # each exactly once


def test_the_dynamodb_ledger_prevents_repeats_across_a_cold_start(
    slack: SlackStandIn, clock: FakeClock, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slack_app(monkeypatch, slack, DYNAMODB_TABLE_NAME=table)
    handler.reset(timing=clock.timing)
    batch = kinesis_batch(_events(4))
    slack.fail_matching("evt-3", 503)
    assert handler.handler(batch, LambdaContext(clock))["batchItemFailures"] == [
        {"itemIdentifier": sequence_of(batch, 3)}
    ]
    slack.clear_faults()
    handler.reset(timing=clock.timing)  # the retry lands on a new container: no memory of the first
    assert handler.handler(batch, LambdaContext(clock)) == {"batchItemFailures": []}
    assert sorted(event_ids_posted(slack.posts, api="chat.postMessage")) == [f"evt-{i}" for i in range(4)]


def test_out_of_time_alerts_are_failed_not_dropped(
    slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack keeps answering 429 with a long Retry-After: what cannot wait is handed back to Lambda."""
    _slack_app(monkeypatch, slack)
    handler.reset(timing=clock.timing)
    batch = kinesis_batch(_events(3))
    slack.fail_next(429, retry_after=25)
    response = handler.handler(batch, LambdaContext(clock, timeout=30))
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {
        sequence_of(batch, i) for i in range(3)
    }
    assert not slack.posts
    slack.clear_faults()
    clock.advance(25)  # Lambda retries later; the warm container still honours the Retry-After
    assert handler.handler(batch, LambdaContext(clock, timeout=30)) == {"batchItemFailures": []}
    assert sorted(event_ids_posted(slack.posts)) == ["evt-0", "evt-1", "evt-2"]


def test_webhook_and_sns_are_covered_by_the_same_ledger(
    slack: SlackStandIn, clock: FakeClock, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    set_env(
        monkeypatch,
        HOOK_URL=slack.webhook_url("T1/B1/hooksecret"),
        DEFAULT_SNS_TOPIC_ARN=topic,
        DYNAMODB_TABLE_NAME=table,
        RULES=RULES,
        USE_DEFAULT_RULES="false",
    )
    handler.reset(timing=clock.timing)
    batch = kinesis_batch(_events(3))
    slack.fail_matching("evt-1", 500)
    response = handler.handler(batch, LambdaContext(clock))
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_of(batch, 1)}]}
    slack.clear_faults()
    handler.reset(timing=clock.timing)
    assert handler.handler(batch, LambdaContext(clock)) == {"batchItemFailures": []}
    assert sorted(event_ids_posted(slack.posts)) == ["evt-0", "evt-1", "evt-2"]
    published = []
    while received := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        published += [orjson.loads(m["Body"])["event_id"] for m in received]
        for m in received:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(published) == ["evt-0", "evt-1", "evt-2"]  # evt-1's SNS copy was not published twice


def test_the_same_event_twice_in_one_batch_is_posted_once(
    slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EventBridge delivers at least once: a repeated eventID in one Kinesis batch is one alert."""
    _slack_app(monkeypatch, slack)
    handler.reset(timing=clock.timing)
    repeated = cloudtrail_event("evt-1")
    batch = kinesis_batch([repeated, cloudtrail_event("evt-2", principal="bob"), repeated])
    assert handler.handler(batch, LambdaContext(clock)) == {"batchItemFailures": []}
    assert sorted(event_ids_posted(slack.posts)) == ["evt-1", "evt-2"]


def test_a_repeated_event_whose_delivery_fails_fails_both_records(
    slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slack_app(monkeypatch, slack)
    handler.reset(timing=clock.timing)
    repeated = cloudtrail_event("evt-1")
    batch = kinesis_batch([repeated, repeated])
    slack.fail_matching("evt-1", 404)
    response = handler.handler(batch, LambdaContext(clock))
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_of(batch, i)} for i in range(2)]}
    assert slack.requests == ["/api/chat.postMessage"]  # refused once, not tried twice
