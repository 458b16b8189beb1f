"""Huge or odd events must still produce a message Slack accepts: limits hold, nothing crashes."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from processor.models import Record, SlackMessage
from processor.render.fields import slack_len
from processor.render.slack import render_slack
from tests.render.blocks import all_text, unsafe_spots
from tests.render.events import ACCOUNT, DENIED_PUT_BUCKET_POLICY, RULE, STOP_LOGGING, event, record


def assert_within_slack_limits(message: SlackMessage) -> None:
    assert 0 < len(message.blocks) <= 50
    assert 0 < slack_len(message.text) <= 300
    for block in message.blocks:
        if block["type"] == "header":
            assert 0 < slack_len(block["text"]["text"]) <= 150
        if block["type"] == "section" and "text" in block:
            assert 0 < slack_len(block["text"]["text"]) <= 3000
        for field in block.get("fields", []):
            assert 0 < slack_len(field["text"]) <= 2000
        assert len(block.get("fields", [])) <= 10
        for element in block.get("elements", []):
            assert 0 < slack_len(element["text"]) <= 3000


def huge_policy(size: int) -> dict[str, Any]:
    """An IAM policy document of at least `size` bytes of JSON, like a big PutBucketPolicy request."""
    statements = [
        {
            "Sid": f"Allow{i}",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{100000000000 + i}:root"},
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::bucket-{i}/*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
        }
        for i in range(size // 200)
    ]
    policy = {"bucketName": "audit-logs", "policy": {"Version": "2012-10-17", "Statement": statements}}
    assert len(orjson.dumps(policy)) >= size
    return policy


def test_200kb_request_parameters_stay_within_limits_and_show_the_marker() -> None:
    params = huge_policy(200_000)
    message = render_slack(record(event(STOP_LOGGING, requestParameters=params)), RULE, ACCOUNT)

    assert_within_slack_limits(message)
    section = next(b["text"]["text"] for b in message.blocks if "Request parameters" in str(b))
    match = re.search(r"… \(truncated, (\d+) more characters\)", section)
    assert match and int(match.group(1)) > 150_000
    assert section.index("```\n_…") > 0  # the marker sits after the closing fence, not inside it


def test_every_field_huge_at_once_stays_within_limits() -> None:
    big = "x" * 100_000
    hostile = event(
        DENIED_PUT_BUCKET_POLICY,
        userIdentity={"type": "IAMUser", "arn": big},
        eventName=big,
        errorCode=big,
        errorMessage=big,
        userAgent=big,
        sourceIPAddress=big,
        awsRegion=big,
        eventSource=big,
        eventID=big,
        eventTime=big,
        requestParameters={"a": big},
        responseElements={"b": big},
        additionalEventData={"c": big},
        serviceEventDetails={"d": big},
    )
    message = render_slack(Record(event=hostile, item_id=big, index=7, source=big), RULE, big)
    assert_within_slack_limits(message)


def test_astral_characters_are_counted_as_two_units() -> None:
    emoji = "\U0001f525" * 5000  # each is two UTF-16 code units
    message = render_slack(record(event(STOP_LOGGING, requestParameters={"e": emoji})), RULE, ACCOUNT)
    assert_within_slack_limits(message)


def test_block_count_stays_small_even_with_all_documents_present() -> None:
    full = event(
        STOP_LOGGING,
        responseElements={"x": 1},
        additionalEventData={"y": 2},
        serviceEventDetails={"z": 3},
    )
    message = render_slack(record(full), RULE, ACCOUNT)
    assert len(message.blocks) <= 50
    assert_within_slack_limits(message)


@pytest.mark.parametrize(
    "odd",
    [
        {},
        {"userIdentity": None, "eventName": None, "requestParameters": "null"},
        {"userIdentity": "root", "eventName": 42, "errorCode": 0, "awsRegion": ["us-east-1"]},
        {"userIdentity": {"arn": {"nested": True}}, "eventTime": 1709631687, "requestParameters": [1, None]},
        {"requestParameters": {"big": 2**80, "nan": float("nan")}, "responseElements": True},
        {"requestParameters": {}, "eventName": "", "errorCode": "", "sourceIPAddress": None},
    ],
)
def test_missing_and_odd_typed_fields_never_crash(odd: dict[str, Any]) -> None:
    message = render_slack(Record(event=odd, item_id=""), RULE, "")
    assert_within_slack_limits(message)
    assert unsafe_spots(message) == []


def test_missing_fields_render_as_a_dash() -> None:
    message = render_slack(Record(event={"eventName": "StopLogging"}, item_id="seq-1"), RULE, "")
    fields = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in message.blocks[2]["fields"]}
    assert fields["*Account*"] == "—"
    assert fields["*Region*"] == "—"
    assert fields["*Source IP*"] == "`—`"
    assert "—" in message.text


def test_the_literal_string_null_is_shown_not_dropped() -> None:
    message = render_slack(record(event(STOP_LOGGING, requestParameters="null")), RULE, ACCOUNT)
    assert '```\n"null"\n```' in all_text(message)


@pytest.mark.parametrize("limit", [2998, 2999, 3000, 3001])
def test_fitting_rendered_text_never_splits_an_entity_or_leaves_code_open(limit: int) -> None:
    from processor.render.slack import code, fit

    rendered = "*Events:* " + ", ".join(code("\U0001f525<&>" * 60, 400) for _ in range(20))
    fitted = fit(rendered, limit)
    assert slack_len(fitted) <= limit and fitted.endswith("…")
    assert re.search(r"&(?!(?:amp|lt|gt);)", fitted) is None  # every `&` starts a whole entity
    assert fitted.count("`") % 2 == 0
