"""The triage part of `make demo`: a responder snoozes an alert from Slack, and the next similar
alerts are held back, counted, and summed up in the alert's thread.

Everything is real but local: the processor (processor.handler.handler) posts to the Slack
stand-in, the stand-in sends the click and the confirmation, signed as Slack signs them, to
processor.interactions.handler served as a Function URL on 127.0.0.1, and the snooze lives in
moto's DynamoDB. Only the processor's clock is moved a minute on, past its suppression cache.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from processor.deliver.timing import Timing
from processor.devtools.dynamodb import create_table
from processor.devtools.function_url import FunctionUrl
from processor.devtools.kinesis_events import eventbridge_envelope, lambda_kinesis_event
from processor.devtools.slack_standin import SlackStandIn

TABLE = "trailalert-demo"
CHANNEL = "C0SECURITY"
RESPONDER = "U0RESPONDER"
SIGNING_SECRET = "demo-signing-secret-0123456789abcdef"  # noqa: S105 - a local demo value
TRIAGE_KEY = "demo-triage-signing-key-0123456789abcdefghijklmnop"
ACCOUNT_NAMES = {"111122223333": "production"}
STREAM_ARN = "arn:aws:kinesis:us-east-1:111122223333:stream/trailalert-demo"


@dataclass(frozen=True)
class TriageResult:
    """Whether the snooze took effect, and the channel's messages as Slack holds them (for the preview)."""

    ok: bool
    channel: str = CHANNEL
    messages: list[dict[str, Any]] = field(default_factory=list)


class _ShiftedClock:
    """The system clock, which the demo can move forward (the processor's cache is 60 s)."""

    def __init__(self) -> None:
        self.offset = 0.0

    @property
    def timing(self) -> Timing:
        return Timing(clock=lambda: time.monotonic() + self.offset, sleep=time.sleep, wall=time.time)


def run(event: dict[str, Any], other: dict[str, Any], say: Callable[[str], None] = print) -> TriageResult:
    """Post `event`'s alert, snooze it from Slack, then send two events like it and `other`.

    ok when the two similar ones were held back and counted, and `other` was posted."""
    from processor import handler, interactions

    create_table(TABLE)
    clock = _ShiftedClock()
    metrics: list[dict[str, Any]] = []
    with SlackStandIn(signing_secret=SIGNING_SECRET) as slack:
        os.environ.update(
            {
                "SLACK_API_URL": slack.api_url,
                "DEFAULT_SLACK_CHANNEL_ID": CHANNEL,
                "SLACK_APP_CONFIGURATION": "",
                "DYNAMODB_TABLE_NAME": TABLE,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "TRIAGE_SIGNING_KEY": TRIAGE_KEY,
                "ACCOUNT_NAMES": orjson.dumps(ACCOUNT_NAMES).decode(),
            }
        )
        handler.reset(timing=clock.timing, emit_metrics=lambda line: metrics.append(orjson.loads(line)))
        interactions.reset()
        with FunctionUrl(interactions.handler) as url, contextlib.redirect_stdout(io.StringIO()):
            slack.interactivity_url = url.url
            _deliver(handler, [event])
            (alert,) = slack.posts_to(CHANNEL)
            slack.click(CHANNEL, alert.ts, "triage.snooze.1h", user=RESPONDER)
            (modal,) = slack.views
            shown = modal.view
            slack.submit(user=RESPONDER)
            audit = _thread(slack, alert.ts)
            clock.offset += 61  # a minute later
            similar = [{**event, "eventID": f"{event['eventID']}-again-{n}"} for n in (1, 2)]
            _deliver(handler, [*similar, other])
        thread = _thread(slack, alert.ts)
        messages = slack.messages(CHANNEL)
        posted = [p for p in slack.posts_to(CHANNEL) if p.api == "chat.postMessage" and p is not alert]
    handler.reset()
    interactions.reset()

    say(f"Set up: a DynamoDB table {TABLE} in moto (snoozes, mutes); the interactions function")
    say("(processor.interactions.handler) as a Function URL on 127.0.0.1, where a Slack stand-in sends")
    say("clicks signed with SLACK_SIGNING_SECRET; TRIAGE_SIGNING_KEY signs the buttons' values;")
    say(f"ACCOUNT_NAMES: {orjson.dumps(ACCOUNT_NAMES).decode()}.\n")
    say(f"1. The alert, with its buttons (#{CHANNEL}):")
    say(f"   {_shown(alert.payload['text'])}")
    say("   " + "  ".join(f"[{e['text']['text']}]" for e in alert.payload["blocks"][-1]["elements"]))
    say(f"2. {RESPONDER} clicks [Snooze similar 1 hour]; the dialog shows what it would hold back:")
    for block in shown["blocks"]:
        for item in block.get("fields", []):
            say("   " + _shown(item["text"]).replace("\n", ": "))
    say("3. Confirmed; in the alert's thread:")
    say(f"   {_shown(audit[0]['blocks'][0]['text']['text'])}")
    new_alerts = [p for p in posted if not p.payload.get("thread_ts")]
    say("4. A minute later, two similar events and another one arrive:")
    say(f"   posted: {', '.join(_shown(p.payload['text']) for p in new_alerts) or 'nothing'}")
    say(
        f"   suppressed: {metrics[-1]['Suppressed']} (metric Suppressed; per rule: "
        + _per_rule(metrics[-1])
        + ")"
    )
    say(f"   in the thread: {_shown(thread[-1]['blocks'][0]['text']['text'])}")
    ok = metrics[-1]["Suppressed"] == 2 and len(new_alerts) == 1 and "*2* more similar" in str(thread[-1])
    return TriageResult(ok, CHANNEL, messages)


def _deliver(handler: Any, events: list[dict[str, Any]]) -> None:
    items = [
        (f"4960000000000000000000000000000000000000000000{n:04d}", orjson.dumps(eventbridge_envelope(e)))
        for n, e in enumerate(events)
    ]
    handler.handler(lambda_kinesis_event(items, STREAM_ARN), None)


def _thread(slack: SlackStandIn, ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL) if m.get("thread_ts") == ts and m["ts"] != ts]


def _shown(mrkdwn: str) -> str:
    """Slack mrkdwn roughly as a reader sees it: dates by their fallback, mentions as @id, no markup."""
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", mrkdwn)
    text = re.sub(r"<@([A-Z0-9]+)>", r"@\1", text).replace("*", "").replace("`", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _per_rule(metrics: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in metrics.items() if k.startswith("Suppressed_"))
