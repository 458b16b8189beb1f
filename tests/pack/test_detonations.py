"""Every Stratus Red Team technique the pack is written for (43) is detected through both paths users run:

* real time as deployed: the records go through an EventBridge rule carrying the pattern
  `trailalert rules pattern` derives (moto's server, tests/forwarding/eventbridge.py), and what
  arrives is handed to processor.handler as a Kinesis batch, which posts to a local Slack;
* the backfill CLI over a CloudTrail log file holding the same records.

A technique's detonation is the alerting inline tests of the rules that reference it, each repeated
as often as a burst rule needs; ssm-retrieve-securestring-parameters is Stratus Red Team's own
sequence instead (DescribeParameters, then five GetParameters calls for 42 parameters: a count of
calls misses it, a count of parameters does not). Records carry their own eventIDs and
one second between them. Insights events and an attack tool's user agent go through both paths too,
since they reach real time through other parts of the pattern (detail-type AWS Insight via
CloudTrail, a wildcard on userAgent).
"""

from __future__ import annotations

import copy
import gzip
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from processor import handler
from processor.devtools.kinesis_events import encode, eventbridge_envelope, lambda_kinesis_event
from processor.devtools.slack_standin import SlackStandIn
from processor.pattern_cli import derive_forwarding
from processor.rules.files import RuleDefinition, load_rule_files
from processor.rules.ruleset import build_ruleset
from tests.core.test_handler import Context
from tests.deliver.fakes import FakeClock
from tests.forwarding.eventbridge import route
from tests.forwarding.test_pattern_routing import conditions_true
from tests.pack.test_pack_rules import STRATUS_TECHNIQUES

PACK = load_rule_files(None, use_pack=True).rules
# Techniques Stratus Red Team added after the pack's first list (tests/pack/test_pack_rules.py).
NEWER_TECHNIQUES = {
    "aws.defense-evasion.bedrock-guardrail-delete",
    "aws.defense-evasion.bedrock-model-invocation-logging-delete",
    "aws.execution.sagemaker-update-lifecycle-config",
    "aws.impact.ec2-deregister-ami",
    "aws.impact.s3-ransomware-batch-deletion",
    "aws.impact.s3-ransomware-client-side-encryption",
    "aws.impact.s3-ransomware-individual-deletion",
}
TECHNIQUES = STRATUS_TECHNIQUES | NEWER_TECHNIQUES
START = datetime(2024, 8, 1, 12, tzinfo=UTC)
# Reached through other parts of the pattern than event names: an Insights event, an attack tool.
EXTRA = ("pack.discovery.cloudtrail-insight-api-call-rate", "pack.discovery.attack-tool-user-agent")
SETTINGS = {
    "USE_DETECTION_PACK": "true",
    "USE_DEFAULT_RULES": "true",
    "FUNCTION_NAME": "trailalert",
    "SLACK_BOT_TOKEN": "xoxb-test",
    "DEFAULT_SLACK_CHANNEL_ID": "CSEC",
}


def _repeats(rule: RuleDefinition, event: dict[str, Any]) -> int:
    """How many copies of a counted event complete the rule's burst."""
    threshold = rule.ref.threshold
    if threshold is None:
        return 1
    weight = 1
    if threshold.count_values:
        node: Any = event
        for segment in threshold.count_values.split("."):
            node = node.get(segment) if isinstance(node, dict) else None
        weight = len(node) if isinstance(node, list) and node else 1
    return math.ceil(threshold.count / weight)


def detonations() -> dict[str, list[dict[str, Any]]]:
    """Records per technique (and per EXTRA rule id), with unique eventIDs and increasing times."""
    plan: dict[str, list[tuple[RuleDefinition, dict[str, Any]]]] = {}
    for rule in PACK:
        keys = [ref for ref in rule.ref.references if ref in TECHNIQUES]
        keys += [rule.ref.id] if rule.ref.id in EXTRA else []
        for key in keys:
            plan.setdefault(key, []).extend((rule, test.event) for test in rule.tests if test.alert)
    plan[SSM] = stratus_ssm()
    out: dict[str, list[dict[str, Any]]] = {}
    clock = START
    for key, items in sorted(plan.items()):
        records = out[key] = []
        for rule, event in items:
            for _ in range(1 if key == SSM else _repeats(rule, event)):
                record = copy.deepcopy(event)
                record["eventID"] = f"{key}#{len(records)}"
                record["eventTime"] = clock.strftime("%Y-%m-%dT%H:%M:%SZ")
                clock += timedelta(seconds=1)
                records.append(record)
        clock += timedelta(hours=1)  # bursts of one technique never add up with another's
    return out


