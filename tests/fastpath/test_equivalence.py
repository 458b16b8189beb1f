"""The fast path's contract: with it, every verdict, count and rule failure is what decoding
every record in full gives, through both sources (log files and Kinesis batches).

Records are generated with the fields rules read in odd places (dotted spellings, lists where
objects are read, numbers where strings are, deep nesting), spelled many ways (\\u escapes,
whitespace) and damaged (cut short, not UTF-8, not objects). The one difference the fast path
keeps is documented and tested apart (test_a_number_beyond_a_double_in_an_unread_field...).
"""

from __future__ import annotations

import functools
import gzip
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import userrules
from processor.decode.kinesis import decode_kinesis_event
from processor.devtools.kinesis_events import eventbridge_envelope, lambda_kinesis_event
from processor.fastpath import FastPath, decode_mode
from processor.logfiles import LogFileError, LogFileReader
from processor.pipeline import Router, evaluate
from processor.rules import build_ruleset
from processor.rules.ruleset import RuleSet
from processor.settings import load_settings
from tests.fastpath.strategies import damaged, json_text, records
from tests.rules.helpers import all_fixtures, variants

SEPARATOR = "\x1f"
ODD_RULES = [
    'event["requestParameters.a.b"] == "dotted-leaf"',
    'event.get("userIdentity.type") == "Root" and event.get("readOnly") is False',
    'event["eventName"] == "RunInstances" and event.get("requestParameters.instancesSet.items.0.maxCount", 0) > 20',
    'event["eventName"] == "GetObject" and event.get("resources.1.ARN", "").startswith("arn:aws:s3:::acme")',
    'event.get("errorCode") == "AccessDenied" and event["userIdentity.accountId"] != "ANONYMOUS_PRINCIPAL"',
    'event.get("awsRegion") not in ["us-east-1", "eu-west-1"] and event["eventSource"].endswith(".amazonaws.com")',
    'event["eventName"] == "x.y" and event.get("requestParameters.items.0.x") == 1',
    'event.get("sourceIPAddress", "").startswith("185.220.") and len(event["userIdentity.arn"]) > 3',
    '"additionalEventData.MFAUsed" in event and event["additionalEventData.MFAUsed"] == "No"',
    'event.get("userIdentity.invokedBy") is None and event.get("eventType") == "AwsApiCall" and event["eventID"]',
]
ODD_IGNORE = [
    'event["eventName"] == "Decrypt" and event.get("userIdentity.type") == "AWSService"',
    'event.get("userIdentity.invokedBy") == "config.amazonaws.com" and event.get("errorCode") == "AccessDenied"',
]
# The constructs of issue 18: quantifiers and subtree reads are never guards (the record is kept
# and decoded in full); re_search/in_cidr on one field are guards like any single-field test.
NEW_RULES = [
    'event["eventName"] == "AssumeRole" and any(v == "0.0.0.0/0" for v in event.values("requestParameters.*.cidrIp"))',
    'event.get("eventSource") == "cloudtrail.amazonaws.com" and all(v.startswith("a") for v in event.values("requestParameters.items.*"))',
    'event.get("errorCode") == "AccessDenied" and "Root" in (event.text("userIdentity") or "")',
    'event["eventName"] == "PutObject" and "*" in json_values(event.get("requestParameters.a"), "Statement.*.Principal.AWS")',
    'event.get("userIdentity.type") == "IAMUser" and re_search(event.get("sourceIPAddress"), "^185[.]220[.]")',
    're_search(event.get("eventName", ""), "^(Stop|Delete)") and event.get("readOnly") is False',
    'in_cidr(event.get("sourceIPAddress"), "185.220.101.0/24") and event.get("errorCode") == "AccessDenied"',
    'event.get("eventName") in ["ConsoleLogin", "GetObject"] and len(str(sorted(event.values("resources.*.ARN")))) > 2',
]
NEW_IGNORE = [
    'event.get("eventName") == "Decrypt" and any(v == "AWSService" for v in event.values("userIdentity.*"))',
]
CONFIGS: dict[str, dict[str, Any]] = {
    "defaults": {"rules": None, "ignore_rules": None},
    "user rules": {"rules": userrules.rules_setting(), "ignore_rules": userrules.ignore_setting()},
    "odd keys": {"rules": SEPARATOR.join(ODD_RULES), "ignore_rules": SEPARATOR.join(ODD_IGNORE)},
    "new constructs": {"rules": SEPARATOR.join(NEW_RULES), "ignore_rules": SEPARATOR.join(NEW_IGNORE)},
}
ROUTER = Router(load_settings({"HOOK_URL": "https://hooks.slack.com/services/T0/B0/x"}))
WINDOW_START, WINDOW_END = "2024-03-11T00:00:00Z", "2024-03-11T12:00:00Z"


@functools.cache
def rule_set(config: str, side: str = "fast") -> RuleSet:
    """One of CONFIGS compiled once per side ("fast" or "full": each side keeps its own selector
    memos, as two containers would). Compiling is most of an example's time; sharing a RuleSet
    between examples is sound because none of these rules counts toward a threshold (the one
    state a RuleSet keeps besides its memos), which `test_the_rule_sets_keep_no_counts` checks."""
    return build_ruleset(
        **CONFIGS[config],
        separator=SEPARATOR,
        use_default_rules=True,
        events_to_track="CreateUser,StopLogging",
        function_name="acme-trailalert",
    )


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_the_rule_sets_keep_no_counts(config: str) -> None:
    rules = rule_set(config)
    assert all(rule.ref.threshold is None for rule in (*rules.ignore_rules, *rules.rules))


