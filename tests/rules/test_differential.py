"""The engine decides exactly what the reference (flatten + eval, `is True`) decides.

Every fixture, and damaged copies of it (missing, null and odd-typed fields), is run through
both with the same rules in several orders, with the selector's guards on and off.
"""

from __future__ import annotations

import random

import pytest

from processor.rules import build_ruleset, default_rules, events_to_track_rule
from processor.rules.ruleset import RuleSet
from tests.rules.helpers import FUNCTION_NAME, all_fixtures, reference_verdict, summarize, variants

CUSTOM_RULES = [
    'event["requestParameters.a.b"] == "dotted-leaf"',
    'event.get("requestParameters.labels.app.kubernetes.io/name") == "checkout"',
    'event.get("requestParameters.tags.cost.center", "").startswith("cc-")',
    'event.get("resources.1.ARN", "").startswith("arn:aws:s3:::acme")',
    'event["resources.0.type"] == "AWS::S3::Object"',
    '"requestParameters" in event and event["requestParameters"] is None',
    'event.get("requestParameters") == "null"',
    'event["responseElements.architectures.0"] == "arm64"',
    '"responseElements.architectures" in event',
    '"requestParameters.a" in event or "resources" in event',
    'event.get("requestParameters.tagSet.items.1.value", "x") is None',
    'event["userIdentity.sessionContext.attributes.mfaAuthenticated"] == "false"',
    'event.get("errorCode")',
    'event.get("readOnly")',
    'event.get("managementEvent") == True',
    'event["eventName"].lower().startswith("create")',
    'event.get("userIdentitytype") == "AssumedRole"',
    'len(event.get("sourceIPAddress", "")) > 12 and event["awsRegion"] == "eu-west-1"',
    'event.get("requestParameters.scalingConfig.maxSize", 0)'
    ' - event.get("requestParameters.scalingConfig.minSize", 0) >= 9',
    'event.get("requestParameters.subnets.01") is None'
    ' and event.get("requestParameters.subnets.1", "").endswith("88")',
    'event["requestParameters.instancesSet"] == 1',
    'event.get("eventName", "")[:6] == "Update"',
    'event["recipientAccountId"] != event["userIdentity.accountId"]',
    'event.get("requestParameters.key", "").split("/")[-1].endswith(".csv")',
    'any([event.get("errorCode") == "AccessDenied", event.get("eventName") == "StopLogging"])',
    'event["eventName"] in ["CreateUser", "DeleteTrail"] and event["userIdentity.type"] == "Root"',
    'event.get("eventName") == "GetObject" and event["requestParameters.key"].count(".") >= 1',
    'event["userIdentity.arn"].split(":")[4] == "210987654321" if "userIdentity.arn" in event else False',
    '"eventName" in event and event["eventName"] in ["CreateTags", "CreateNodegroup"]',
    'event.get("eventSource") == "ec2.amazonaws.com" and event.get("eventName") in ("RunInstances",)',
    'event["eventSource"] in ["s3.amazonaws.com"] and event["eventName"] != "GetObject"',
    'event.get("eventName", "x") == "ListBuckets"',
    'event["userIdentity"] == "null"',
    'event.get("requestParameters.bucketPolicy.Statement.0.Resource.1", "").endswith("/*")',
]

RULES = [*default_rules(FUNCTION_NAME), *((f"RULES[{n}]", text) for n, text in enumerate(CUSTOM_RULES))]
RULES.append(("EVENTS_TO_TRACK", events_to_track_rule("StopLogging, CreateUser,GetObject")))
IGNORE_RULES = [
    ("IGNORE_RULES[0]", 'event["awsRegion"] == "us-east-1"'),
    (
        "IGNORE_RULES[1]",
        'event.get("sourceIPAddress") == "203.0.113.77" and event["eventName"] == "GetObject"',
    ),
]

RECORDS = [
    (f"{name}#{number}", record)
    for name, fixture in sorted(all_fixtures().items())
    for number, record in enumerate(variants(fixture))
]


