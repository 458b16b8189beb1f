"""Attacker-controlled event text must never ping, link or break out of formatting in Slack."""

from __future__ import annotations

from typing import Any

import pytest

from processor.models import Record, RuleFailure, RuleRef
from processor.render.slack import render_decode_failure, render_rule_failure, render_slack
from tests.render.blocks import all_text, mrkdwn_texts, text_objects, unsafe_spots
from tests.render.events import (
    ACCOUNT,
    DENIED_PUT_BUCKET_POLICY,
    KMS_SERVICE_EVENT,
    ROOT_CONSOLE_LOGIN,
    RULE,
    STOP_LOGGING,
    event,
    record,
)

EVIL = "<!channel> & <https://x|y>"
ESCAPED_EVIL = "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"


def poison(node: Any) -> Any:
    """Replace every string, keys included, with the hostile payload (keys get a suffix to stay unique)."""
    if isinstance(node, dict):
        return {f"{EVIL}{i}": poison(value) for i, value in enumerate(node.values())}
    if isinstance(node, list):
        return [poison(item) for item in node]
    if isinstance(node, str):
        return EVIL
    return node


def poison_values(node: Any) -> Any:
    """Replace every string value but keep keys, so field lookups still find the hostile values."""
    if isinstance(node, dict):
        return {key: poison_values(value) for key, value in node.items()}
    if isinstance(node, list):
        return [poison_values(item) for item in node]
    return EVIL if isinstance(node, str) else node


EVIL_RULE = RuleRef(id=EVIL, expression=EVIL, origin=EVIL, title=EVIL, severity=EVIL)


@pytest.mark.parametrize(
    "template", [STOP_LOGGING, DENIED_PUT_BUCKET_POLICY, KMS_SERVICE_EVENT, ROOT_CONSOLE_LOGIN]
)
def test_every_event_field_is_escaped_in_all_mrkdwn_and_fallback_text(template: dict[str, Any]) -> None:
    hostile = poison_values(template)
    hostile["requestParameters"] = poison({"policy": {"Statement": [{"Sid": "x"}]}, "bucketName": "b"})
    rec = Record(event=hostile, item_id=EVIL, index=1, source=EVIL)

    message = render_slack(rec, EVIL_RULE, EVIL)

    assert unsafe_spots(message) == []
    assert ESCAPED_EVIL in message.text
    text = all_text(message)
    for fragment in ("called", "Account", "Request parameters", "Source:", "Rule expression:"):
        assert fragment in text


def test_hostile_actor_event_name_and_error_reach_the_summary_escaped() -> None:
    hostile = event(
        DENIED_PUT_BUCKET_POLICY,
        userIdentity={"type": "IAMUser", "arn": EVIL},
        eventName=EVIL,
        errorCode=EVIL,
        errorMessage=EVIL,
    )
    message = render_slack(record(hostile), RULE, ACCOUNT)
    summary = message.blocks[1]["text"]["text"]
    assert summary.count(ESCAPED_EVIL) == 4
    assert unsafe_spots(message) == []


def test_backticks_in_values_cannot_close_the_code_block() -> None:
    breakout = "```\n<!here> *bold* ``````` `"
    hostile = event(STOP_LOGGING, requestParameters={"name": breakout}, errorCode="Acc`ess", userAgent="a`b")
    message = render_slack(record(hostile), RULE, ACCOUNT)

    code_section = next(b["text"]["text"] for b in message.blocks if "Request parameters" in str(b))
    assert code_section.count("```") == 2  # only our own opening and closing fences
    summary = message.blocks[1]["text"]["text"]
    assert "Acc`ess" not in summary and "Accˋess" in summary
    assert unsafe_spots(message) == []


def test_bold_event_name_cannot_end_the_bold_early() -> None:
    message = render_slack(record(event(STOP_LOGGING, eventName="Stop*Logging*")), RULE, ACCOUNT)
    assert "*Stop∗Logging∗*" in message.blocks[1]["text"]["text"]


def test_entities_are_never_cut_when_a_value_is_truncated() -> None:
    ampersands = "&" * 50_000
    hostile = event(STOP_LOGGING, requestParameters={"q": ampersands}, userAgent=ampersands, errorCode="E")
    hostile["errorMessage"] = "<" * 10_000
    message = render_slack(record(hostile), RULE, ACCOUNT)
    assert unsafe_spots(message) == []
    assert "(truncated, " in all_text(message)


def test_plain_text_header_is_not_entity_escaped_but_is_short() -> None:
    message = render_slack(record(event(STOP_LOGGING, eventName="<Stop & Go>")), RULE, ACCOUNT)
    header = message.blocks[0]
    assert header["type"] == "header"
    assert header["text"]["type"] == "plain_text"
    assert "<Stop & Go>" in header["text"]["text"]


def test_rule_failure_notice_is_escaped() -> None:
    failure = RuleFailure(rule=EVIL_RULE, error=f"KeyError {EVIL}", event_id=EVIL)
    message = render_rule_failure(failure, count=3, source=EVIL)
    assert unsafe_spots(message) == []
    assert ESCAPED_EVIL in message.text


def test_decode_failure_notice_is_escaped() -> None:
    message = render_decode_failure(EVIL, count=2, sample_item_id=EVIL, source=EVIL)
    assert unsafe_spots(message) == []
    assert len(mrkdwn_texts(message)) >= 2
    assert all(obj["text"] for obj in text_objects(list(message.blocks)))


def test_every_mrkdwn_text_is_verbatim_so_a_bare_at_channel_is_never_parsed_as_a_mention() -> None:
    """Escaping covers `<!channel>`; a bare `@channel`/`@here` is only inert when Slack does not
    auto-parse the text (verbatim), which is also what keeps a bare URL from becoming a link."""
    from processor.deliver.storm import storm_digest, storm_summary
    from processor.deliver.threads import with_reply_count
    from processor.models import Alert

    bare = "@channel @here @everyone https://evil.example #general"
    hostile = event(
        STOP_LOGGING, eventName=bare, userAgent=bare, errorCode=bare, requestParameters={"name": bare}
    )
    rule = RuleRef(id="acme.x", expression="True", origin="RULES_FILE", title=bare)
    alert_message = render_slack(record(hostile), rule, ACCOUNT)
    alert = Alert(record(hostile), rule, ACCOUNT, (), alert_message, None, event_id=hostile["eventID"])
    messages = [
        alert_message,
        render_rule_failure(RuleFailure(rule=rule, error=bare, event_id=bare), count=1, source=bare),
        render_decode_failure(bare, count=1, sample_item_id=bare, source=bare),
        storm_summary([alert] * 11, threaded=True),
        storm_digest([alert] * 11, part=1, parts=1),
        with_reply_count(alert_message, 2),
    ]
    for message in messages:
        mrkdwn = [obj for obj in text_objects(list(message.blocks)) if obj["type"] == "mrkdwn"]
        assert mrkdwn
        assert [obj for obj in mrkdwn if obj.get("verbatim") is not True] == []
