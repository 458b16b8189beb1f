"""The Lambda Kinesis event: item ids, indexes, sources and counts across a mixed batch."""

from __future__ import annotations

import pytest

from processor.decode import DecodeFailure, KinesisBatch, aggregate, decode_kinesis_event
from processor.errors import DecodeError
from processor.models import Record
from tests.decode.helpers import (
    cwlogs_control_payload,
    cwlogs_payload,
    dumps,
    kinesis_event,
    load,
    sequence_number,
)


def test_mixed_batch_keeps_input_order_item_ids_indexes_and_sources() -> None:
    login = load("console_login.eventbridge")
    stop = load("stop_logging.eventbridge")
    role = load("assume_role.cloudtrail")
    key = load("create_access_key.cloudtrail")
    event = kinesis_event(
        dumps(login),
        dumps(role),
        aggregate([dumps(stop), dumps(login), dumps(role)]),
        cwlogs_payload([dumps(role).decode(), dumps(key).decode()]),
        cwlogs_control_payload(),
        dumps({"Records": [key, role]}),
    )

    batch = decode_kinesis_event(event)

    s = sequence_number
    assert batch == KinesisBatch(
        records=(
            Record(login["detail"], s(0), 0, "kinesis:eventbridge"),
            Record(role, s(1), 0, "kinesis:cloudtrail"),
            Record(stop["detail"], s(2), 0, "kinesis:kpl+eventbridge"),
            Record(login["detail"], s(2), 1, "kinesis:kpl+eventbridge"),
            Record(role, s(2), 2, "kinesis:kpl+cloudtrail"),
            Record(role, s(3), 0, "kinesis:cwlogs"),
            Record(key, s(3), 1, "kinesis:cwlogs"),
            Record(key, s(5), 0, "kinesis:cloudtrail-file"),
            Record(role, s(5), 1, "kinesis:cloudtrail-file"),
        ),
        failures=(),
        skipped=1,
        sequence_numbers=tuple(s(i) for i in range(6)),
    )


def test_sub_item_errors_become_failures_of_their_item_and_indexes_count_decoded_records() -> None:
    role = load("assume_role.cloudtrail")
    ec2 = load("ec2_state_change.eventbridge")
    event = kinesis_event(
        aggregate([dumps(ec2), dumps(role), b"{", dumps(role)]),
        cwlogs_payload(["[]", dumps(role).decode()]),
    )

    batch = decode_kinesis_event(event)

    assert [(r.item_id, r.index, r.source) for r in batch.records] == [
        (sequence_number(0), 0, "kinesis:kpl+cloudtrail"),
        (sequence_number(0), 1, "kinesis:kpl+cloudtrail"),
        (sequence_number(1), 0, "kinesis:cwlogs"),
    ]
    assert [f.item_id for f in batch.failures] == [sequence_number(0), sequence_number(0), sequence_number(1)]
    assert batch.failures[0].reason.startswith("KPL user record 0: EventBridge event with detail-type 'EC2")
    assert batch.failures[1].reason == "KPL user record 2: not JSON: unexpected end of data at byte 1"
    assert batch.failures[2].reason.endswith(
        "JSON array is not an EventBridge event or a CloudTrail record (expected an object)"
    )


def test_source_strings_are_shared_between_records() -> None:
    stop = dumps(load("stop_logging.eventbridge"))

    first, second = decode_kinesis_event(kinesis_event(stop, stop)).records

    assert first.source is second.source


def test_empty_event_gives_an_empty_batch() -> None:
    assert decode_kinesis_event({"Records": []}) == KinesisBatch((), (), 0, ())


@pytest.mark.parametrize("event", [{}, {"Records": None}, {"records": []}, []])
def test_event_that_is_not_a_kinesis_event_raises(event: object) -> None:
    with pytest.raises(DecodeError, match="^Lambda event has no 'Records' list: it is not a Kinesis event$"):
        decode_kinesis_event(event)  # type: ignore[arg-type]


def test_decode_failure_is_a_value() -> None:
    assert DecodeFailure("1", "why") == DecodeFailure("1", "why")
    with pytest.raises(AttributeError):
        DecodeFailure("1", "why").reason = "other"  # type: ignore[misc]
