"""An alert storm (several hundred matches for one channel) against a Slack that enforces its limit."""

from __future__ import annotations

import re
from collections.abc import Iterator

import orjson
import pytest

from processor import handler
from processor.deliver.storm import DIGEST_SIZE, STORM_THRESHOLD
from tests.deliver.conftest import set_env
from tests.deliver.fakes import FakeClock, LambdaContext, RateLimitingSlack, cloudtrail_event, kinesis_batch

pytestmark = pytest.mark.usefixtures("fresh_container")
STORM = 300


@pytest.fixture
def limited_slack(clock: FakeClock) -> Iterator[RateLimitingSlack]:
    with RateLimitingSlack(clock) as slack:
        yield slack


def _storm_events(count: int) -> list[dict]:
    # A terraform apply: one role, many different calls, all matching.
    return [cloudtrail_event(f"evt-{i:04d}", event_name=f"Delete{i % 7}Thing") for i in range(count)]


def _env(slack: RateLimitingSlack, **extra: str) -> dict[str, str]:
    return {"RULES": 'event["eventName"].startswith("Delete")', "USE_DEFAULT_RULES": "false", **extra}


def _slack_app(slack: RateLimitingSlack) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "DEFAULT_SLACK_CHANNEL_ID": "CSEC",
        "SLACK_API_URL": slack.api_url,
    }


def test_a_storm_becomes_a_summary_and_a_threaded_digest_without_429s(
    limited_slack: RateLimitingSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, **_env(limited_slack, **_slack_app(limited_slack)))
    handler.reset(timing=clock.timing)
    response = handler.handler(kinesis_batch(_storm_events(STORM)), LambdaContext(clock, timeout=60))

    assert response == {"batchItemFailures": []}
    posts = limited_slack.posts_to("CSEC")
    summary, digests = posts[0], posts[1:]
    assert len(posts) == 1 + STORM // DIGEST_SIZE == 13  # instead of 300
    assert limited_slack.refused == 0  # paced below Slack's limit: no 429 at all, let alone a spiral
    assert "Alert storm" in summary.payload["text"] and not summary.payload.get("thread_ts")
    assert all(d.payload["thread_ts"] == summary.ts for d in digests)  # the channel shows one message
    listed = [e for d in digests for e in _ids(d.payload)]
    assert sorted(listed) == [f"evt-{i:04d}" for i in range(STORM)]  # every alert, exactly once


def test_a_storm_to_a_webhook_is_a_summary_then_digests(
    limited_slack: RateLimitingSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, **_env(limited_slack, HOOK_URL=limited_slack.webhook_url("T1/B1/storm")))
    handler.reset(timing=clock.timing)
    response = handler.handler(kinesis_batch(_storm_events(60)), LambdaContext(clock, timeout=60))
    assert response == {"batchItemFailures": []}
    assert len(limited_slack.posts) == 1 + 3


def test_a_small_batch_is_not_a_storm(
    limited_slack: RateLimitingSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, **_env(limited_slack, **_slack_app(limited_slack)))
    handler.reset(timing=clock.timing)
    handler.handler(kinesis_batch(_storm_events(STORM_THRESHOLD)), LambdaContext(clock, timeout=60))
    assert len(limited_slack.posts) == STORM_THRESHOLD and limited_slack.refused == 0


def test_a_storm_retried_after_a_partial_failure_lists_only_the_missing_alerts(
    limited_slack: RateLimitingSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, **_env(limited_slack, **_slack_app(limited_slack)))
    handler.reset(timing=clock.timing)
    batch = kinesis_batch(_storm_events(100))
    limited_slack.fail_matching("Storm digest 2/4", 500)
    failed = handler.handler(batch, LambdaContext(clock, timeout=60))["batchItemFailures"]
    assert len(failed) == DIGEST_SIZE  # exactly the records of the digest Slack refused
    limited_slack.clear_faults()
    assert handler.handler(batch, LambdaContext(clock, timeout=60)) == {"batchItemFailures": []}
    listed = [e for p in limited_slack.posts for e in _ids(p.payload)]
    assert sorted(listed) == [f"evt-{i:04d}" for i in range(100)]  # nothing twice, nothing lost


def _ids(payload: dict) -> list[str]:
    import re

    return re.findall(r"evt-\d{4}", orjson.dumps(payload.get("blocks", [])).decode())


def _wide_storm_events(count: int) -> list[dict]:
    """Event names, actors and accounts as wide as a field can be: emoji (two UTF-16 units each)
    and `<` (four units once escaped), five different ones, so the summary's lines are at their longest."""
    wide = "\U0001f525<" * 150
    return [
        cloudtrail_event(
            f"evt-{i:04d}",
            event_name=f"Delete{i % 5}{wide}",
            principal=f"{i % 5}{wide}",
            account=f"{i % 5}{wide}",
        )
        for i in range(count)
    ]


def test_a_storm_summary_fits_a_section_in_utf16_units_and_never_cuts_an_entity() -> None:
    from processor.deliver.storm import storm_summary
    from processor.models import Alert, Record
    from processor.render.fields import slack_len
    from tests.deliver.alerts import RULE
    from tests.render.blocks import unsafe_spots

    events = _wide_storm_events(20)
    alerts = [
        Alert(Record(e, "seq"), RULE, e["recipientAccountId"], (), None, None, event_id=e["eventID"])
        for e in events
    ]
    message = storm_summary(alerts, threaded=True)
    for block in message.blocks:
        assert slack_len(block["text"]["text"]) <= 3000
    assert unsafe_spots(message) == []


def test_a_storm_of_wide_values_is_delivered_by_a_slack_that_enforces_block_limits(
    limited_slack: RateLimitingSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, **_env(limited_slack, **_slack_app(limited_slack)))
    handler.reset(timing=clock.timing)
    response = handler.handler(kinesis_batch(_wide_storm_events(30)), LambdaContext(clock, timeout=60))
    assert response == {"batchItemFailures": []}
    assert len(limited_slack.posts) == 1 + 2
    assert "Alert storm" in limited_slack.posts[0].payload["text"]


@pytest.mark.parametrize("kind", ["slack_app", "webhook"])
def test_storm_messages_whose_blocks_slack_refuses_are_posted_as_text(
    kind: str, limited_slack: RateLimitingSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "slack_app":
        target = _slack_app(limited_slack)
    else:
        target = {"HOOK_URL": limited_slack.webhook_url("T1/B1/storm")}
    set_env(monkeypatch, **_env(limited_slack, **target))
    handler.reset(timing=clock.timing)
    limited_slack.refuse_matching('"type": "section"', "invalid_blocks")  # every message with blocks
    batch = kinesis_batch(_storm_events(60))
    assert handler.handler(batch, LambdaContext(clock, timeout=60)) == {"batchItemFailures": []}
    posts = limited_slack.posts
    assert len(posts) == 1 + 3 and not any(p.payload.get("blocks") for p in posts)
    assert posts[0].payload["text"].startswith(":rotating_light: *Alert storm:* 60 alerts")
    listed = re.findall(r"evt-\d{4}", " ".join(p.payload["text"] for p in posts[1:]))
    assert sorted(listed) == [f"evt-{i:04d}" for i in range(60)]
