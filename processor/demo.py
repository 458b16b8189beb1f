"""`trailalert demo` (and `make demo`): the real-time path end to end on this machine, no AWS account.

Starts moto's server on 127.0.0.1 (Kinesis, SNS, SQS, DynamoDB) and a local Slack stand-in, puts a
sample day of CloudTrail into a Kinesis stream as EventBridge delivers it, reads it back into a
Lambda-shaped batch, runs the real handler and prints what it configured, every Slack message whole
and what reached SNS; then a snooze from Slack taking effect (processor/devtools/triage_demo.py).
Writes an HTML preview of the Slack messages (processor/devtools/preview.py).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import socket
import sys
import textwrap
from pathlib import Path
from typing import Any

import orjson

from processor.devtools import triage_demo
from processor.devtools.kinesis_events import encode, eventbridge_envelope, put_and_read_back
from processor.devtools.preview import Conversation, render_page
from processor.devtools.sample_events import DEMO_IGNORE_RULES, DEMO_RULES, DEV, sample_events
from processor.devtools.slack_standin import SlackStandIn

STREAM = "trailalert-demo"
TOPIC = "trailalert-alerts"
CHANNEL = "C0SECURITY"
DEV_CHANNEL = "C0DEVALERTS"
DEFAULT_PREVIEW = "build/demo-preview.html"
_RULE = "─"
# A Slack-escaped snippet such as `&lt;!channel&gt;`, to point at where escaping is visible.
_ESCAPED = re.compile(r"&lt;[^\n`]{0,40}?&gt;|&amp;\S{0,20}")


def main() -> int:
    """`python -m processor.demo`: the demo with its default preview path."""
    return run_demo(DEFAULT_PREVIEW)


def run_demo(preview: str | Path = DEFAULT_PREVIEW) -> int:
    """Run the demo, print what happened, write the HTML preview to `preview`; 0 when it all worked."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        print(
            "trailalert demo needs the `demo` extra (moto's server, a local AWS): in a checkout, "
            "`pip install '.[demo]'` or `pipx install --force '.[demo]'`, or run `make demo`",
            file=sys.stderr,
        )
        return 2

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log is noise here
    port = _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    _use_local_aws(endpoint)
    try:
        with SlackStandIn() as slack:
            return _run(endpoint, slack, Path(preview))
    finally:
        moto.stop()


def _run(endpoint: str, slack: SlackStandIn, preview: Path) -> int:
    import boto3

    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM)
    sns = boto3.client("sns")
    topic = sns.create_topic(Name=TOPIC)["TopicArn"]
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

    settings = {
        "SLACK_BOT_TOKEN": "xoxb-demo-token",
        "DEFAULT_SLACK_CHANNEL_ID": CHANNEL,
        "SLACK_APP_CONFIGURATION": orjson.dumps(
            [{"accounts": [DEV], "slack_channel_id": DEV_CHANNEL}]
        ).decode(),
        "SLACK_API_URL": slack.api_url,
        "DEFAULT_SNS_TOPIC_ARN": topic,
        "RULES": DEMO_RULES,
        "IGNORE_RULES": DEMO_IGNORE_RULES,
        "FUNCTION_NAME": "trailalert",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(settings)
    print(_configured(endpoint, slack, settings, len(events)))

    from processor import handler

    handler.reset()
    logs = io.StringIO()
    with contextlib.redirect_stdout(logs):  # the Lambda's JSON log lines; summarised below
        response = handler.handler(batch, None)

    alerts = [CHANNEL, DEV_CHANNEL]
    print(_heading(f"What Slack received: {len(slack.posts)} messages, whole, in Slack's mrkdwn"))
    for post in slack.posts:
        print(format_message(post.channel, post.payload))
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    print(_heading(f"What SNS received (topic {TOPIC}, read back from its SQS subscriber)"))
    for message in received[:3]:
        print("  -", orjson.loads(message["Body"])["title"])
    if len(received) > 3:
        print(f"  ... and {len(received) - 3} more JSON messages with the same keys")
    print(_heading("The Lambda's log lines (JSON in CloudWatch) and its answer"))
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
        f"  {len(slack.posts)} Slack messages ({len(slack.posts_to(CHANNEL))} to #{CHANNEL}, "
        f"{len(slack.posts_to(DEV_CHANNEL))} to #{DEV_CHANNEL}); partial batch response: {response} "
        "(no record to retry)"
    )
    print(_heading("Triage from Slack: a snooze taking effect (docs/slack.md)"))
    triage = triage_demo.run(events[1], events[0])

    conversations = [
        Conversation(
            "An alert, snoozed from Slack",
            triage.channel,
            triage.messages,
            "The triage part of the demo: the alert's buttons, a responder's snooze confirmed in its "
            "thread, and the similar alerts held back and counted there.",
        ),
        *(
            Conversation(
                "The sample day's messages" if channel == CHANNEL else "Routed by account",
                channel,
                slack.messages(channel),
                "Every event field is attacker-controlled and escaped: '<!channel>' in an event shows "
                "as text and notifies no one."
                if channel == CHANNEL
                else f"Account {DEV}'s alerts (SLACK_APP_CONFIGURATION).",
            )
            for channel in alerts
        ),
    ]
    preview.parent.mkdir(parents=True, exist_ok=True)
    preview.write_text(render_page(conversations), encoding="utf-8")
    print(_heading("Preview"))
    print(f"  The Slack messages as Slack would draw them: {preview}")
    print(f"  Open it in a browser: {preview.resolve().as_uri()}")
    ok = slack.posts and not response["batchItemFailures"] and triage.ok
    return 0 if ok else 1


