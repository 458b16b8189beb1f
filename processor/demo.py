"""`make demo`: the real-time path end to end on this machine, with no AWS account.

Starts moto's server on 127.0.0.1 (Kinesis, SNS, SQS) and a local Slack stand-in, puts a sample
day of CloudTrail into a Kinesis stream as EventBridge delivers it, reads it back into a
Lambda-shaped batch, runs the real handler and prints what Slack and SNS received.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import sys
import textwrap
from typing import Any

import orjson

from processor.devtools import triage_demo
from processor.devtools.kinesis_events import encode, eventbridge_envelope, put_and_read_back
from processor.devtools.sample_events import DEMO_IGNORE_RULES, DEMO_RULES, sample_events
from processor.devtools.slack_standin import Post, SlackStandIn

STREAM = "trailalert-demo"
CHANNEL = "C0SECURITY"
DEV_CHANNEL = "C0DEVALERTS"


def main() -> int:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log is noise here
    port = _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    _use_local_aws(endpoint)
    try:
        with SlackStandIn() as slack:
            return _run(endpoint, slack)
    finally:
        moto.stop()


def _run(endpoint: str, slack: SlackStandIn) -> int:
    import boto3

    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM)
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="trailalert-alerts")["TopicArn"]
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )

    events = sample_events()
    payloads = [encode(eventbridge_envelope(e)) for e in events] + [b'{"not": "a CloudTrail event"}']
    batch = put_and_read_back(kinesis, STREAM, payloads)

    os.environ.update(
        {
            "SLACK_BOT_TOKEN": "xoxb-demo-token",
            "DEFAULT_SLACK_CHANNEL_ID": CHANNEL,
            "SLACK_APP_CONFIGURATION": orjson.dumps(
                [{"accounts": ["444455556666"], "slack_channel_id": DEV_CHANNEL}]
            ).decode(),
            "SLACK_API_URL": slack.api_url,
            "DEFAULT_SNS_TOPIC_ARN": topic,
            "RULES": DEMO_RULES,
            "IGNORE_RULES": DEMO_IGNORE_RULES,
            "FUNCTION_NAME": "trailalert",
            "LOG_LEVEL": "WARNING",
        }
    )
    from processor import handler

    handler.reset()
    print(
        f"trailalert demo: {len(events)} CloudTrail events + 1 malformed record -> Kinesis '{STREAM}' "
        f"(moto at {endpoint}) -> handler\n"
    )
    logs = io.StringIO()
    with contextlib.redirect_stdout(logs):  # the Lambda's JSON log lines; summarised below
        response = handler.handler(batch, None)

    for post in slack.posts:
        print(_format_post(post))
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    print(f"SNS topic {topic.split(':')[-1]} received messages; first few titles from its SQS subscriber:")
    for message in received[:3]:
        print("  -", orjson.loads(message["Body"])["title"])
    print("\nLambda log lines (JSON in CloudWatch):")
    for line in logs.getvalue().splitlines():
        entry = orjson.loads(line)
        if "_aws" in entry:
            print(
                f"  metrics: {entry['RecordsIn']} records in, {entry['Decoded']} decoded, "
                f"{entry['Undecodable']} undecodable, {entry['Ignored']} ignored, {entry['Alerts']} alerts"
            )
        else:
            print(f"  {entry['level']}: {entry['message']} {_extra(entry)}")
    print(
        f"\n{len(slack.posts)} Slack messages ({len(slack.posts_to(CHANNEL))} to {CHANNEL}, "
        f"{len(slack.posts_to(DEV_CHANNEL))} to {DEV_CHANNEL}); partial batch response: {response}"
    )
    print("\n── Triage from Slack: a snooze taking effect (docs/slack.md) " + "─" * 20)
    snoozed = triage_demo.run(events[1], events[0])
    return 0 if slack.posts and not response["batchItemFailures"] and snoozed else 1


def _format_post(post: Post) -> str:
    """Show a Block Kit message roughly as Slack would: header, text, fields, context."""
    lines = [f"── #{post.channel} " + "─" * 60]
    for block in post.payload.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            lines.append("  " + block["text"]["text"])
        elif kind == "section":
            if block.get("text"):
                lines.extend(textwrap.indent(block["text"]["text"], "  ").splitlines()[:8])
            for item in block.get("fields", []):
                lines.append("  " + item["text"].replace("\n", " "))
        elif kind == "context":
            lines.append("  " + " | ".join(e.get("text", "") for e in block.get("elements", [])))
    return "\n".join(lines) + "\n"


def _extra(entry: dict[str, Any]) -> str:
    skip = {"level", "time", "logger", "message"}
    return " ".join(f"{k}={v}" for k, v in entry.items() if k not in skip)


def _use_local_aws(endpoint: str) -> None:
    """Only this process's environment: boto3 then talks to moto, never to AWS."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
