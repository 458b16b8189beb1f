"""Environment rules and file rules run together, in a fixed order, with ids unique across all."""

from __future__ import annotations

from pathlib import Path

from processor.models import Record
from processor.pipeline import Router, build_alert
from processor.render.slack import render_slack
from processor.settings import Settings
from tests.rules_files.helpers import RULE, messages, report, ruleset, write

DELETE_BUCKET = {
    "eventSource": "s3.amazonaws.com",
    "eventName": "DeleteBucket",
    "recipientAccountId": "111122223333",
    "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"},
}


def test_env_rules_then_file_rules_then_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "rules.yml", RULE)
    rules = ruleset(
        rules="event['eventName'] == 'DeleteBucket' and event.get('x') == 1",
        rules_file=str(path),
        use_default_rules=True,
        events_to_track="DeleteBucket",
    )
    ids = [rule.ref.id for rule in rules.rules]
    assert ids[0] == "RULES[0]" and ids[1] == "acme.s3-bucket-deleted"
    assert ids[2].startswith("default.") and ids[-1] == "EVENTS_TO_TRACK"
    assert rules.evaluate(DELETE_BUCKET).matched.id == "acme.s3-bucket-deleted"
    assert rules.evaluate({**DELETE_BUCKET, "x": 1}).matched.id == "RULES[0]"


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", RULE)
    write(tmp_path, "sub/b.yml", "# the same rule, copied\n" + RULE)
    result = report(rules_file=str(tmp_path))
    (problem,) = messages(result)
    assert "duplicate rule id 'acme.s3-bucket-deleted'" in problem
    assert f"{tmp_path}/a.yml:1" in problem and f"{tmp_path}/sub/b.yml:2" in problem


def test_a_file_rule_cannot_reuse_a_default_rule_id(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", RULE.replace("acme.s3-bucket-deleted", "default.access-denied"))
    problems = messages(report(rules_file=str(path), use_default_rules=True))
    assert len(problems) == 1 and "duplicate rule id 'default.access-denied'" in problems[0]
    assert f"{path}:1" in problems[0] and "USE_DEFAULT_RULES" in problems[0]


def test_file_rules_alone_are_enough_to_run(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", RULE)
    assert report(rules_file=str(path)).ok
    assert not report().ok  # nothing at all is still "no rules to apply"


def test_the_rule_id_and_severity_reach_slack_sns_and_the_alert(tmp_path: Path) -> None:
    rules = ruleset(rules_file=str(write(tmp_path, "r.yml", RULE)))
    rule = rules.evaluate(DELETE_BUCKET).matched
    settings = Settings(
        default_sns_topic_arn="arn:aws:sns:us-east-1:111122223333:alerts", hook_url="https://hooks.example/x"
    )
    alert = build_alert(Record(DELETE_BUCKET, "seq-1"), rule, Router(settings))
    assert alert.rule.id == "acme.s3-bucket-deleted"
    assert alert.sns["rule_id"] == "acme.s3-bucket-deleted" and alert.sns["rule_severity"] == "high"
    slack = render_slack(alert.record, rule, "111122223333")
    assert "acme.s3-bucket-deleted" in slack.text and "[high]" in slack.text
    assert "S3 bucket deleted" in str(slack.blocks)


def test_rule_file_metadata_is_kept_on_the_rule(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "r.yml",
        RULE
        + """\
references: [T1485, https://example.com/runbook]
group_by: [userIdentity.arn]
threshold: {count: 3, window_seconds: 60}
destinations: {slack_channel_id: C0PAGER, sns_topic_arn: "arn:aws:sns:us-east-1:111122223333:page"}
""",
    )
    (rule,) = ruleset(rules_file=str(path)).rules
    assert rule.ref.references == ("T1485", "https://example.com/runbook")
    assert rule.ref.group_by == ("userIdentity.arn",)
    assert (rule.ref.threshold.count, rule.ref.threshold.window_seconds) == (3, 60)
    assert [d.key for d in rule.ref.destinations] == [
        "slack_app:C0PAGER",
        "sns:arn:aws:sns:us-east-1:111122223333:page",
    ]