def in_window(event: dict[str, Any]) -> bool:
    when = event.get("eventTime")
    return not isinstance(when, str) or WINDOW_START <= when < WINDOW_END


def decisions(evaluation: Any) -> dict[str, Any]:
    return {
        "alerts": [(a.record.index, a.rule.id, a.record.event) for a in evaluation.alerts],
        "rule failures": [(f.rule.id, f.event_id, f.error) for f in evaluation.rule_failures],
    }


def read_log_file(
    data: bytes, chunk: int, fast: FastPath | None, rules: RuleSet, window: bool
) -> dict[str, Any]:
    """What a source and the pipeline make of one log file; counted records added to the counts."""
    reader = LogFileReader("s3://bucket/key", fast=fast, in_window=in_window if window else None)
    kept, error = [], None
    try:
        kept.extend(reader.records([data[i : i + chunk] for i in range(0, len(data), chunk)]))
    except LogFileError as exc:
        error = str(exc)
    inside = [record for record in kept if not window or in_window(record.event)]
    evaluation = evaluate(inside, rules, ROUTER)
    return {
        **decisions(evaluation),
        "error": error,
        "undecodable": [f.reason for f in reader.failures],
        "unmatched": evaluation.unmatched + reader.counted.unmatched,
        "ignored": evaluation.ignored + reader.counted.ignored,
        "outside": len(kept) - len(inside) + reader.counted.outside,
    }


@pytest.mark.parametrize("config", sorted(CONFIGS))
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)
@given(data=st.data())
def test_log_files_decide_as_the_full_decode(config: str, data: st.DataObject) -> None:
    elements = [
        data.draw(damaged(data.draw(json_text(record))))
        for record in data.draw(st.lists(records(), max_size=25))
    ]
    head = data.draw(st.sampled_from([b'{"Records":[', b'{"x": {"Records": 1}, "Records" : [\n']))
    doc = head + data.draw(st.sampled_from([b",", b",\n  "])).join(elements) + b"]}"
    if data.draw(st.booleans()):
        doc = gzip.compress(doc)
    chunk = data.draw(st.sampled_from([7, 100, 4096, 1 << 20]))
    window = data.draw(st.booleans())
    rules = rule_set(config)
    fast, _ = decode_mode(rules)
    assert fast is not None
    full = read_log_file(doc, chunk, None, rule_set(config, "full"), window)
    assert read_log_file(doc, chunk, fast, rules, window) == full


def decode_batch(event: dict[str, Any], fast: FastPath | None, rules: RuleSet) -> dict[str, Any]:
    batch = decode_kinesis_event(event, fast=fast)
    evaluation = evaluate(batch.records, rules, ROUTER)
    return {
        **decisions(evaluation),
        "alert items": [(a.record.item_id, a.record.index) for a in evaluation.alerts],
        "undecodable": [(f.item_id, f.reason) for f in batch.failures],
        "unmatched": evaluation.unmatched + batch.unmatched,
        "ignored": evaluation.ignored + batch.ignored,
        "access denied": sum(
            1
            for r in batch.records
            if str(r.event.get("errorCode")).startswith("AccessDenied")
            or str(r.event.get("errorCode")).endswith("UnauthorizedOperation")
        )
        + batch.counted_access_denied,
    }


@pytest.mark.parametrize("config", sorted(CONFIGS))
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)
@given(data=st.data())
def test_kinesis_batches_decide_as_the_full_decode(config: str, data: st.DataObject) -> None:
    payloads = []
    for record in data.draw(st.lists(records(), min_size=1, max_size=25)):
        shape = data.draw(st.sampled_from(["envelope", "envelope", "bare", "odd envelope"]))
        value: Any = record
        if shape == "envelope":
            value = eventbridge_envelope(record)
        elif shape == "odd envelope":
            value = {
                **eventbridge_envelope(record),
                "detail-type": data.draw(st.sampled_from([None, 5, "Other", "AWS Insight via CloudTrail"])),
            }
        payloads.append(data.draw(damaged(data.draw(json_text(value)))))
    event = lambda_kinesis_event(
        [(str(n), payload) for n, payload in enumerate(payloads)],
        "arn:aws:kinesis:us-east-1:111122223333:stream/s",
    )
    rules = rule_set(config)
    fast, _ = decode_mode(rules)
    full = decode_batch(event, None, rule_set(config, "full"))
    assert decode_batch(event, fast, rules) == full


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_every_fixture_and_its_damaged_copies_decide_as_the_full_decode(config: str) -> None:
    """A fixed complement to the generated cases, which also shows that these rule sets meet
    every outcome: alerts, ignored records, rule failures, undecodable elements, counted records."""
    elements = [orjson.dumps(variant) for fixture in all_fixtures().values() for variant in variants(fixture)]
    elements += [
        b'"not a record"',
        b'{"eventName": "CreateUser"}',
        b'{"eventName": 1e400, "eventSource": "x"}',
        b'{"eventName": "Decrypt", "eventSource": "kms.amazonaws.com", "userIdentity": {"type": "AWSService"}}',
    ]
    doc = b'{"Records": [' + b",".join(elements) + b"]}"
    rules = rule_set(config)
    fast, _ = decode_mode(rules)
    full = read_log_file(doc, 4096, None, rule_set(config, "full"), window=False)
    assert read_log_file(doc, 4096, fast, rules, window=False) == full
    assert full["alerts"] and full["rule failures"] and full["undecodable"] and full["unmatched"]
    assert full["ignored"] or config == "defaults"
