"""SEVERITY_ROUTING and per-rule destinations add destinations; the account's are always kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processor.app import build_rules
from processor.errors import ConfigError
from processor.models import Destination, DestinationKind, Record, RuleRef
from processor.pipeline import Router, build_alert
from processor.settings import load_settings
from tests.rules_files.helpers import RULE, write

TOPIC = "arn:aws:sns:us-east-1:111122223333:paging"
BASE_ENV = {"SLACK_BOT_TOKEN": "xoxb-test", "DEFAULT_SLACK_CHANNEL_ID": "C0ALERTS"}
ROUTES = [
    {"min_severity": "critical", "slack_channel_id": "C0PAGER", "sns_topic_arn": TOPIC},
    {"min_severity": "high", "slack_channel_id": "C0SECOPS"},
]


def _router(routes: list[dict[str, str]] = ROUTES) -> Router:
    return Router(load_settings({**BASE_ENV, "SEVERITY_ROUTING": json.dumps(routes)}))


def _rule(severity: str, destinations: tuple[Destination, ...] = ()) -> RuleRef:
    return RuleRef("r", "True", "RULES_FILE r.yml:1", severity=severity, destinations=destinations)


def test_critical_goes_to_the_paging_channel_and_topic_as_well() -> None:
    keys = [d.key for d in _router().for_alert("111122223333", _rule("critical"))]
    assert keys == ["slack_app:C0ALERTS", "slack_app:C0PAGER", f"sns:{TOPIC}", "slack_app:C0SECOPS"]


def test_high_matches_only_the_high_route_and_medium_none() -> None:
    router = _router()
    assert [d.key for d in router.for_alert("1", _rule("high"))] == [
        "slack_app:C0ALERTS",
        "slack_app:C0SECOPS",
    ]
    assert [d.key for d in router.for_alert("1", _rule("medium"))] == ["slack_app:C0ALERTS"]


def test_rule_destinations_are_added_once() -> None:
    own = (Destination(DestinationKind.SLACK_APP, "C0ALERTS"), Destination(DestinationKind.SNS, TOPIC))
    keys = [d.key for d in _router().for_alert("1", _rule("critical", own))]
    assert keys.count("slack_app:C0ALERTS") == 1 and keys.count(f"sns:{TOPIC}") == 1


def test_the_alert_carries_the_extra_destinations() -> None:
    alert = build_alert(Record({"eventName": "X"}, "seq"), _rule("critical"), _router())
    assert {d.target for d in alert.destinations} >= {"C0PAGER", TOPIC}
    assert alert.slack is not None and alert.sns is not None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("not json", "not valid JSON"),
        ('{"min_severity": "high"}', "JSON list"),
        ('[{"min_severity": "urgent", "slack_channel_id": "C1"}]', '"min_severity" must be one of'),
        ('[{"min_severity": "high"}]', "slack_channel_id"),
        ('[{"min_severity": "high", "sns_topic_arn": "topic"}]', "is not an SNS topic ARN"),
        ('[{"min_severity": "high", "channel": "C1"}]', "unknown keys"),
    ],
)
def test_bad_severity_routing_names_the_setting(value: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="SEVERITY_ROUTING") as caught:
        load_settings({**BASE_ENV, "SEVERITY_ROUTING": value})
    assert fragment in str(caught.value)


def test_a_slack_route_needs_the_slack_app() -> None:
    env = {
        "DEFAULT_SNS_TOPIC_ARN": TOPIC,
        "SEVERITY_ROUTING": '[{"min_severity": "high", "slack_channel_id": "C1"}]',
    }
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        load_settings(env)


def test_a_rule_routing_to_slack_needs_the_slack_app_at_cold_start(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", RULE + "destinations: {slack_channel_id: C0PAGER}\n")
    settings = load_settings({"DEFAULT_SNS_TOPIC_ARN": TOPIC, "RULES_FILE": str(path)})
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN") as caught:
        build_rules(settings)
    assert "acme.s3-bucket-deleted" in str(caught.value)
    assert build_rules(load_settings({**BASE_ENV, "RULES_FILE": str(path)})).rules