def engine(rules: list[tuple[str, str]], ignore_rules: list[tuple[str, str]]) -> RuleSet:
    """A RuleSet holding exactly these rules, under these ids, in this order."""
    built = build_ruleset(
        rules="\x1f".join(text for _, text in rules),
        ignore_rules="\x1f".join(text for _, text in ignore_rules) or None,
        separator="\x1f",
        use_default_rules=False,
        events_to_track=None,
        function_name=FUNCTION_NAME,
    )
    from dataclasses import replace

    from processor.rules.ruleset import CompiledRule

    def renamed(compiled: tuple[CompiledRule, ...], named: list[tuple[str, str]]) -> list[CompiledRule]:
        return [
            CompiledRule(replace(rule.ref, id=rule_id), rule.expression)
            for rule, (rule_id, _) in zip(compiled, named, strict=True)
        ]

    return RuleSet(renamed(built.rules, rules), renamed(built.ignore_rules, ignore_rules))


DEFAULTS_ONLY = [*default_rules(FUNCTION_NAME), RULES[-1]]
ORDERS = {
    "defaults-only": DEFAULTS_ONLY,
    "reference-order": RULES,
    **{f"shuffled-{seed}": random.Random(seed).sample(RULES, len(RULES)) for seed in (1, 2, 3)},
}


@pytest.mark.parametrize("order", sorted(ORDERS))
@pytest.mark.parametrize("with_ignore", [False, True], ids=["no-ignore", "ignore"])
def test_engine_verdicts_equal_the_reference_on_every_record(order: str, with_ignore: bool) -> None:
    rules = ORDERS[order]
    ignore = IGNORE_RULES if with_ignore else []
    guarded = engine(rules, ignore)
    plain = guarded.without_guards()
    mismatches = []
    for label, record in RECORDS:
        expected = reference_verdict(record, rules, ignore)
        for name, rule_set in (("guarded", guarded), ("plain", plain)):
            got = summarize(rule_set.evaluate(record))
            if got != expected:
                mismatches.append((label, name, got, expected))
    assert mismatches == []
    assert len(RECORDS) > 300


def test_the_records_exercise_matches_misses_ignores_and_failures() -> None:
    seen = {"matched": 0, "ignored": 0, "failed": 0, "nothing": 0}
    for _, record in RECORDS:
        for rules in (RULES, DEFAULTS_ONLY):
            ignored, matched, failures = reference_verdict(record, rules, IGNORE_RULES)
            seen["ignored" if ignored else "matched" if matched else "nothing"] += 1
            seen["failed"] += bool(failures)
    assert all(count >= 10 for count in seen.values()), seen


@pytest.mark.parametrize(("rule_id", "text"), RULES, ids=[rule_id for rule_id, _ in RULES])
def test_each_rule_alone_agrees_with_eval_on_every_record(rule_id: str, text: str) -> None:
    rule_set = engine([(rule_id, text)], [])
    for label, record in RECORDS:
        assert summarize(rule_set.evaluate(record)) == reference_verdict(record, [(rule_id, text)]), label


def test_guards_do_not_change_results_on_hand_made_records() -> None:
    rules = [
        ("a", '"eventName" in event and event["eventName"] in ["A", "B"]'),
        ("b", 'event.get("eventSource") == "s" and event["eventName"] == "A"'),
        ("c", 'event["eventSource"] == "s" and event["x"] == 1'),
        ("d", 'event.get("eventName", "A") == "A" and event["x"] == 2'),
    ]
    records = [
        {},
        {"eventName": "A"},
        {"eventName": "B", "x": 1},
        {"eventName": "C", "eventSource": "s", "x": 1},
        {"eventName": None, "x": 2},
        {"eventName": {"nested": "A"}, "x": 2},
        {"eventName": ["A"], "eventSource": "s", "x": 2},
        {"eventName": 1, "eventSource": True, "x": 2},
        {"eventName": "A", "eventSource": "s", "x": 2},
        {"eventSource": "s", "x": 2},
    ]
    guarded = engine(rules, [])
    for record in records:
        assert summarize(guarded.evaluate(record)) == summarize(guarded.without_guards().evaluate(record))
        assert summarize(guarded.evaluate(record)) == reference_verdict(record, rules), record
