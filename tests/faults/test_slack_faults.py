"""Slack that hangs, refuses, rate-limits, fails, or loses its answer after posting: the delivery promise
holds through `processor.handler.handler`.

The promise (docs/delivery.md): every alert is delivered or its record is returned in
`batchItemFailures`; nothing is posted twice outside the documented window; no Slack call is
started with less time left than one send timeout plus the ledger write after it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from processor import handler
from processor.app import send_reserve
from tests.deliver.fakes import FakeClock, LambdaContext, cloudtrail_event, event_ids_posted, kinesis_batch
from tests.faults.conftest import RULES, WatchedSlack, dead_url, emf, set_env, slack_app_env

SEND_TIMEOUT = 0.3  # seconds: hangs meet the client's timeout quickly


def _events(count: int, *, principal: str | None = None) -> list[dict[str, Any]]:
    return [cloudtrail_event(f"evt-{i}", principal=principal or f"user{i}") for i in range(count)]


def _run(
    slack: WatchedSlack, clock: FakeClock, container: Callable[..., None], batch: dict, timeout: float = 60.0
) -> dict:
    container(timing=clock.timing, send_timeout=SEND_TIMEOUT)
    context = LambdaContext(clock, timeout=timeout)
    slack.remaining = context.remaining_seconds
    return handler.handler(batch, context)


def assert_delivery_promise(
    batch: dict,
    response: dict,
    slack: WatchedSlack,
    *,
    repeats_allowed: int = 0,
    api: str = "chat.postMessage",
) -> None:
    """Every alert posted or its record handed back (not both); at most `repeats_allowed` posted twice;
    every request to Slack started with at least the send reserve left."""
    posted = Counter(event_ids_posted(slack.posts, api=api))
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    for record in batch["Records"]:
        event_id = f"evt-{int(record['kinesis']['sequenceNumber'][-4:])}"
        assert (posted[event_id] > 0) != (record["kinesis"]["sequenceNumber"] in failed), event_id
    assert sum(count - 1 for count in posted.values() if count > 1) <= repeats_allowed, posted
    assert all(left >= send_reserve(SEND_TIMEOUT) for _, left in slack.arrivals), slack.arrivals


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(lambda s: s.lose_answer_next(), id="connection-closed-after-posting"),
        pytest.param(lambda s: s.cut_answer_next(), id="answer-cut-mid-body"),
        pytest.param(lambda s: s.lose_answer_next(after=SEND_TIMEOUT * 3), id="answer-after-the-timeout"),
    ],
)
def test_a_post_whose_answer_was_lost_is_found_in_the_channel_not_posted_again(
    fault: Callable[[WatchedSlack], None],
    watched_slack: WatchedSlack,
    clock: FakeClock,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack_app_env(monkeypatch, watched_slack.api_url)
    fault(watched_slack)  # Slack posts the first alert; the client never hears so
    batch = kinesis_batch(_events(3))
    response = _run(watched_slack, clock, container, batch)
    assert response == {"batchItemFailures": []}
    assert_delivery_promise(batch, response, watched_slack)
    assert "/api/conversations.history" in [path.split("?")[0] for path, _ in watched_slack.arrivals]
    metrics = emf(capsys.readouterr().out)
    assert metrics["OutcomeUnknown"] == 1 and metrics["FoundPosted"] == 1


def test_a_thread_reply_whose_answer_was_lost_is_found_in_its_thread(
    watched_slack: WatchedSlack,
    clock: FakeClock,
    table: str,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack_app_env(monkeypatch, watched_slack.api_url, DYNAMODB_TABLE_NAME=table)
    first = kinesis_batch(_events(1, principal="alice"))
    assert _run(watched_slack, clock, container, first) == {"batchItemFailures": []}  # the parent
    watched_slack.lose_answer_next()
    similar = kinesis_batch([cloudtrail_event("evt-1", principal="alice")])
    response = handler.handler(similar, LambdaContext(clock))
    assert response == {"batchItemFailures": []}
    replies = [p for p in watched_slack.posts if p.api == "chat.postMessage" and p.payload.get("thread_ts")]
    assert event_ids_posted(replies) == ["evt-1"]  # once, in the thread
    assert any(path.startswith("/api/conversations.replies") for path, _ in watched_slack.arrivals)


def test_without_history_access_a_lost_answer_means_one_repeat(
    watched_slack: WatchedSlack,
    clock: FakeClock,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The documented window: the app lacks channels:history, so the post is sent again."""
    slack_app_env(monkeypatch, watched_slack.api_url)
    watched_slack.history_allowed = False
    watched_slack.lose_answer_next()
    batch = kinesis_batch(_events(3))
    response = _run(watched_slack, clock, container, batch)
    assert_delivery_promise(batch, response, watched_slack, repeats_allowed=1)
    assert Counter(event_ids_posted(watched_slack.posts))["evt-0"] == 2
    metrics = emf(capsys.readouterr().out)
    assert metrics["OutcomeUnknown"] == 1 and metrics["FoundPosted"] == 0


def test_a_webhook_cannot_look_so_a_lost_answer_means_one_repeat(
    watched_slack: WatchedSlack,
    clock: FakeClock,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The documented window: an incoming webhook has no history to read."""
    set_env(
        monkeypatch, HOOK_URL=watched_slack.webhook_url("T1/B1/x"), RULES=RULES, USE_DEFAULT_RULES="false"
    )
    watched_slack.lose_answer_next(path="/services/")
    batch = kinesis_batch(_events(3))
    response = _run(watched_slack, clock, container, batch)
    assert response == {"batchItemFailures": []}
    assert_delivery_promise(batch, response, watched_slack, repeats_allowed=1, api="webhook")


@pytest.mark.parametrize(
    ("fault", "timeout"),
    [
        pytest.param(
            lambda s: s.hang_next(SEND_TIMEOUT * 3, times=2, serve=False), 60.0, id="hangs-unserved"
        ),
        pytest.param(lambda s: s.fail_next(429, retry_after=3, times=2), 60.0, id="429-retry-after"),
        pytest.param(lambda s: s.fail_next(429, retry_after=30), 20.0, id="429-longer-than-time-left"),
        pytest.param(lambda s: s.fail_next(503, times=3), 60.0, id="5xx"),
        pytest.param(lambda s: s.fail_matching("evt-1", 500), 60.0, id="5xx-always-for-one-alert"),
        pytest.param(lambda s: s.fail_next(503, times=100), 8.0, id="5xx-until-the-deadline"),
    ],
)
def test_slack_faults_keep_the_delivery_promise(
    fault: Callable[[WatchedSlack], None],
    timeout: float,
    watched_slack: WatchedSlack,
    clock: FakeClock,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack_app_env(monkeypatch, watched_slack.api_url)
    fault(watched_slack)
    batch = kinesis_batch(_events(4))
    response = _run(watched_slack, clock, container, batch, timeout=timeout)
    assert_delivery_promise(batch, response, watched_slack)


def test_slack_refusing_connections_hands_every_record_back(
    watched_slack: WatchedSlack,
    clock: FakeClock,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack_app_env(monkeypatch, dead_url() + "/api/")
    batch = kinesis_batch(_events(3))
    response = _run(watched_slack, clock, container, batch)
    assert len(response["batchItemFailures"]) == 3
    assert_delivery_promise(batch, response, watched_slack)
