"""A DynamoDB table that hangs, refuses, drops answers or fails: alerts still go out, within the deadline.

The table holds the delivery ledger and the thread store. The README promises that an unreadable
ledger means send anyway (counted as LedgerErrors) and a thread store that cannot answer means
post without threading; these tests hold the handler to it and to the Lambda's deadline: no
DynamoDB call whose timeouts do not fit the time left, none at all below the reserve.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from processor import handler
from processor.deliver.timing import FINISH_SECONDS, MIN_CALL_SECONDS
from processor.devtools.slack_standin import SlackStandIn
from tests.deliver.fakes import FakeClock, LambdaContext, cloudtrail_event, event_ids_posted, kinesis_batch
from tests.faults.conftest import DynamoCalls, ScriptedHttp, Tarpit, dead_url, emf, slack_app_env

TABLE = "trailalert-delivery"


class WallContext:
    """A Lambda context whose remaining time runs with the real clock: a hanging endpoint uses it up."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)

    def remaining_seconds(self) -> float:
        return self.deadline - time.monotonic()


def _slack_app_with_table(monkeypatch: pytest.MonkeyPatch, slack: SlackStandIn, table_url: str) -> None:
    slack_app_env(monkeypatch, slack.api_url, DYNAMODB_TABLE_NAME=TABLE)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", table_url)


def _events(count: int) -> list[dict[str, Any]]:
    return [cloudtrail_event(f"evt-{i}", principal=f"user{i}") for i in range(count)]


def test_a_table_that_never_answers_costs_one_short_timeout_and_every_alert_is_posted(
    slack: SlackStandIn,
    tarpit: Tarpit,
    dynamodb_calls: DynamoCalls,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _slack_app_with_table(monkeypatch, slack, tarpit.url)
    container(timing=FakeClock().timing)  # pacing waits on a fake clock; the table's hang is real
    context = WallContext(12.0)
    dynamodb_calls.remaining = context.remaining_seconds

    assert handler.handler(kinesis_batch(_events(3)), context) == {"batchItemFailures": []}

    assert sorted(event_ids_posted(slack.posts)) == ["evt-0", "evt-1", "evt-2"]  # unthreaded, all
    assert tarpit.requests == 1  # the ledger read waited out its timeout; nothing waited again
    assert all(call.timeout <= call.remaining - FINISH_SECONDS for call in dynamodb_calls.calls)
    assert emf(capsys.readouterr().out)["LedgerErrors"] >= 1


def test_no_table_call_is_started_without_the_time_it_needs(
    slack: SlackStandIn,
    aws: str,
    dynamodb_calls: DynamoCalls,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _slack_app_with_table(monkeypatch, slack, aws)
    clock = FakeClock()
    container(timing=clock.timing)
    context = LambdaContext(clock, timeout=MIN_CALL_SECONDS + FINISH_SECONDS - 0.1)
    batch = kinesis_batch(_events(2))
    response = handler.handler(batch, context)
    assert dynamodb_calls.calls == [] and slack.posts == []
    assert len(response["batchItemFailures"]) == 2  # no time to send: retried by Lambda, not lost


def test_every_table_call_fits_the_time_left_as_it_shrinks(
    slack: SlackStandIn,
    aws: str,
    table: str,
    dynamodb_calls: DynamoCalls,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each table call takes a second here (on the fake clock): later calls get shorter timeouts,
    and none is started once less than the smallest allowance is left."""
    _slack_app_with_table(monkeypatch, slack, aws)
    clock = FakeClock()
    container(timing=clock.timing)
    context = LambdaContext(clock, timeout=14.0)
    dynamodb_calls.remaining, dynamodb_calls.clock, dynamodb_calls.cost = (
        context.remaining_seconds,
        clock,
        1.0,
    )
    batch = kinesis_batch(_events(4))

    response = handler.handler(batch, context)

    calls = dynamodb_calls.calls
    assert len(calls) >= 4 and len({call.timeout for call in calls}) >= 2  # the allowance shrank
    assert all(call.timeout <= call.remaining - FINISH_SECONDS for call in calls)
    posted = event_ids_posted(slack.posts)
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    for index, event_id in enumerate(f"evt-{i}" for i in range(4)):  # delivered, or handed back
        assert (event_id in posted) != (batch["Records"][index]["kinesis"]["sequenceNumber"] in failed)


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param(lambda: dead_url(), id="refused"),
        pytest.param(lambda: ScriptedHttp(200, {"Item": {}}, cut=True), id="cut-mid-answer"),
        pytest.param(
            lambda: ScriptedHttp(500, {"__type": "com.amazon.coral.service#InternalFailure"}), id="5xx"
        ),
        pytest.param(
            lambda: ScriptedHttp(
                400,
                {
                    "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                    "message": "Throughput exceeds",
                },
            ),
            id="throttled",
        ),
    ],
)
def test_a_failing_table_means_send_anyway_and_post_unthreaded(
    endpoint: Callable[[], Any],
    slack: SlackStandIn,
    container: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = endpoint()
    try:
        _slack_app_with_table(monkeypatch, slack, server if isinstance(server, str) else server.url)
        clock = FakeClock()
        container(timing=clock.timing)
        assert handler.handler(kinesis_batch(_events(3)), LambdaContext(clock)) == {"batchItemFailures": []}
    finally:
        if not isinstance(server, str):
            server.close()
    assert sorted(event_ids_posted(slack.posts)) == ["evt-0", "evt-1", "evt-2"]
    assert not any(post.payload.get("thread_ts") for post in slack.posts)
    assert emf(capsys.readouterr().out)["LedgerErrors"] >= 1
