"""Deterministic time and Slack limits for delivery tests: nothing here sleeps for real."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import orjson

from processor.deliver.timing import Timing
from processor.devtools.kinesis_events import eventbridge_envelope, lambda_kinesis_event
from processor.devtools.slack_standin import Fault, SlackStandIn

STREAM_ARN = "arn:aws:kinesis:us-east-1:111122223333:stream/trail"
PROD = "111122223333"


@dataclass
class FakeClock:
    """Monotonic and wall time that only move when someone sleeps (or the test advances them)."""

    now: float = 1000.0
    wall_offset: float = 1_800_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self.wall_offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def timing(self) -> Timing:
        return Timing(clock=self.clock, sleep=self.sleep, wall=self.wall)


@dataclass
class LambdaContext:
    """`get_remaining_time_in_millis` measured on the fake clock, like a Lambda with `timeout` seconds."""

    clock: FakeClock
    timeout: float = 60.0

    def __post_init__(self) -> None:
        self.deadline = self.clock.now + self.timeout

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - self.clock.now) * 1000)

    def remaining_seconds(self) -> float:
        return self.deadline - self.clock.now


class RateLimitingSlack(SlackStandIn):
    """The stand-in plus Slack's own limit: about one chat.postMessage per second per workspace here
    (tests post to one channel), with a burst, measured on the fake clock. Over it: 429 + Retry-After."""

    def __init__(self, clock: FakeClock, *, burst: int = 4, per_second: float = 1.0) -> None:
        super().__init__()
        self.clock = clock
        self.burst = burst
        self.per_second = per_second
        self.refused = 0
        self._tokens = float(burst)
        self._updated = clock.now

    def _next_fault(self, path: str, body: bytes = b"") -> Fault | None:
        fault = super()._next_fault(path, body)
        if fault is not None or not path.startswith("/api/chat.postMessage"):
            return fault
        with self._lock:
            now = self.clock.now
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.per_second)
            self._updated = now
            if self._tokens < 1:
                self.refused += 1
                return Fault(429, retry_after=1)
            self._tokens -= 1
        return None


def cloudtrail_event(
    event_id: str,
    *,
    event_name: str = "StopLogging",
    principal: str = "alice",
    account: str = PROD,
    error_code: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": f"AIDA{principal.upper()}",
            "arn": f"arn:aws:iam::{account}:user/{principal}",
            "accountId": account,
            "userName": principal,
        },
        "eventTime": "2026-11-20T10:00:00Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"name": "org-trail"},
        "responseElements": None,
        "eventID": event_id,
        "eventType": "AwsApiCall",
        "recipientAccountId": account,
    }
    if error_code:
        event["errorCode"] = error_code
        event["errorMessage"] = "not allowed"
    return event


def kinesis_batch(events: list[dict[str, Any]], *, raw: list[bytes] | None = None) -> dict[str, Any]:
    """A Lambda Kinesis event: `raw` payloads first (e.g. garbage), then the events in envelopes."""
    payloads = list(raw or []) + [orjson.dumps(eventbridge_envelope(e)) for e in events]
    items = [
        (f"4960000000000000000000000000000000000000000000{i:04d}", data) for i, data in enumerate(payloads)
    ]
    return lambda_kinesis_event(items, STREAM_ARN)


def sequence_of(batch: dict[str, Any], position: int) -> str:
    return str(batch["Records"][position]["kinesis"]["sequenceNumber"])


def event_ids_posted(posts: list[Any], api: str | None = None) -> list[str]:
    """The eventIDs in posted payloads (count every post: a repeat shows up twice)."""
    found = []
    for post in posts:
        if api is not None and post.api != api:
            continue
        text = orjson.dumps(post.payload).decode()
        found.extend(token for token in _ids(text))
    return found


def _ids(text: str) -> list[str]:
    import re

    return re.findall(r"evt-[0-9a-z-]+", text)
