"""What the alert says: who did what, whether it failed, the facts, the rule and where it came from."""

from __future__ import annotations

from processor.models import Record, RuleRef
from processor.render.slack import render_slack
from tests.render.blocks import all_text
from tests.render.events import (
    ACCOUNT,
    DENIED_PUT_BUCKET_POLICY,
    KMS_SERVICE_EVENT,
    RULE,
    STOP_LOGGING,
    event,
    record,
)


def fields_of(message_blocks: tuple) -> dict[str, str]:
    fields = next(b["fields"] for b in message_blocks if "fields" in b)
    return dict(f["text"].split("\n", 1) for f in fields)


def test_fallback_text_says_severity_actor_action_account_and_rule() -> None:
    message = render_slack(record(event(STOP_LOGGING)), RULE, ACCOUNT)
    assert message.text == (
        "[high] arn:aws:iam::111122223333:user/alice called StopLogging in 111122223333 "
        "(rule default.cloudtrail-stop-logging)"
    )


def test_summary_names_actor_and_event() -> None:
    message = render_slack(record(event(STOP_LOGGING)), RULE, ACCOUNT)
    assert message.blocks[0]["text"]["text"] == "[high] StopLogging"
    assert message.blocks[1]["text"]["text"] == "`arn:aws:iam::111122223333:user/alice` called *StopLogging*"


def test_failed_call_says_failed_with_error_code_and_message() -> None:
    message = render_slack(record(event(DENIED_PUT_BUCKET_POLICY)), RULE, ACCOUNT)
    summary = message.blocks[1]["text"]["text"]
    assert summary == (
        "`arn:aws:sts::111122223333:assumed-role/deploy/ci-session` called *PutBucketPolicy* but failed with "
        "`AccessDenied`: User: arn:aws:sts::111122223333:assumed-role/deploy/ci-session is not authorized"
    )
    assert message.blocks[0]["text"]["text"] == "[high] PutBucketPolicy failed"
    assert "but failed with AccessDenied in 111122223333" in message.text


def test_call_without_error_code_does_not_mention_failure() -> None:
    message = render_slack(record(event(STOP_LOGGING, errorCode=None, errorMessage="ignored")), RULE, ACCOUNT)
    assert "failed" not in all_text(message)


def test_fields_show_account_region_source_ip_agent_time_id_and_rule() -> None:
    message = render_slack(record(event(STOP_LOGGING)), RULE, "999988887777")
    fields = fields_of(message.blocks)
    assert fields == {
        "*Account*": "999988887777",
        "*Region*": "eu-west-1",
        "*Event source*": "cloudtrail.amazonaws.com",
        "*Source IP*": "`203.0.113.7`",
        "*User agent*": f"`{STOP_LOGGING['userAgent']}`",
        "*Time*": "2024-03-05T09:41:27Z",
        "*Event ID*": "`c0ffee00-1234-4abc-9def-0123456789ab`",
        "*Rule*": "`default.cloudtrail-stop-logging` (high)\nCloudTrail logging stopped",
    }


SEQUENCE = "49590338271490256608559692538361571095921575989136588898"


def test_rule_expression_and_source_are_context_lines() -> None:
    rec = Record(event=event(STOP_LOGGING), item_id=SEQUENCE)
    message = render_slack(rec, RULE, ACCOUNT)
    contexts = [b["elements"][0]["text"] for b in message.blocks if b["type"] == "context"]
    assert contexts[0].startswith('Rule expression: `event["eventSource"] == ')
    assert contexts[-1] == f"Source: `{SEQUENCE}`"


def test_long_rule_expression_is_truncated_with_marker() -> None:
    rule = RuleRef(
        id="r", expression=" or ".join(f'event["eventName"] == "E{i}"' for i in range(200)), origin="RULES"
    )
    message = render_slack(record(event(STOP_LOGGING)), rule, ACCOUNT)
    context = next(b["elements"][0]["text"] for b in message.blocks if b["type"] == "context")
    assert "… (truncated, " in context
    assert len(context) < 600


def test_documents_are_pretty_sorted_json_and_null_ones_are_omitted() -> None:
    message = render_slack(record(event(DENIED_PUT_BUCKET_POLICY)), RULE, ACCOUNT)
    text = all_text(message)
    assert '*Request parameters*\n```\n{\n  "Host": ' in text
    assert '*Additional event data*\n```\n{\n  "AuthenticationMethod": "AuthHeader",' in text
    assert "Response elements" not in text  # it was null


def test_service_event_details_are_shown_when_present() -> None:
    message = render_slack(record(event(KMS_SERVICE_EVENT)), RULE, ACCOUNT)
    text = all_text(message)
    assert '*Service event details*\n```\n{\n  "keyId"' in text
    assert message.blocks[1]["text"]["text"].startswith("`kms.amazonaws.com` called *DeleteKey*")
