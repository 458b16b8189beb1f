"""Slack app threads on moto's DynamoDB: first writer wins, replies counted, expiry starts afresh."""

from __future__ import annotations

import threading

import boto3
import orjson
import pytest

from processor import handler
from processor.app import App
from processor.deliver.threads import PARENT_POLL_SECONDS
from processor.deliver.timing import Timing
from processor.devtools.slack_standin import SlackStandIn
from processor.settings import load_settings
from tests.deliver.conftest import set_env
from tests.deliver.fakes import FakeClock, LambdaContext, cloudtrail_event, kinesis_batch

pytestmark = pytest.mark.usefixtures("fresh_container")


def _env(slack: SlackStandIn, table: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "DEFAULT_SLACK_CHANNEL_ID": "CSEC",
        "SLACK_API_URL": slack.api_url,
        "RULES": 'event["eventName"] == "StopLogging",event["eventName"] == "DeleteTrail"',
        "USE_DEFAULT_RULES": "false",
        "DYNAMODB_TABLE_NAME": table,
        "DYNAMODB_TIME_TO_LIVE": "900",
    }


def _parents(slack: SlackStandIn) -> list:
    return [p for p in slack.posts if p.api == "chat.postMessage" and not p.payload.get("thread_ts")]


def _replies(slack: SlackStandIn) -> list:
    return [p for p in slack.posts if p.api == "chat.postMessage" and p.payload.get("thread_ts")]


def _updates(slack: SlackStandIn) -> list:
    return [p for p in slack.posts if p.api == "chat.update"]


def _start(monkeypatch: pytest.MonkeyPatch, slack: SlackStandIn, table: str, clock: FakeClock) -> None:
    set_env(monkeypatch, **_env(slack, table))
    handler.reset(timing=clock.timing)


def test_similar_events_go_into_the_first_messages_thread(
    slack: SlackStandIn, table: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _start(monkeypatch, slack, table, clock)
    events = [cloudtrail_event(f"evt-{i}") for i in range(3)]  # same principal, same eventName
    assert handler.handler(kinesis_batch(events), LambdaContext(clock)) == {"batchItemFailures": []}
    (parent,) = _parents(slack)
    assert [r.payload["thread_ts"] for r in _replies(slack)] == [parent.ts, parent.ts]
    (update,) = _updates(slack)  # one edit per batch, not one per reply
    assert update.payload["ts"] == parent.ts
    assert "*2* more similar events in thread" in orjson.dumps(update.payload["blocks"]).decode()
    assert update.payload["text"].endswith("(2 more in thread)")
    assert update.payload["blocks"][0] == parent.payload["blocks"][0]  # the parent stays as it was

    # A later batch within the TTL joins the same thread and the count goes on.
    clock.advance(60)
    handler.handler(kinesis_batch([cloudtrail_event("evt-9")]), LambdaContext(clock))
    assert len(_parents(slack)) == 1
    assert _updates(slack)[-1].payload["text"].endswith("(3 more in thread)")


def test_different_actor_event_or_outcome_opens_its_own_thread(
    slack: SlackStandIn, table: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _start(monkeypatch, slack, table, clock)
    events = [
        cloudtrail_event("evt-a"),
        cloudtrail_event("evt-b", principal="bob"),
        cloudtrail_event("evt-c", event_name="DeleteTrail"),
        cloudtrail_event("evt-d", error_code="AccessDenied"),  # a denied try is not a success
    ]
    handler.handler(kinesis_batch(events), LambdaContext(clock))
    assert len(_parents(slack)) == 4 and not _replies(slack)


def test_expired_thread_items_start_a_new_thread(
    slack: SlackStandIn, table: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _start(monkeypatch, slack, table, clock)
    handler.handler(kinesis_batch([cloudtrail_event("evt-1")]), LambdaContext(clock))
    clock.advance(901)  # past DYNAMODB_TIME_TO_LIVE; DynamoDB has not deleted the item yet
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    assert any(i["pk"]["S"].startswith("thread#") for i in items)
    handler.handler(kinesis_batch([cloudtrail_event("evt-2")]), LambdaContext(clock))
    assert len(_parents(slack)) == 2 and not _replies(slack)
    clock.advance(10)
    handler.handler(kinesis_batch([cloudtrail_event("evt-3")]), LambdaContext(clock))
    assert _replies(slack)[0].payload["thread_ts"] == _parents(slack)[1].ts  # the new thread


def test_a_parent_that_could_not_be_posted_releases_its_claim(
    slack: SlackStandIn, table: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _start(monkeypatch, slack, table, clock)
    batch = kinesis_batch([cloudtrail_event("evt-1")])
    slack.fail_matching("evt-1", 500)
    assert handler.handler(batch, LambdaContext(clock))["batchItemFailures"]
    slack.clear_faults()
    polls_before = clock.sleeps.count(PARENT_POLL_SECONDS)
    assert handler.handler(batch, LambdaContext(clock)) == {"batchItemFailures": []}
    assert len(_parents(slack)) == 1
    assert clock.sleeps.count(PARENT_POLL_SECONDS) == polls_before  # no wait for a parent never coming


def test_two_containers_racing_on_one_thread_key_produce_one_parent(
    slack: SlackStandIn, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two Apps (two warm containers), same table, similar events at the same moment."""
    set_env(monkeypatch, **_env(slack, table))
    settings = load_settings()
    timing = Timing()  # real time: the loser really waits (briefly) for the winner's parent
    apps = [App.from_settings(settings, timing=timing, emit_metrics=lambda line: None) for _ in range(2)]
    slack.hang_next(0.3, path="/api/chat.postMessage")  # the first parent post is slow: a true race
    barrier = threading.Barrier(2)
    responses: list[dict] = []

    def run(app: App, event_id: str) -> None:
        batch = kinesis_batch([cloudtrail_event(event_id)])
        barrier.wait()
        responses.append(app.process_kinesis(batch, lambda: 60.0))

    threads = [threading.Thread(target=run, args=(app, f"evt-{n}")) for n, app in enumerate(apps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert responses == [{"batchItemFailures": []}] * 2
    (parent,) = _parents(slack)
    (reply,) = _replies(slack)
    assert reply.payload["thread_ts"] == parent.ts


def test_an_unreachable_table_posts_the_alerts_unthreaded_instead_of_failing_them(
    aws: str, slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger already sends anyway when the table cannot be read; threads must not then fail
    every Slack alert of the batch (they would all retry until they aged out)."""
    _start(monkeypatch, slack, "table-that-is-not-there", clock)
    events = [cloudtrail_event(f"evt-{i}") for i in range(2)]
    assert handler.handler(kinesis_batch(events), LambdaContext(clock)) == {"batchItemFailures": []}
    assert len(_parents(slack)) == 2 and not _replies(slack)