def _configured(endpoint: str, slack: SlackStandIn, settings: dict[str, str], count: int) -> str:
    """What the demo set up: where AWS and Slack are, which rules, which routing, which input."""
    from processor.rules import check_rules
    from processor.settings import rule_options

    report = check_rules(**rule_options(settings))
    defaults = [c.ref.id for c in report.checks if c.ref.origin == "USE_DEFAULT_RULES"]
    rows = [
        ("Local AWS", f"moto's server at {endpoint}: Kinesis stream {STREAM}, SNS topic {TOPIC} "
         "(an SQS queue subscribed to show what SNS received), later a DynamoDB table for triage"),
        ("Local Slack", f"a stand-in for Slack's Web API at {slack.api_url} (SLACK_API_URL; "
         "processor/devtools/slack_standin.py), bot token xoxb-demo-token"),
        ("Rules", f"the {len(defaults)} default rules (USE_DEFAULT_RULES=true): {', '.join(defaults)}"),
        ("", f"RULES: {settings['RULES']}"),
        ("", f"IGNORE_RULES: {settings['IGNORE_RULES']} (drops the nightly scanner's errors)"),
        ("Routing", f"account {DEV} -> #{DEV_CHANNEL} (SLACK_APP_CONFIGURATION)"),
        ("", f"any other account -> #{CHANNEL} (DEFAULT_SLACK_CHANNEL_ID)"),
        ("", f"every alert also -> SNS topic {TOPIC} (DEFAULT_SNS_TOPIC_ARN)"),
        ("Input", f"{count} CloudTrail events (processor/devtools/sample_events.py) + 1 malformed record, "
         "put into Kinesis as EventBridge delivers them and read back as one Lambda batch for "
         "processor.handler.handler"),
    ]  # fmt: skip
    lines = ["trailalert demo: the real-time path end to end on this machine (no AWS account, no Slack)"]
    lines.append(_heading("What it configured"))
    for label, text in rows:
        wrapped = textwrap.wrap(text, 84, break_on_hyphens=False)
        lines.append(f"  {label:<12} {wrapped[0]}")
        lines.extend(f"  {'':<12} {more}" for more in wrapped[1:])
    return "\n".join(lines)


def format_message(channel: str, payload: dict[str, Any]) -> str:
    """A Block Kit message whole, as its mrkdwn source: header, texts, fields, context, buttons.

    Where Slack escaping shows (`&lt;!channel&gt;`), a note says why."""
    lines = [f"{_RULE * 2} #{channel} " + _RULE * 60]
    for block in payload.get("blocks") or [{"type": "section", "text": {"text": payload.get("text", "")}}]:
        kind = block.get("type")
        if kind == "header":
            lines.append("  " + block["text"]["text"])
        elif kind == "section":
            if block.get("text"):
                lines.extend(textwrap.indent(block["text"]["text"], "  ").splitlines())
            for item in block.get("fields", []):
                lines.append("  " + item["text"].replace("\n", " "))
        elif kind == "context":
            lines.append("  " + " | ".join(e.get("text", "") for e in block.get("elements", [])))
        elif kind == "actions":
            lines.append("  " + "  ".join(f"[{e['text']['text']}]" for e in block.get("elements", [])))
    escaped = _ESCAPED.search(orjson.dumps(payload.get("blocks") or payload.get("text", "")).decode())
    if escaped:
        shown = escaped.group()
        lines.append(
            f"  note: {shown} is Slack escaping at work. Event fields are attacker-controlled, so "
            "trailalert escapes &, < and > in them: Slack shows "
            f"{shown.replace('&lt;', '<').replace('&gt;', '>').replace('&amp;', '&')} as plain text, "
            "and it notifies or links no one."
        )
    return "\n".join(lines) + "\n"


def _heading(text: str) -> str:
    return f"\n{_RULE * 2} {text} " + _RULE * max(4, 76 - len(text))


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
