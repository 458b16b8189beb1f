"""The Lambda end to end: a Kinesis batch read back from moto's stream, Slack over HTTP, SNS on moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import orjson
import pytest

from processor import handler
from processor.devtools.kinesis_events import encode, eventbridge_envelope, put_and_read_back
from processor.devtools.sample_events import DEMO_IGNORE_RULES, DEMO_RULES, DEV, PROD, sample_events
from processor.devtools.slack_standin import SlackStandIn
from tests.deliver.fakes import FakeClock

# What the sample day must produce with the demo settings (see processor/devtools/sample_events.py).
EXPECTED_ALERTS = {
    "00000000-0000-4000-8000-000000000001": "default.console-login-without-mfa",
    "00000000-0000-4000-8000-000000000002": "default.cloudtrail-stop-logging",
    "00000000-0000-4000-8000-000000000003": "default.cloudtrail-delete-trail",
    "00000000-0000-4000-8000-000000000004": "default.root-non-read-action",
    "00000000-0000-4000-8000-000000000005": "default.unauthorized-operation",
    "00000000-0000-4000-8000-000000000006": "default.access-denied",
    "00000000-0000-4000-8000-000000000007": "default.self-update-function-configuration",
    "00000000-0000-4000-8000-000000000008": "RULES[0]",
}


class Context:
    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(autouse=True)
def fresh_container() -> Iterator[None]:
    # Pacing and retry waits run on a fake clock, so the suite does not sleep through them.
    handler.reset(timing=FakeClock().timing)
    yield
    handler.reset()


@pytest.fixture
def stream(aws: str) -> Any:
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName="trail", ShardCount=1)
    return kinesis


@pytest.fixture
def topic(aws: str) -> tuple[str, str]:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    arn = sns.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return arn, queue


def _slack_env(monkeypatch: pytest.MonkeyPatch, slack: SlackStandIn, **extra: str) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "DEFAULT_SLACK_CHANNEL_ID": "CSEC",
        "SLACK_APP_CONFIGURATION": orjson.dumps([{"accounts": [DEV], "slack_channel_id": "CDEV"}]).decode(),
        "SLACK_API_URL": slack.api_url,
        "RULES": DEMO_RULES,
        "IGNORE_RULES": DEMO_IGNORE_RULES,
        "FUNCTION_NAME": "trailalert",
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _event_ids(posts: list[Any]) -> list[str]:
    ids = []
    for post in posts:
        text = orjson.dumps(post.payload).decode()
        ids.extend(event_id for event_id in EXPECTED_ALERTS if event_id in text)
    return ids


def test_sample_day_alerts_exactly_the_dangerous_events(
    stream: Any, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slack_env(monkeypatch, slack)
    batch = put_and_read_back(stream, "trail", [encode(eventbridge_envelope(e)) for e in sample_events()])
    response = handler.handler(batch, Context())
    assert response == {"batchItemFailures": []}
    assert sorted(_event_ids(slack.posts)) == sorted(EXPECTED_ALERTS)
    rules_named = {post.payload["text"] for post in slack.posts}
    for rule_id in EXPECTED_ALERTS.values():
        assert any(rule_id in text for text in rules_named), rule_id


def test_alerts_are_routed_to_the_accounts_channel(
    stream: Any, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slack_env(monkeypatch, slack)
    batch = put_and_read_back(stream, "trail", [encode(eventbridge_envelope(e)) for e in sample_events()])
    handler.handler(batch, Context())
    dev_ids = {e["eventID"] for e in sample_events() if e["recipientAccountId"] == DEV} & set(EXPECTED_ALERTS)
    prod_ids = {e["eventID"] for e in sample_events() if e["recipientAccountId"] == PROD} & set(
        EXPECTED_ALERTS
    )
    assert set(_event_ids(slack.posts_to("CDEV"))) == dev_ids
    assert set(_event_ids(slack.posts_to("CSEC"))) == prod_ids


def test_malformed_records_are_skipped_without_blocking_the_batch(
    stream: Any, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _slack_env(monkeypatch, slack)
    events = sample_events()
    payloads = [
        b"\xff\xfe not json",
        b'{"detail-type": "EC2 Instance State-change Notification", "detail": {}}',
    ]
    payloads += [encode(eventbridge_envelope(e)) for e in events]
    batch = put_and_read_back(stream, "trail", payloads)
    bad_sequence = batch["Records"][0]["kinesis"]["sequenceNumber"]
    response = handler.handler(batch, Context())
    assert response == {"batchItemFailures": []}  # retrying cannot fix a malformed record
    assert sorted(_event_ids(slack.posts)) == sorted(EXPECTED_ALERTS)
    logs = capsys.readouterr().out
    assert bad_sequence in logs and "undecodable" in logs


def test_failed_delivery_is_reported_for_its_record_only(
    stream: Any, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slack_env(monkeypatch, slack)
    events = sample_events()
    batch = put_and_read_back(stream, "trail", [encode(eventbridge_envelope(e)) for e in events])
    slack.fail_matching("00000000-0000-4000-8000-000000000002", 500)  # Slack rejects one alert, always
    response = handler.handler(batch, Context())
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert failed == [batch["Records"][1]["kinesis"]["sequenceNumber"]]
    assert len(_event_ids(slack.posts)) == len(EXPECTED_ALERTS) - 1


def test_retrying_the_batch_delivers_only_what_was_missing(
    stream: Any, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _slack_env(monkeypatch, slack)
    batch = put_and_read_back(stream, "trail", [encode(eventbridge_envelope(e)) for e in sample_events()])
    slack.fail_matching("00000000-0000-4000-8000-000000000002", 500)
    assert handler.handler(batch, Context())["batchItemFailures"]
    slack.clear_faults()
    response = handler.handler(batch, Context())
    assert response == {"batchItemFailures": []}
    assert sorted(_event_ids(slack.posts)) == sorted(EXPECTED_ALERTS)  # each exactly once


def test_sns_only_configuration_publishes_reference_messages(
    stream: Any, topic: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn, queue = topic
    monkeypatch.setenv("DEFAULT_SNS_TOPIC_ARN", arn)
    monkeypatch.setenv("FUNCTION_NAME", "trailalert")
    monkeypatch.setenv("RULES", DEMO_RULES)
    batch = put_and_read_back(stream, "trail", [encode(eventbridge_envelope(e)) for e in sample_events()])
    assert handler.handler(batch, Context()) == {"batchItemFailures": []}
    sqs = boto3.client("sqs")
    messages = []
    while received := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        messages += [orjson.loads(m["Body"]) for m in received]
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
        )
    # The scanner's denied call is not ignored here (no IGNORE_RULES), so it alerts too.
    assert {m["event_id"] for m in messages} == set(EXPECTED_ALERTS) | {
        "00000000-0000-4000-8000-000000000013"
    }
    stop = next(m for m in messages if m["event_id"].endswith("0002"))
    assert stop["title"].endswith("called StopLogging")
    assert stop["account_id"] == PROD and stop["rule_id"] == "default.cloudtrail-stop-logging"


def test_bad_configuration_fails_the_invocation_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:alerts")
    monkeypatch.setenv("RULES", "__import__('os').system('id')")
    with pytest.raises(Exception, match="RULES"):
        handler.handler({"Records": []}, Context())
