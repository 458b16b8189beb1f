"""Event fields cannot draw lines or formatting of their own in Slack, nor hide or reorder text.

An attacker controls most of a CloudTrail record (errorMessage, awsRegion, eventSource, eventTime,
eventName, userAgent...). Escaping `<>&` stops mentions and links; these tests cover the rest:
newlines that would draw fake `*Account*` lines, `*bold*` / `_italic_` / `~strike~` / backticks,
right-to-left overrides and zero-width characters.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from processor.deliver.storm import storm_digest, storm_summary
from processor.models import Alert, RuleFailure, SlackMessage
from processor.render.slack import render_rule_failure, render_slack
from tests.render.blocks import mrkdwn_texts, text_objects
from tests.render.events import ACCOUNT, DENIED_PUT_BUCKET_POLICY, RULE, event, record

# What a hostile field holds: lines that imitate the card's own, every mrkdwn formatting character,
# a right-to-left override and zero-width characters.
FAKE_LINES = "x\n*Account*\n999988887777\n\n\n*Actor*\nroot\r\n_Rule_ ~struck~ `tick` \u2028*Bold*\u2029"
HIDDEN = "\u202egnp.exe\u200b\u200d\u2066\ufeff"
HOSTILE = FAKE_LINES + HIDDEN
SCALAR_FIELDS = ("errorMessage", "awsRegion", "eventSource", "eventTime", "eventName", "errorCode")
SCALAR_FIELDS += ("userAgent", "sourceIPAddress", "eventID")

_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def outside_code(text: str) -> str:
    """The text Slack formats: code spans and blocks removed (formatting inside them is literal)."""
    return _CODE.sub("", text)


def hostile_event(value: str) -> dict[str, Any]:
    fields = {name: value for name in SCALAR_FIELDS}
    return event(DENIED_PUT_BUCKET_POLICY, userIdentity={"type": "IAMUser", "arn": value}, **fields)


def benign_event() -> dict[str, Any]:
    fields = {name: "benign" for name in SCALAR_FIELDS}
    return event(DENIED_PUT_BUCKET_POLICY, userIdentity={"type": "IAMUser", "arn": "benign"}, **fields)


def all_strings(message: SlackMessage) -> list[str]:
    return [message.text] + [obj["text"] for obj in text_objects(list(message.blocks))]


def test_hostile_fields_add_no_line_to_any_text_of_the_card() -> None:
    benign = render_slack(record(benign_event()), RULE, ACCOUNT)
    hostile = render_slack(record(hostile_event(HOSTILE)), RULE, HOSTILE)
    for ours, theirs in zip(all_strings(benign), all_strings(hostile), strict=True):
        assert theirs.count("\n") == ours.count("\n"), theirs
        assert "\u2028" not in theirs and "\u2029" not in theirs and "\r" not in theirs


def test_hostile_fields_draw_no_bold_italic_strike_or_code_of_their_own() -> None:
    benign = render_slack(record(benign_event()), RULE, ACCOUNT)
    hostile = render_slack(record(hostile_event(HOSTILE)), RULE, HOSTILE)
    for ours, theirs in zip(mrkdwn_texts(benign), mrkdwn_texts(hostile), strict=True):
        formatted = outside_code(theirs)
        for mark in ("*", "_", "~", "`"):
            assert formatted.count(mark) == outside_code(ours).count(mark), (mark, theirs)
        assert theirs.count("`") == ours.count("`"), theirs  # no backtick of theirs opens or closes code


def test_right_to_left_overrides_and_zero_width_characters_are_neutralised_everywhere() -> None:
    hostile = render_slack(record(hostile_event(HOSTILE)), RULE, HOSTILE)
    for text in all_strings(hostile):  # mrkdwn, the plain_text header and the notification text
        for hidden in HIDDEN[:1] + HIDDEN[8:]:
            assert hidden not in text, (hidden, text)


def test_a_thousand_newlines_in_an_error_message_become_one_space() -> None:
    hostile = event(DENIED_PUT_BUCKET_POLICY, errorMessage="denied" + "\n" * 1300 + "because")
    summary = render_slack(record(hostile), RULE, ACCOUNT).blocks[1]["text"]["text"]
    assert summary.endswith(": denied because")


def test_a_backtick_in_the_bold_event_name_cannot_open_a_code_span() -> None:
    summary = render_slack(record(event(DENIED_PUT_BUCKET_POLICY, eventName="Put`Bucket`")), RULE, ACCOUNT)
    bold = re.search(r"called (\*[^*]*\*)", summary.blocks[1]["text"]["text"])
    assert bold and "`" not in bold.group(1)


def test_underscores_inside_names_are_kept_for_copy_and_paste() -> None:
    """Slack formats `_x_` only at word boundaries, so an SSO role name keeps its underscores."""
    role = "User: arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0a1b/bob is not authorized"
    summary = render_slack(record(event(DENIED_PUT_BUCKET_POLICY, errorMessage=role)), RULE, ACCOUNT)
    assert summary.blocks[1]["text"]["text"].endswith(role)


@pytest.mark.parametrize("build", ["summary", "digest", "rule failure"])
def test_storm_messages_and_notices_are_as_inert(build: str) -> None:
    hostile = hostile_event(HOSTILE)
    alert = Alert(record(hostile), RULE, HOSTILE, (), None, None, event_id=hostile["eventID"])
    if build == "summary":
        message = storm_summary([alert] * 11, threaded=True)
    elif build == "digest":
        message = storm_digest([alert] * 3, part=1, parts=1)
    else:
        message = render_rule_failure(RuleFailure(RULE, HOSTILE, HOSTILE), count=2, source=HOSTILE)
    for text in mrkdwn_texts(message):
        formatted = outside_code(text)
        assert "*Account*" not in formatted and "_Rule_" not in formatted and "~struck~" not in formatted
        assert "\n\n" not in text and "\u202e" not in text and "\u200d" not in text
