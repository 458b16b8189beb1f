"""Rule and decode errors inform Slack at most once per rule (or once for decoding) per interval."""

from __future__ import annotations

import orjson
import pytest

from processor import handler
from processor.devtools.slack_standin import SlackStandIn
from tests.deliver.conftest import set_env
from tests.deliver.fakes import FakeClock, LambdaContext, cloudtrail_event, kinesis_batch

pytestmark = pytest.mark.usefixtures("fresh_container")
BROKEN = 'event["eventName"] == "Boom" and event["nosuch"] == "x"'
RULES = f'event["eventName"] == "StopLogging"|{BROKEN}'


def _env(monkeypatch: pytest.MonkeyPatch, slack: SlackStandIn, clock: FakeClock, **extra: str) -> None:
    set_env(
        monkeypatch,
        SLACK_BOT_TOKEN="xoxb-test-token",
        DEFAULT_SLACK_CHANNEL_ID="CSEC",
        SLACK_API_URL=slack.api_url,
        RULES=RULES,
        RULES_SEPARATOR="|",
        USE_DEFAULT_RULES="false",
        **extra,
    )
    handler.reset(timing=clock.timing)


def _notices(slack: SlackStandIn, word: str) -> list[str]:
    return [p.payload["text"] for p in slack.posts if word in p.payload["text"]]


def _booms(start: int, count: int) -> list[dict]:
    return [cloudtrail_event(f"evt-{i}", event_name="Boom") for i in range(start, start + count)]


def test_a_failing_rule_is_reported_once_per_interval_with_a_count_and_a_sample(
    slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, slack, clock)
    assert handler.handler(kinesis_batch(_booms(0, 5)), LambdaContext(clock)) == {"batchItemFailures": []}
    (first,) = _notices(slack, "RULES[1]")
    assert "5 events" in first and "evt-0" in first and "KeyError" in first

    clock.advance(600)  # same interval: counted, not posted
    handler.handler(kinesis_batch(_booms(5, 7)), LambdaContext(clock))
    assert len(_notices(slack, "RULES[1]")) == 1

    clock.advance(3000)  # the interval (one hour) is over: one notice for what accumulated
    handler.handler(kinesis_batch(_booms(12, 1)), LambdaContext(clock))
    second = _notices(slack, "RULES[1]")[1]
    assert "8 events" in second and "evt-12" in second


@pytest.mark.parametrize("off", ["false", "0"])
def test_rule_errors_to_slack_can_be_switched_off(
    off: str,
    slack: SlackStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    _env(monkeypatch, slack, clock, RULE_EVALUATION_ERRORS_TO_SLACK=off)
    handler.handler(kinesis_batch(_booms(0, 3) + [cloudtrail_event("evt-ok")]), LambdaContext(clock))
    assert not _notices(slack, "RULES[1]")
    assert len(slack.posts) == 1  # the real alert still goes out
    assert "rule evaluation failed" in capsys.readouterr().out  # and the errors are still logged


def test_undecodable_records_are_counted_and_reported_the_same_way(
    slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _env(monkeypatch, slack, clock)
    batch = kinesis_batch([cloudtrail_event("evt-ok")], raw=[b"\xff not json", b"{broken"])
    assert handler.handler(batch, LambdaContext(clock)) == {"batchItemFailures": []}
    (notice,) = _notices(slack, "decode")
    assert "2 records" in notice and batch["Records"][0]["kinesis"]["sequenceNumber"] in notice
    handler.handler(kinesis_batch([], raw=[b"nope"]), LambdaContext(clock))
    assert len(_notices(slack, "decode")) == 1  # rate limited like rule errors
    metrics = [orjson.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m["Undecodable"] for m in metrics] == [2, 1]
