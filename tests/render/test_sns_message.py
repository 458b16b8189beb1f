"""The SNS message keeps the reference module's keys and wording, adds ours, and fits in SNS."""

from __future__ import annotations

import orjson
import pytest

from processor.models import Record
from processor.render.sns import OUR_KEYS, REFERENCE_KEYS, SIZE_LIMIT, format_event_time, render_sns
from tests.render.events import (
    ACCOUNT,
    DENIED_PUT_BUCKET_POLICY,
    KMS_SERVICE_EVENT,
    RULE,
    STOP_LOGGING,
    event,
    record,
)

REFERENCE = {
    "title",
    "error_message",
    "request_parameters",
    "response_elements",
    "additional_details",
    "account_id",
    "event_time",
    "event_id",
    "actor",
    "source_file",
}
OURS = {
    "rule_id",
    "rule_severity",
    "event_name",
    "event_source",
    "aws_region",
    "source_ip",
    "user_agent",
    "error_code",
}


def test_keys_are_the_reference_set_plus_ours() -> None:
    message = render_sns(record(event(STOP_LOGGING)), RULE, ACCOUNT)
    assert set(message) == REFERENCE | OURS
    assert set(REFERENCE_KEYS) == REFERENCE and set(OUR_KEYS) == OURS


def test_successful_call_message() -> None:
    message = render_sns(record(event(STOP_LOGGING), item_id="s3://logs/a.json.gz"), RULE, ACCOUNT)
    assert message == {
        "title": "arn:aws:iam::111122223333:user/alice called StopLogging",
        "error_message": None,
        "request_parameters": {"name": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"},
        "response_elements": None,
        "additional_details": None,
        "account_id": "111122223333",
        "event_time": "2024-03-05 09:41:27+00:00",
        "event_id": "c0ffee00-1234-4abc-9def-0123456789ab",
        "actor": "arn:aws:iam::111122223333:user/alice",
        "source_file": "s3://logs/a.json.gz",
        "rule_id": "default.cloudtrail-stop-logging",
        "rule_severity": "high",
        "event_name": "StopLogging",
        "event_source": "cloudtrail.amazonaws.com",
        "aws_region": "eu-west-1",
        "source_ip": "203.0.113.7",
        "user_agent": STOP_LOGGING["userAgent"],
        "error_code": None,
    }


def test_failed_call_title_says_failed_due_to_error_code() -> None:
    message = render_sns(record(event(DENIED_PUT_BUCKET_POLICY)), RULE, ACCOUNT)
    assert message["title"] == (
        "arn:aws:sts::111122223333:assumed-role/deploy/ci-session called PutBucketPolicy "
        "but failed due to AccessDenied"
    )
    assert message["error_code"] == "AccessDenied"
    assert message["error_message"].endswith("is not authorized")


def test_actor_without_arn_is_the_whole_user_identity_as_in_the_reference() -> None:
    message = render_sns(record(event(KMS_SERVICE_EVENT)), RULE, ACCOUNT)
    assert message["actor"] == {"type": "AWSService", "invokedBy": "kms.amazonaws.com"}
    assert message["title"] == "kms.amazonaws.com called DeleteKey"


def test_no_escaping_in_sns() -> None:
    hostile = event(STOP_LOGGING, userAgent="<!channel> & co")
    assert render_sns(record(hostile), RULE, ACCOUNT)["user_agent"] == "<!channel> & co"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-07-03T16:14:51Z", "2019-07-03 16:14:51+00:00"),
        ("2024-03-05T09:41:27.123Z", "2024-03-05 09:41:27.123000+00:00"),
        ("2024-03-05T11:41:27+02:00", "2024-03-05 11:41:27+02:00"),
        ("yesterday", "yesterday"),
        (None, "N/A"),
    ],
)
def test_event_time_is_printed_like_the_reference(raw: str | None, expected: str) -> None:
    assert format_event_time(raw) == expected


@pytest.mark.parametrize("account", ["", None])
def test_empty_account_is_na(account: str | None) -> None:
    assert render_sns(record(event(STOP_LOGGING)), RULE, account)["account_id"] == "N/A"  # type: ignore[arg-type]


def test_missing_event_id_and_user_identity_do_not_crash() -> None:
    message = render_sns(Record(event={"eventName": "StopLogging"}, item_id="seq"), RULE, ACCOUNT)
    assert message["event_id"] == "N/A"
    assert message["actor"] is None
    assert message["title"] == "unknown called StopLogging"
    assert message["event_time"] == "N/A"


def test_oversized_message_truncates_the_largest_document_with_a_marker() -> None:
    statements = [{"Sid": f"S{i}", "Resource": f"arn:aws:s3:::bucket-{i}/*"} for i in range(12_000)]
    big = event(DENIED_PUT_BUCKET_POLICY, requestParameters={"policy": {"Statement": statements}})
    big["responseElements"] = {"note": "y" * 50_000}
    assert len(orjson.dumps(big)) > 300 * 1024

    message = render_sns(record(big), RULE, ACCOUNT)

    assert len(orjson.dumps(message)) <= SIZE_LIMIT
    assert isinstance(message["request_parameters"], str)
    assert message["request_parameters"].startswith('{"policy":{"Statement":[{"Resource":')
    assert "… (truncated, " in message["request_parameters"]
    assert message["response_elements"] == {"note": "y" * 50_000}  # the smaller one is kept whole
    assert message["additional_details"] == big["additionalEventData"]


def test_escape_heavy_documents_still_fit() -> None:
    quotes = '"\\' * 200_000  # each character doubles when embedded as a JSON string
    hostile = event(STOP_LOGGING, requestParameters={"q": quotes}, responseElements={"r": quotes})
    hostile["additionalEventData"] = {"a": quotes}
    hostile["errorMessage"] = "m" * 300_000
    message = render_sns(record(hostile), RULE, ACCOUNT)
    assert len(orjson.dumps(message)) <= SIZE_LIMIT


def test_values_orjson_rejects_become_json_text() -> None:
    message = render_sns(record(event(STOP_LOGGING, requestParameters={"n": 2**70})), RULE, ACCOUNT)
    assert message["request_parameters"] == '{"n": 1180591620717411303424}'
    orjson.dumps(message)
