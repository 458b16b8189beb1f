"""Two-phase decoding of Kinesis payloads decides exactly what the full decode decides.

Property tests compare, on generated records written in many spellings, everything a batch
produces: which records alert (with the whole record), which are ignored or unmatched, every
rule failure with its message, and every decode failure with its reason.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench import userrules
from processor.decode.shapes import is_cloudtrail_record
from processor.deliver.metrics import is_access_denied
from processor.devtools.kinesis_events import eventbridge_envelope, lambda_kinesis_event
from processor.partial.kinesis import b64decode, payload_record
from processor.partial.mode import decode_mode, kinesis_decoder
from processor.pipeline import evaluate
from processor.routing import Router
from processor.rules import build_ruleset
from processor.settings import load_settings
from tests.partial.strategies import json_text, records
from tests.rules.helpers import FUNCTION_NAME
from tests.rules.test_differential import CUSTOM_RULES

SEPARATOR = "\x1f"
CONFIGS = {
    "defaults": {},
    "user rules": {"RULES": userrules.rules_setting(), "IGNORE_RULES": userrules.ignore_setting()},
    "odd keys": {"RULES": SEPARATOR.join(CUSTOM_RULES), "IGNORE_RULES": 'event.get("a.b") == "x.y"'},
}
STREAM = "arn:aws:kinesis:us-east-1:111122223333:stream/s"


def _rules(config: dict[str, str]) -> Any:
    return build_ruleset(
        rules=config.get("RULES"),
        ignore_rules=config.get("IGNORE_RULES"),
        separator=SEPARATOR,
        events_to_track="CreateUser,GetObject",
        function_name=FUNCTION_NAME,
    )


ROUTER = Router(load_settings({"HOOK_URL": "https://hooks.slack.com/services/T0/B0/x"}))


def outcome(event: dict[str, Any], config: dict[str, str], *, two_phase: bool) -> dict[str, Any]:
    rules = _rules(config)
    mode = decode_mode(rules, {} if two_phase else {"TRAILALERT_DECODE": "full"})
    assert (mode.phases is not None) == two_phase, mode.reason
    batch = kinesis_decoder(mode)(event)
    result = evaluate(batch.records, rules, ROUTER).with_counted(batch.unmatched, batch.ignored)
    return {
        "alerts": [
            (a.record.item_id, a.record.index, a.record.source, a.rule.id, a.record.event)
            for a in result.alerts
        ],
        "unrouted": [r.event for r in result.unrouted],
        "counts": (result.records, result.ignored, result.unmatched),
        "rule_failures": [(f.rule.id, f.error, f.event_id) for f in result.rule_failures],
        "decode_failures": list(batch.failures),
        "sequence_numbers": batch.sequence_numbers,
        # the metrics: records decoded, and access-denied errors among them
        "decoded": len(batch.records) + batch.unmatched + batch.ignored,
        "access_denied": sum(is_access_denied(r.event) for r in batch.records) + batch.counted_access_denied,
    }


def kinesis_event(payloads: list[bytes]) -> dict[str, Any]:
    return lambda_kinesis_event([(f"4965{n:020d}", data) for n, data in enumerate(payloads)], STREAM)


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    record = draw(records())
    shape = draw(st.sampled_from(["eventbridge", "bare"]))
    return draw(json_text(eventbridge_envelope(record) if shape == "eventbridge" else record))


@pytest.mark.parametrize("config", list(CONFIGS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(payloads(), min_size=1, max_size=4))
def test_two_phase_batches_decide_as_the_full_decode(config: str, batch: list[bytes]) -> None:
    event = kinesis_event(batch)
    assert outcome(event, CONFIGS[config], two_phase=True) == outcome(event, CONFIGS[config], two_phase=False)


ROOT = orjson.dumps(eventbridge_envelope({"eventName": "CreateUser", "eventSource": "iam.amazonaws.com"}))


@pytest.mark.parametrize(
    "payload",
    [
        # the literal a rule compares with, spelled with escapes
        b'{"eventName":"RunInstances","eventSource":"ec2","userIdentity":{"type":"\\u0052oot"}}',
        b'{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","additionalEventData":{"MFAUsed":"N\\u006f"}}',
        b'{"eventName":"StopLogging","eventSource":"cloudtrail\\u002eamazonaws.com"}',
        # keys in odd places: a dotted spelling at the top, a key escaped, a list where a dict is read
        b'{"eventName":"X","eventSource":"y","userIdentity.type":"Root"}',
        b'{"eventName":"X","eventSource":"y","user\\u0049dentity":{"type":"Root"}}',
        b'{"eventName":"X","eventSource":"y","errorCode":null}',
        b'{"eventName":"X","eventSource":"y","errorCode":{"nested":"AccessDenied"}}',
        b'{"eventName":{"a":1},"eventSource":"y"}',
        b'{"eventName":"X","eventSource":"y","userIdentity":[{"type":"Root"}]}',
        b'{"eventName":"X","eventSource":"y","readOnly":false,"awsRegion":"ap-south-1","errorCode":12345678901234567890123}',
        ROOT,
        # a container where a later guard reads a string (found by hypothesis: it must not raise)
        b'{"eventName":"UpdateFunctionCode20150331v2","eventSource":"lambda.amazonaws.com","responseElements":{"functionName":[]}}',
        b'{"eventName":"AssumeRole","eventSource":"sts.amazonaws.com","requestParameters":{"roleArn":{"a":1}}}',
        # a guard on a key through a list index (phase 1 must still decode what guards read)
        b'{"eventName":"X","eventSource":"y","resources":[{},{"ARN":"arn:aws:s3:::acme-x"}]}',
        # envelopes are skimmed for detail-type and detail only: what else their top holds (a
        # record's key, dotted or with a value a record may not hold) must not change a decision
        b'{"detail-type":"AWS API Call via CloudTrail","eventName":12345678901234567890123,'
        b'"detail":{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","userIdentity":{"type":"Root"}}}',
        b'{"detail-type":"AWS API Call via CloudTrail","userIdentity.type":"Root",'
        b'"detail":{"eventName":"X","eventSource":"y","userIdentity":{"type":"IAMUser"}}}',
        b'{"detail-type":null,"eventName":"X","eventSource":"y","userIdentity":{"type":"Root"}}',
        b'{"eventName":"X","eventSource":"y","detail":{"eventName":"StopLogging"},"userIdentity":{"type":"Root"}}',
        b'{"detail-type":"AWS API Call via CloudTrail","detail":"not a record"}',
        # not for phase 1: malformed, or not a record, or another shape
        b'{"eventName":"X","eventSource":"y","junk":"\xff"}',
        b'{"eventName":"X","eventSource":"y","junk":"\\ud800"}',
        b'{"eventName":"X","eventSource":"y"} trailing',
        b'{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"X"}}',
        b'{"detail-type":"Other","detail":{"eventName":"X","eventSource":"y"}}',
        b'{"Records":[{"eventName":"X","eventSource":"y"}]}',
        b"[1]",
        b"",
    ],
)
@pytest.mark.parametrize("config", list(CONFIGS))
def test_odd_payloads_decide_as_the_full_decode(payload: bytes, config: str) -> None:
    event = kinesis_event([payload])
    assert outcome(event, CONFIGS[config], two_phase=True) == outcome(event, CONFIGS[config], two_phase=False)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ABCxyz019+/=-_ \n\u00e9", max_size=24))
@example(text="QUJD")
@example(text="QUJD=")
@example(text="QUI")
@example(text="QU=JD")
def test_fast_base64_accepts_and_refuses_as_the_standard_library(text: str) -> None:
    try:
        expected: bytes | str = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        expected = f"{type(exc).__name__}: {exc}"
    try:
        got: bytes | str = b64decode(text)
    except (binascii.Error, ValueError) as exc:
        got = f"{type(exc).__name__}: {exc}"
    assert got == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_phase_one_only_takes_what_orjson_accepts(data: st.DataObject) -> None:
    """Damaged payloads: whatever phase 1 takes, the full decode takes too."""
    text = bytearray(data.draw(json_text(data.draw(records()))))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        junk = data.draw(
            st.sampled_from([b"", b"\xff", b"\xc3", b"\\u", b'"', b"{", b"]", b",", b"\x00", b"-", b"0"])
        )
        cut = data.draw(st.integers(0, 2))
        text[at : at + cut] = junk
    mode = decode_mode(_rules(CONFIGS["user rules"]), {})
    assert mode.phases is not None
    if payload_record(mode.phases, bytes(text), "x") is not None:
        orjson.loads(bytes(text))


def test_a_number_beyond_a_double_in_an_unread_field_is_the_documented_difference() -> None:
    """orjson refuses 1e400; msgspec skips unread fields without converting their numbers. The
    record is matched on what the rules read; it cannot alert, since alerting decodes it in full."""
    payload = b'{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","unread":1e400}'
    config = CONFIGS["defaults"]
    event = kinesis_event([payload])
    two, full = outcome(event, config, two_phase=True), outcome(event, config, two_phase=False)
    assert two["alerts"] == full["alerts"] == []
    assert full["decode_failures"] and not two["decode_failures"]
    assert two["counts"] == (1, 0, 1)
    matched = kinesis_event([payload.replace(b"CreateUser", b"ConsoleLogin")])
    assert outcome(matched, config, two_phase=True)["alerts"] == []


@pytest.mark.parametrize("config", list(CONFIGS))
def test_phase_one_takes_every_fixture_in_both_shapes(config: str) -> None:
    """The equivalence above is not won by falling back: real records go through phase 1."""
    from tests.partial.strategies import FIXTURES

    mode = decode_mode(_rules(CONFIGS[config]), {})
    assert mode.phases is not None
    for record in FIXTURES:
        if not is_cloudtrail_record(record):
            continue  # not a record at all: the full decode names the problem
        if config == "odd keys" and "labels" in str(record.get("requestParameters")):
            continue  # a member spelled with dots that a rule reads through: the full decode, by design
        for payload in (orjson.dumps(record), orjson.dumps(eventbridge_envelope(record))):
            assert payload_record(mode.phases, payload, "x") is not None, record.get("eventName")


def test_rules_without_guards_decide_as_the_full_decode() -> None:
    """No rule has a guard (a conjunct reading two fields), so nothing can be counted in bulk:
    every record is evaluated, on its partial view, and nothing breaks."""
    options = {
        "rules": 'event["eventName"] + event["eventSource"] == "CreateUseriam.amazonaws.com"',
        "ignore_rules": None,
        "use_default_rules": False,
        "events_to_track": None,
        "function_name": FUNCTION_NAME,
    }
    event = kinesis_event(
        [
            orjson.dumps(
                eventbridge_envelope({"eventName": "CreateUser", "eventSource": "iam.amazonaws.com"})
            ),
            b'{"eventName":"DeleteUser","eventSource":"iam.amazonaws.com"}',
        ]
    )
    found = []
    for environ in ({}, {"TRAILALERT_DECODE": "full"}):
        rules = build_ruleset(**options)
        assert not rules.selector.fields
        batch = kinesis_decoder(decode_mode(rules, environ))(event)
        result = evaluate(batch.records, rules, ROUTER).with_counted(batch.unmatched, batch.ignored)
        found.append(([a.record.event for a in result.alerts], result.records, result.unmatched))
    assert found[0] == found[1] and len(found[0][0]) == 1


def test_records_an_ignore_rule_is_known_to_match_are_counted_as_ignored() -> None:
    """`eventName == "Decrypt" and userIdentity.type == "AWSService"` is all guards: a record
    passing both is ignored without being evaluated, and counted as the full decode counts it
    (ignored, decoded, and access-denied errors among them, for the metrics)."""
    config = CONFIGS["user rules"]
    record = {
        "eventName": "Decrypt",
        "eventSource": "kms.amazonaws.com",
        "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
        "errorCode": "AccessDenied",
    }
    payloads = [orjson.dumps(eventbridge_envelope(record)), orjson.dumps(record)] * 3
    payloads.append(orjson.dumps({**record, "userIdentity": {"type": "IAMUser"}}))  # not ignored
    event = kinesis_event(payloads)
    mode = decode_mode(_rules(config), {})
    batch = kinesis_decoder(mode)(event)
    assert batch.ignored == 6 and batch.counted_access_denied >= 6 and len(batch.records) <= 1
    two = outcome(event, config, two_phase=True)
    assert two == outcome(event, config, two_phase=False)
    assert two["counts"][1] == 6 and two["access_denied"] == 7


def test_payloads_decoded_together_stay_one_value_each() -> None:
    """The usual batch is decoded as JSON lines in one call: a payload holding two values, or a
    newline, or non-ASCII text must not shift which value belongs to which sequence number."""
    record = {"eventVersion": "1.09", "eventName": "CreateUser", "eventSource": "iam.amazonaws.com"}
    plain = orjson.dumps(eventbridge_envelope(record))
    two_values = orjson.dumps(record) + b" " + orjson.dumps({**record, "eventName": "ConsoleLogin"})
    for odd in (
        two_values,
        orjson.dumps(record, option=orjson.OPT_INDENT_2),
        plain.replace(b"1.09", b"1.09\xc3\xa9"),
    ):
        event = kinesis_event([plain, odd, plain])
        for config in CONFIGS.values():
            two = outcome(event, config, two_phase=True)
            assert two == outcome(event, config, two_phase=False)
        assert len(outcome(event, CONFIGS["defaults"], two_phase=True)["decode_failures"]) == (
            odd == two_values
        )
    # Payloads that are no value alone but one together, beside one holding two: as many values
    # as payloads, so only their first and last bytes tell that the lines are not one value each.
    # The records match no rule: taken as values of the wrong payloads, they would be counted.
    quiet = {**record, "eventName": "ListThings", "eventSource": "x.amazonaws.com"}
    opened = b'{"detail-type":"AWS API Call via CloudTrail","detail":' + orjson.dumps(quiet)[:-1] + b',"a":['
    closed = b"{}]}}"
    two_quiet = orjson.dumps(quiet) + b" " + orjson.dumps(quiet)
    for batch in ([opened, closed, two_quiet], [two_quiet, opened + b"{}", b"]}}"]):
        event = kinesis_event(batch)
        for config in CONFIGS.values():
            two = outcome(event, config, two_phase=True)
            assert two == outcome(event, config, two_phase=False)
        assert len(outcome(event, CONFIGS["defaults"], two_phase=True)["decode_failures"]) == 3


def test_a_later_field_the_skim_leaves_out_is_read_from_the_payload_not_kept() -> None:
    """`eventName == "RunInstances" and instancesSet.items.0.maxCount > 20`: the skim never reads
    a key through a list, so a RunInstances record's plan is refined from its own payload (an
    EventBridge envelope or a bare record) decoded for that field alone. Those the later guard
    rules out are counted as unmatched in the batch, not kept and evaluated; the outcome is the
    full decode's."""
    rule = 'event["eventName"] == "RunInstances" and event.get("requestParameters.instancesSet.items.0.maxCount", 0) > 20'
    config = {"RULES": rule}

    def record(count: Any) -> dict[str, Any]:
        return {
            "eventVersion": "1.09",
            "eventName": "RunInstances",
            "eventSource": "ec2.amazonaws.com",
            "requestParameters": {"instancesSet": {"items": [{"maxCount": count}]}},
        }

    counts = [5, 50, 1, 2, "50", [50], 3, 60]  # 50 and 60 alert; "50" raises; [50] is a container
    payloads = [orjson.dumps(eventbridge_envelope(record(count))) for count in counts]
    payloads += [orjson.dumps(record(count)) for count in counts]  # bare records too
    event = kinesis_event(payloads)
    rules = build_ruleset(
        rules=rule, ignore_rules=None, separator=SEPARATOR, events_to_track=None, function_name=FUNCTION_NAME
    )
    batch = kinesis_decoder(decode_mode(rules, {}))(event)
    # Counted: maxCount 5, 1, 2 and 3 in both shapes. Kept: the alerts, the string (the rule
    # raises) and the list (a container is left to the usual evaluation).
    assert batch.unmatched == 8 and len(batch.records) == 8
    two = outcome(event, config, two_phase=True)
    assert two == outcome(event, config, two_phase=False)
    assert len(two["alerts"]) == 4 and len(two["rule_failures"]) == 2
