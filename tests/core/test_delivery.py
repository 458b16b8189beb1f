"""Delivery over real HTTP (local Slack) and real SNS (moto server): outcomes, idempotency, failures."""

from __future__ import annotations

import boto3
import orjson
from slack_sdk import WebClient

from processor.deliver.dispatcher import Dispatcher
from processor.deliver.ledger import MemoryLedger
from processor.deliver.senders import SlackAppSender, SnsSender, WebhookSender
from processor.devtools.slack_standin import SlackStandIn
from processor.models import Alert, Destination, DestinationKind, Record, RuleRef, SlackMessage, Status

RULE = RuleRef(id="RULES[0]", expression="True", origin="RULES")


def _alert(event_id: str, *destinations: Destination) -> Alert:
    record = Record(event={"eventID": event_id, "eventName": "StopLogging"}, item_id=f"seq-{event_id}")
    slack = SlackMessage(
        text=f"alert {event_id}", blocks=({"type": "section", "text": {"type": "mrkdwn", "text": "x"}},)
    )
    return Alert(
        record, RULE, "111122223333", destinations, slack, {"title": f"alert {event_id}"}, event_id=event_id
    )


def _dispatcher(slack: SlackStandIn, **kinds: object) -> Dispatcher:
    senders = {
        DestinationKind.SLACK_APP: SlackAppSender(
            WebClient(token="xoxb-test", base_url=slack.api_url, timeout=2)
        ),
        DestinationKind.SLACK_WEBHOOK: WebhookSender(timeout=2),
    }
    senders.update(kinds)  # type: ignore[arg-type]
    return Dispatcher(senders, MemoryLedger())


def test_slack_app_message_is_posted_to_the_channel(slack: SlackStandIn) -> None:
    channel = Destination(DestinationKind.SLACK_APP, "CSEC")
    (outcome,) = _dispatcher(slack).deliver([_alert("e1", channel)])
    assert outcome.status is Status.DELIVERED
    (post,) = slack.posts_to("CSEC")
    assert post.payload["text"] == "alert e1" and post.payload["blocks"][0]["type"] == "section"


def test_a_retried_batch_does_not_post_again(slack: SlackStandIn) -> None:
    dispatcher = _dispatcher(slack)
    channel = Destination(DestinationKind.SLACK_APP, "CSEC")
    dispatcher.deliver([_alert("e1", channel)])
    outcomes = dispatcher.deliver([_alert("e1", channel), _alert("e2", channel)])
    assert [o.status for o in outcomes] == [Status.DUPLICATE, Status.DELIVERED]
    assert len(slack.posts) == 2


def test_slack_error_fails_only_that_alert(slack: SlackStandIn) -> None:
    channel = Destination(DestinationKind.SLACK_APP, "CSEC")
    slack.fail_next(500)
    outcomes = _dispatcher(slack).deliver([_alert("e1", channel), _alert("e2", channel)])
    assert [o.status for o in outcomes] == [Status.FAILED, Status.DELIVERED]
    assert "500" in outcomes[0].detail


def test_failed_delivery_is_sent_on_retry(slack: SlackStandIn) -> None:
    dispatcher = _dispatcher(slack)
    channel = Destination(DestinationKind.SLACK_APP, "CSEC")
    slack.fail_next(503)
    assert dispatcher.deliver([_alert("e1", channel)])[0].status is Status.FAILED
    assert dispatcher.deliver([_alert("e1", channel)])[0].status is Status.DELIVERED
    assert len(slack.posts) == 1


def test_webhook_non_200_answer_is_a_failure_and_url_stays_secret(slack: SlackStandIn) -> None:
    hook = Destination(DestinationKind.SLACK_WEBHOOK, slack.webhook_url("T1/B1/secretpart"))
    slack.fail_next(404, body=b"no_service")
    (outcome,) = _dispatcher(slack).deliver([_alert("e1", hook)])
    assert outcome.status is Status.FAILED
    assert "404" in outcome.detail and "no_service" in outcome.detail
    assert "secretpart" not in outcome.detail


def test_webhook_message_arrives(slack: SlackStandIn) -> None:
    hook = Destination(DestinationKind.SLACK_WEBHOOK, slack.webhook_url("T1/B1/abc"))
    (outcome,) = _dispatcher(slack).deliver([_alert("e1", hook)])
    assert outcome.status is Status.DELIVERED
    assert slack.posts[0].api == "webhook" and slack.posts[0].payload["text"] == "alert e1"


def test_slack_timeout_is_a_failure_not_a_hang(slack: SlackStandIn) -> None:
    channel = Destination(DestinationKind.SLACK_APP, "CSEC")
    slack.hang_next(4)
    (outcome,) = _dispatcher(slack).deliver([_alert("e1", channel)])
    assert outcome.status is Status.FAILED
    assert "timed out" in outcome.detail.lower() or "timeout" in outcome.detail.lower()


def test_no_send_is_started_without_time_left(slack: SlackStandIn) -> None:
    channel = Destination(DestinationKind.SLACK_APP, "CSEC")
    (outcome,) = _dispatcher(slack).deliver([_alert("e1", channel)], remaining_seconds=lambda: 1.0)
    assert outcome.status is Status.FAILED and not slack.posts


def test_sns_publishes_the_json_message(aws: str, slack: SlackStandIn) -> None:
    sns = boto3.client("sns", region_name="eu-west-1")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sqs = boto3.client("sqs", region_name="eu-west-1")
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sender = SnsSender(lambda region: boto3.client("sns", region_name=region))
    dispatcher = _dispatcher(slack, **{DestinationKind.SNS: sender})
    (outcome,) = dispatcher.deliver([_alert("e1", Destination(DestinationKind.SNS, topic))])
    assert outcome.status is Status.DELIVERED
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert orjson.loads(message["Body"]) == {"title": "alert e1"}


def test_sns_to_a_missing_topic_fails_that_alert(aws: str, slack: SlackStandIn) -> None:
    sender = SnsSender(lambda region: boto3.client("sns", region_name=region))
    dispatcher = _dispatcher(slack, **{DestinationKind.SNS: sender})
    missing = Destination(DestinationKind.SNS, "arn:aws:sns:us-east-1:123456789012:nope")
    (outcome,) = dispatcher.deliver([_alert("e1", missing)])
    assert outcome.status is Status.FAILED and "SNS publish failed" in outcome.detail