def stratus_ssm() -> list[tuple[RuleDefinition, dict[str, Any]]]:
    """ssm-retrieve-securestring-parameters as Stratus Red Team runs it: 42 parameters, 10 a call."""
    rule = next(r for r in PACK if r.ref.id == "pack.credential-access.ssm-securestring-parameters-bulk-read")
    call = next(t.event for t in rule.tests if t.alert)
    names = [f"/credentials/stratus-red-team/credentials-{i}" for i in range(42)]
    describe = {
        **copy.deepcopy(call),
        "eventName": "DescribeParameters",
        "requestParameters": {"maxResults": 50},
    }
    calls = [describe]
    for start in range(0, len(names), 10):
        read = copy.deepcopy(call)
        read["requestParameters"]["names"] = names[start : start + 10]
        calls.append(read)
    return [(rule, call) for call in calls]


SSM = "aws.credential-access.ssm-retrieve-securestring-parameters"
DETONATIONS = detonations()


def _detected(alerted: set[str]) -> set[str]:
    """Techniques (and EXTRA ids) with an alert on one of their records."""
    return {event_id.split("#")[0] for event_id in alerted}


def test_every_technique_has_a_detonation() -> None:
    assert set(DETONATIONS) == TECHNIQUES | set(EXTRA)
    calls = [r for r in DETONATIONS[SSM] if r["eventName"] == "GetParameters"]
    assert [len(r["requestParameters"]["names"]) for r in calls] == [10, 10, 10, 10, 2]


def test_real_time_through_the_deployed_pattern_and_the_handler(
    aws: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [record for records in DETONATIONS.values() for record in records]
    options = {
        "rules": None,
        "ignore_rules": None,
        "events_to_track": None,
        "function_name": "trailalert",
        "use_default_rules": True,
        "use_detection_pack": True,
    }
    forwarding = derive_forwarding(options)
    assert forwarding.narrowed
    delivered = route(aws, forwarding.pattern, records, "detonations")
    rules = build_ruleset(**options)
    dropped = [r for r in records if r["eventID"] not in delivered]
    assert [r["eventName"] for r in dropped] == ["DescribeParameters"]  # Stratus's listing: no rule reads it
    assert not any(conditions_true(rules.rules, r) for r in dropped)

    for setting, value in {**SETTINGS, "SLACK_API_URL": slack.api_url}.items():
        monkeypatch.setenv(setting, value)
    handler.reset(timing=FakeClock().timing)
    try:
        arrived = [r for r in records if r["eventID"] in delivered]
        batch = lambda_kinesis_event(
            [(f"seq-{n}", encode(eventbridge_envelope(r))) for n, r in enumerate(arrived)],
            "arn:aws:kinesis:us-east-1:111122223333:stream/trailalert",
        )
        assert handler.handler(batch, Context()) == {"batchItemFailures": []}
    finally:
        handler.reset()
    posted = orjson.dumps([post.payload for post in slack.posts]).decode()
    alerted = {r["eventID"] for r in records if json.dumps(r["eventID"])[1:-1] in posted}
    assert set(DETONATIONS) - _detected(alerted) == set()


def test_an_insights_alert_says_which_api_is_unusual(
    slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Insights record names no caller and no call of its own (they are in insightDetails)."""
    (record,) = [r for r in DETONATIONS[EXTRA[0]] if r["insightDetails"]["state"] == "Start"]
    for setting, value in {**SETTINGS, "SLACK_API_URL": slack.api_url}.items():
        monkeypatch.setenv(setting, value)
    handler.reset(timing=FakeClock().timing)
    try:
        batch = lambda_kinesis_event(
            [("seq-0", encode(eventbridge_envelope(record)))], "arn:aws:kinesis:us-east-1:1:stream/s"
        )
        assert handler.handler(batch, Context()) == {"batchItemFailures": []}
    finally:
        handler.reset()
    (post,) = slack.posts
    assert post.payload["text"].startswith(
        "[medium] CloudTrail Insights called ApiCallRateInsight Start CreateAccessKey"
    )
    assert "*Insight details*" in orjson.dumps(post.payload["blocks"]).decode()


def test_backfill_of_a_log_file(tmp_path: Path, backfill_cli: Callable[..., list[dict[str, Any]]]) -> None:
    records = [record for records in DETONATIONS.values() for record in records]
    log = tmp_path / "111122223333_CloudTrail_us-east-1_20240801T1200Z_detonations.json.gz"
    log.write_bytes(gzip.compress(json.dumps({"Records": records}).encode(), mtime=0))
    alerts = backfill_cli(str(log))
    assert all(alert["rule"].startswith(("pack.", "default.")) for alert in alerts)
    alerted = {alert["eventID"] for alert in alerts}
    assert set(DETONATIONS) - _detected(alerted) == set()
    ssm_rules = {alert["rule"] for alert in alerts if alert["eventID"].startswith(SSM)}
    assert ssm_rules == {"pack.credential-access.ssm-securestring-parameters-bulk-read"}


@pytest.fixture
def backfill_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[dict[str, Any]]]:
    from click.testing import CliRunner

    from processor.cli import main

    for setting, value in SETTINGS.items():
        monkeypatch.setenv(setting, value)

    def run(*args: str) -> list[dict[str, Any]]:
        result = CliRunner().invoke(main, ["backfill", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]

    return run
