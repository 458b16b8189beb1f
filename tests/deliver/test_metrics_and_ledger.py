"""One EMF line per batch with every counter; the DynamoDB ledger treats expired items as absent."""

from __future__ import annotations

import orjson
import pytest

from processor import handler
from processor.deliver.dynamo import BoundedTable, DynamoDbLedger
from processor.deliver.timing import Deadline
from processor.devtools.slack_standin import SlackStandIn
from processor.log import BatchCounts, DeliveryStats, emf_line, metric_values
from tests.deliver.conftest import set_env
from tests.deliver.fakes import FakeClock, LambdaContext, cloudtrail_event, kinesis_batch


@pytest.mark.usefixtures("fresh_container")
def test_one_emf_line_per_batch_with_inputs_rules_deliveries_and_access_denied(
    slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    set_env(
        monkeypatch,
        SLACK_BOT_TOKEN="xoxb-test-token",
        DEFAULT_SLACK_CHANNEL_ID="CSEC",
        SLACK_API_URL=slack.api_url,
        RULES='event["eventName"] == "StopLogging"',
        IGNORE_RULES='event["eventName"] == "DescribeTrails"',
        FUNCTION_NAME="trailalert-test",
        RULE_EVALUATION_ERRORS_TO_SLACK="false",  # no decode notice: the first post is an alert
    )
    handler.reset(timing=clock.timing)
    events = [
        cloudtrail_event("evt-1"),
        cloudtrail_event("evt-2", event_name="DescribeTrails"),
        cloudtrail_event("evt-3", event_name="GetObject", error_code="AccessDenied"),
        cloudtrail_event("evt-4", event_name="RunInstances", error_code="Client.UnauthorizedOperation"),
    ]
    slack.fail_next(429, retry_after=1)
    slack.fail_matching("evt-4", 500)
    handler.handler(kinesis_batch(events, raw=[b"garbage"]), LambdaContext(clock))
    (line,) = [orjson.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "trailalert" and directive["Dimensions"] == [["FunctionName"]]
    assert line["FunctionName"] == "trailalert-test"
    assert {m["Name"] for m in directive["Metrics"]} <= set(line)  # every metric has its value
    assert line["RecordsIn"] == 5 and line["Decoded"] == 4 and line["Undecodable"] == 1
    assert line["Ignored"] == 1 and line["AccessDenied"] == 2
    assert line["Alerts_RULES[0]"] == 1 and line["Alerts"] == 3  # + the two default access rules
    assert line["Delivered_slack_app"] == 2 and line["Failed_slack_app"] == 1
    assert line["RateLimited"] == 1 and line["Retries"] >= 5 and line["StormCollapsed"] == 0


def test_more_than_100_metrics_are_split_into_several_directives() -> None:
    counts = BatchCounts(alerts_per_rule={f"RULES[{i}]": 1 for i in range(150)})
    line = orjson.loads(
        emf_line(metric_values(counts, [], DeliveryStats()), function_name="f", timestamp_ms=1)
    )
    assert [len(d["Metrics"]) for d in line["_aws"]["CloudWatchMetrics"]] == [100, 66]


def test_the_ledger_treats_expired_items_as_absent_and_reads_in_batches(table: str, clock: FakeClock) -> None:
    ledger = DynamoDbLedger(BoundedTable(table, Deadline()), wall=clock.wall, ttl=600)
    keys = [f"evt-{i}|slack_app:C1" for i in range(150)]
    for key in keys[:120]:
        ledger.record(key)
    assert ledger.delivered_among(keys) == set(keys[:120])
    assert ledger.already_delivered(keys[0]) and not ledger.already_delivered(keys[149])
    ledger.record(keys[0])  # recording twice is harmless (conditional write, no error)
    clock.advance(601)
    assert ledger.delivered_among(keys) == set() and not ledger.already_delivered(keys[0])
    ledger.record(keys[0])  # an expired item is overwritten
    assert ledger.delivered_among(keys[:2]) == {keys[0]}
