"""Notices about failing rules and undecodable input: short, specific, safe."""

from __future__ import annotations

from processor.models import RuleFailure, RuleRef
from processor.render.slack import render_decode_failure, render_rule_failure
from tests.render.blocks import all_text

RULE = RuleRef(id="RULES[1]", expression='event["foo"] == "bar"', origin="RULES")


def test_rule_failure_says_which_rule_how_often_why_and_a_sample() -> None:
    failure = RuleFailure(rule=RULE, error="KeyError 'foo'", event_id="c0ffee00-1234-4abc-9def-0123456789ab")
    message = render_rule_failure(failure, count=12, source="kinesis:trail-stream")
    assert message.text == (
        "Rule RULES[1] failed on 12 events in the last interval: KeyError 'foo'; "
        "sample eventID c0ffee00-1234-4abc-9def-0123456789ab"
    )
    text = all_text(message)
    assert "failed on *12* events" in text
    assert 'Expression: `event["foo"] == "bar"`' in text
    assert "`kinesis:trail-stream`" in text
    assert len(message.blocks) == 2


def test_rule_failure_on_one_event_is_singular() -> None:
    message = render_rule_failure(RuleFailure(rule=RULE, error="E", event_id="id"), count=1, source="s")
    assert "failed on 1 event in" in message.text


def test_rule_failure_with_huge_error_stays_short() -> None:
    failure = RuleFailure(rule=RULE, error="TypeError " + "x" * 50_000, event_id="id")
    message = render_rule_failure(failure, count=3, source="s")
    assert len(message.text) <= 300
    assert all(len(t) <= 3000 for t in all_text(message).split("\n\n"))
    assert "… (truncated, " in message.text


def test_decode_failure_says_how_many_why_and_a_sample_item() -> None:
    message = render_decode_failure(
        "not gzip: bad magic number", count=4, sample_item_id="s3://logs/AWSLogs/x.json.gz", source="s3"
    )
    assert message.text == (
        "Could not decode 4 records in the last interval: not gzip: bad magic number; "
        "sample item s3://logs/AWSLogs/x.json.gz"
    )
    assert "`s3://logs/AWSLogs/x.json.gz`" in all_text(message)
