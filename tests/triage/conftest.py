"""Triage over real HTTP: the processor posts to the Slack stand-in, the stand-in sends signed
clicks to processor.interactions.handler served as a Function URL on 127.0.0.1, DynamoDB is moto's.

Time is a fake clock shared by all three (Slack's request timestamps included), so a snooze's
expiry and a stale signature are reached by advancing it, never by waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from processor import handler, interactions
from processor.devtools.function_url import FunctionUrl
from processor.devtools.slack_standin import Post, SlackStandIn
from tests.deliver import conftest as deliver
from tests.deliver.conftest import set_env
from tests.deliver.fakes import FakeClock, LambdaContext, cloudtrail_event, kinesis_batch

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 - a test value, like Slack's docs'
TRIAGE_KEY = "3q2nX0kq1o8l7Xb3m8c0Yk2Q9w4e5r6t7y8u9i0o1p2a3s4d"
clock = deliver.clock  # the fixtures of tests/deliver: a fake clock, the table infra/ creates
table = deliver.table
CHANNEL = "CSEC"
RESPONDER = "U0RESPONDER"
RULE_ID = "RULES[0]"


def environment(slack: SlackStandIn, table: str, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "DEFAULT_SLACK_CHANNEL_ID": CHANNEL,
        "SLACK_API_URL": slack.api_url,
        "RULES": 'event["eventName"] == "StopLogging",event["eventName"] == "DeleteTrail"',
        "USE_DEFAULT_RULES": "false",
        "DYNAMODB_TABLE_NAME": table,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "TRIAGE_SIGNING_KEY": TRIAGE_KEY,
        **extra,
    }


@dataclass
class Triage:
    """The three parts wired together, and what a test does with them."""

    slack: SlackStandIn
    clock: FakeClock
    url: FunctionUrl
    metrics: list[dict[str, Any]] = field(default_factory=list)

    def deliver(self, *events: dict[str, Any]) -> dict[str, Any]:
        """One Kinesis batch through processor.handler.handler."""
        return handler.handler(kinesis_batch(list(events)), LambdaContext(self.clock))

    def alert(self, event_id: str) -> Post:
        """The one message that posted this event."""
        (post,) = [p for p in self.posted() if event_id in orjson.dumps(p.payload).decode()]
        return post

    def posted(self) -> list[Post]:
        return [p for p in self.slack.posts if p.api == "chat.postMessage"]

    def thread(self, ts: str) -> list[dict[str, Any]]:
        """The replies in the thread of message `ts`, as Slack holds them (edits applied)."""
        return [m for m in self.slack.messages(CHANNEL) if m.get("thread_ts") == ts and m["ts"] != ts]

    def snooze(self, event_id: str, action: str = "triage.snooze.1h", user: str = RESPONDER) -> None:
        """Click a snooze (or mute) button on the alert, then confirm the modal it opens."""
        answer = self.slack.click(CHANNEL, self.alert(event_id).ts, action, user=user)
        assert answer.status == 200, answer.body
        assert self.slack.submit(user=user).status == 200

    def last_metrics(self) -> dict[str, Any]:
        return self.metrics[-1]

    def emit(self, line: str) -> None:
        """The processor's EMF metrics line, kept."""
        self.metrics.append(orjson.loads(line))


@pytest.fixture
def triage(
    aws: str, table: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Triage]:
    extra = getattr(request, "param", {})
    with SlackStandIn(wall=clock.wall, signing_secret=SIGNING_SECRET) as slack:
        set_env(monkeypatch, **environment(slack, table, **extra))
        interactions.reset(timing=clock.timing)
        with FunctionUrl(interactions.handler, context=lambda: LambdaContext(clock, timeout=10)) as url:
            slack.interactivity_url = url.url
            setup = Triage(slack, clock, url)
            handler.reset(timing=clock.timing, emit_metrics=setup.emit)
            yield setup
    handler.reset()
    interactions.reset()


def similar(event_id: str, **changes: Any) -> dict[str, Any]:
    """A StopLogging by alice in the production account: similar to every other one of them."""
    return cloudtrail_event(event_id, **changes)
