"""Each JSON shape a Kinesis record can carry decodes to the CloudTrail records it holds."""

from __future__ import annotations

import pytest

from processor.decode import DecodedPayload, decode_payload, is_cloudtrail_record
from processor.errors import DecodeError
from tests.decode.helpers import dumps, load

EVENTBRIDGE_FIXTURES = [
    ("console_login.eventbridge", "AWS Console Sign In via CloudTrail", "ConsoleLogin"),
    ("stop_logging.eventbridge", "AWS API Call via CloudTrail", "StopLogging"),
    ("kms_rotation.eventbridge", "AWS Service Event via CloudTrail", "RotateKey"),
    ("console_action.eventbridge", "AWS Console Action via CloudTrail", "DescribeEventAggregates"),
]


@pytest.mark.parametrize(("name", "detail_type", "event_name"), EVENTBRIDGE_FIXTURES)
def test_eventbridge_envelope_yields_its_detail(name: str, detail_type: str, event_name: str) -> None:
    envelope = load(name)
    assert envelope["detail-type"] == detail_type

    payload = decode_payload(dumps(envelope))

    assert payload == DecodedPayload(events=(envelope["detail"],), sources=("eventbridge",))
    assert payload.events[0]["eventName"] == event_name


def test_insight_envelope_is_recognised_by_its_insight_details() -> None:
    envelope = load("api_call_rate.insight.eventbridge")

    payload = decode_payload(dumps(envelope))

    assert payload.events == (envelope["detail"],)
    assert payload.events[0]["insightDetails"]["eventName"] == "RunInstances"


def test_any_other_via_cloudtrail_detail_type_with_a_record_is_accepted() -> None:
    envelope = load("stop_logging.eventbridge") | {"detail-type": "AWS Data Event via CloudTrail"}

    assert decode_payload(dumps(envelope)).events == (envelope["detail"],)


def test_detail_is_kept_as_is_when_eventbridge_omitted_fields() -> None:
    envelope = load("console_login.eventbridge")
    for dropped in ("requestParameters", "tlsDetails", "eventVersion", "additionalEventData"):
        del envelope["detail"][dropped]

    (event,) = decode_payload(dumps(envelope)).events

    assert event == envelope["detail"]
    assert "eventVersion" not in event and "detail-type" not in event


def test_via_cloudtrail_envelope_whose_detail_is_not_a_record_says_what_is_missing() -> None:
    envelope = load("stop_logging.eventbridge")
    del envelope["detail"]["eventSource"]

    with pytest.raises(DecodeError) as caught:
        decode_payload(dumps(envelope))

    assert str(caught.value) == (
        "EventBridge event with detail-type 'AWS API Call via CloudTrail' has a detail that is not "
        "a CloudTrail record: it has no 'eventSource'"
    )


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        (None, "has no 'detail'"),
        ("StopLogging", "has a 'detail' of type string"),
    ],
)
def test_via_cloudtrail_envelope_without_an_object_detail_is_an_error(detail: object, reason: str) -> None:
    envelope = load("stop_logging.eventbridge")
    if detail is None:
        del envelope["detail"]
    else:
        envelope["detail"] = detail

    with pytest.raises(DecodeError, match=reason):
        decode_payload(dumps(envelope))


def test_bare_cloudtrail_record_is_its_own_event() -> None:
    record = load("assume_role.cloudtrail")

    assert decode_payload(dumps(record)) == DecodedPayload(events=(record,), sources=("cloudtrail",))


def test_log_file_object_yields_every_record_in_order() -> None:
    records = [
        load("assume_role.cloudtrail"),
        load("create_access_key.cloudtrail"),
        load("assume_role.cloudtrail"),
    ]

    payload = decode_payload(dumps({"Records": records}))

    assert payload.events == tuple(records)
    assert payload.sources == ("cloudtrail-file",) * 3
    assert payload.errors == ()


def test_empty_log_file_object_yields_nothing_and_is_no_error() -> None:
    assert decode_payload(b'{"Records": []}') == DecodedPayload(events=(), sources=())


def test_log_file_keeps_good_records_and_reports_each_bad_one() -> None:
    good = load("create_access_key.cloudtrail")
    payload = decode_payload(dumps({"Records": [good, {"eventName": "Orphan"}, 42, good]}))

    assert payload.events == (good, good)
    assert payload.errors == (
        "Records[1] is not a CloudTrail record: it has no 'eventSource'",
        "Records[2] is a JSON number, not a CloudTrail record",
    )


def test_log_file_whose_records_is_not_an_array_is_an_error() -> None:
    with pytest.raises(DecodeError, match="'Records' of type object, not an array"):
        decode_payload(b'{"Records": {"eventName": "x"}}')


def test_object_that_almost_is_a_record_names_the_missing_fields() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_payload(b'{"eventVersion": "1.08", "eventTime": "2024-03-14T08:13:25Z"}')

    assert str(caught.value) == (
        "JSON object looks like a CloudTrail record but has no 'eventName' and no 'eventSource'"
    )


def test_object_of_unknown_shape_lists_its_keys() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_payload(b'{"hello": "world", "n": 1}')

    assert str(caught.value) == (
        "JSON object is not an EventBridge event, a CloudTrail record or a CloudTrail log file: it has "
        "no 'detail-type', no 'eventName'/'eventSource' and no 'Records' (keys: ['hello', 'n'])"
    )


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"eventName": "A", "eventSource": "b"}, True),
        ({"eventType": "AwsCloudTrailInsight", "insightDetails": {}}, True),
        ({"eventType": "AwsCloudTrailInsight"}, False),
        ({"eventName": "A"}, False),
        (["eventName", "eventSource"], False),
        ("eventName", False),
    ],
)
def test_is_cloudtrail_record(obj: object, expected: bool) -> None:
    assert is_cloudtrail_record(obj) is expected
