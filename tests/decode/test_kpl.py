"""KPL aggregates: the hand-written protobuf reader against the real wire format."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from processor.decode import aggregate, deaggregate, decode_payload, is_aggregated
from processor.decode.kpl import MAGIC
from processor.errors import DecodeError
from tests.decode.helpers import cwlogs_payload, dumps, load


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, wire: int, value: bytes) -> bytes:
    key = _varint(number << 3 | wire)
    return key + (_varint(len(value)) + value if wire == 2 else value)


def _wrap(message: bytes) -> bytes:
    """Magic + message + the message's MD5: a valid envelope around any protobuf bytes."""
    return MAGIC + message + hashlib.md5(message).digest()


def test_aggregate_starts_with_the_magic_and_plain_records_do_not() -> None:
    assert is_aggregated(aggregate([b"{}"]))
    assert not is_aggregated(dumps(load("stop_logging.eventbridge")))
    assert not is_aggregated(b"")


def test_round_trip_of_one_record() -> None:
    data = dumps(load("console_login.eventbridge"))

    assert deaggregate(aggregate([data])) == [data]


def test_round_trip_of_many_records_keeps_order() -> None:
    records = [dumps({"n": i, "pad": "x" * (i * 37 % 300)}) for i in range(500)]

    assert deaggregate(aggregate(records, partition_key="123456789012")) == records


def test_aggregate_of_eventbridge_envelopes_decodes_every_detail() -> None:
    envelopes = [load("stop_logging.eventbridge"), load("console_login.eventbridge")]

    payload = decode_payload(aggregate([dumps(e) for e in envelopes]))

    assert payload.events == tuple(e["detail"] for e in envelopes)
    assert payload.sources == ("kpl+eventbridge", "kpl+eventbridge")
    assert payload.errors == ()


def test_aggregate_of_mixed_shapes_keeps_good_records_and_reports_the_bad_one() -> None:
    envelope = load("kms_rotation.eventbridge")
    bare = load("assume_role.cloudtrail")
    key = load("create_access_key.cloudtrail")
    user_records = [
        dumps(envelope),
        dumps(bare),
        dumps(load("ec2_state_change.eventbridge")),
        cwlogs_payload([dumps(key).decode()]),
        dumps({"Records": [bare, key]}),
    ]

    payload = decode_payload(aggregate(user_records))

    assert payload.events == (envelope["detail"], bare, key, bare, key)
    assert payload.sources == (
        "kpl+eventbridge",
        "kpl+cloudtrail",
        "kpl+cwlogs",
        "kpl+cloudtrail-file",
        "kpl+cloudtrail-file",
    )
    assert payload.errors == (
        "KPL user record 2: EventBridge event with detail-type 'EC2 Instance State-change Notification' "
        "does not carry a CloudTrail record",
    )


def test_bad_log_event_inside_an_aggregate_names_both_positions() -> None:
    user_records = [dumps(load("assume_role.cloudtrail")), cwlogs_payload(["hello"])]

    payload = decode_payload(aggregate(user_records))

    assert len(payload.events) == 1
    (error,) = payload.errors
    assert error.startswith("KPL user record 1: logEvent 0 (id ")
    assert error.endswith("): not JSON: unexpected character, expected a JSON value at character 0")


def test_empty_user_record_is_an_error_for_that_record_only() -> None:
    payload = decode_payload(aggregate([b"", dumps(load("assume_role.cloudtrail"))]))

    assert len(payload.events) == 1
    assert payload.errors == ("KPL user record 0: payload is empty (0 bytes)",)


def test_corrupt_checksum_is_rejected() -> None:
    data = bytearray(aggregate([dumps(load("assume_role.cloudtrail"))]))
    data[-1] ^= 0xFF

    with pytest.raises(DecodeError, match="^KPL aggregate checksum mismatch"):
        decode_payload(bytes(data))


def test_flipped_bit_in_a_user_record_is_caught_by_the_checksum() -> None:
    data = bytearray(aggregate([dumps(load("assume_role.cloudtrail"))]))
    data[40] ^= 0x01

    with pytest.raises(DecodeError, match="^KPL aggregate checksum mismatch"):
        deaggregate(bytes(data))


def test_aggregate_cut_short_in_transit_fails_the_checksum() -> None:
    data = aggregate([dumps(load("assume_role.cloudtrail"))] * 3)

    with pytest.raises(DecodeError, match="^KPL aggregate checksum mismatch"):
        deaggregate(data[: len(data) // 2])


def test_aggregate_shorter_than_magic_and_checksum_is_truncated() -> None:
    with pytest.raises(
        DecodeError, match=r"^KPL aggregate is truncated: 10 bytes, less than magic and checksum"
    ):
        deaggregate(MAGIC + b"\x00" * 6)


def test_truncated_protobuf_with_a_matching_checksum_is_rejected() -> None:
    message = aggregate([dumps(load("assume_role.cloudtrail"))])[len(MAGIC) : -16]

    with pytest.raises(
        DecodeError, match="^KPL aggregate is truncated: user record of .* bytes runs past the end"
    ):
        deaggregate(_wrap(message[:-5]))


def test_varint_cut_at_the_end_of_the_message_is_truncation() -> None:
    with pytest.raises(DecodeError, match="^KPL aggregate is truncated: a varint runs past the end"):
        deaggregate(_wrap(_field(1, 2, b"pk") + b"\x1a\x80"))


def test_unknown_fields_and_tags_are_skipped() -> None:
    data = dumps(load("assume_role.cloudtrail"))
    tag = _field(1, 2, b"team") + _field(2, 2, b"security")
    user_record = (
        _field(1, 0, _varint(0))
        + _field(2, 0, _varint(0))
        + _field(4, 2, tag)
        + _field(9, 5, b"\x01\x02\x03\x04")
        + _field(3, 2, data)
        + _field(10, 1, b"\x00" * 8)
    )
    message = (
        _field(1, 2, b"pk")
        + _field(2, 2, b"170141183460469231731687303715884105728")
        + _field(7, 0, _varint(300))
        + _field(3, 2, user_record)
        + _field(8, 2, b"future field")
    )

    assert deaggregate(_wrap(message)) == [data]


def test_user_record_without_data_is_malformed() -> None:
    message = _field(1, 2, b"pk") + _field(3, 2, _field(1, 0, _varint(0)))

    with pytest.raises(DecodeError, match="^KPL aggregate is malformed: user record 0 has no data$"):
        deaggregate(_wrap(message))


def test_user_record_without_partition_key_index_is_malformed() -> None:
    message = _field(1, 2, b"pk") + _field(3, 2, _field(3, 2, b"{}"))

    with pytest.raises(DecodeError, match="user record 0 has no partition_key_index$"):
        deaggregate(_wrap(message))


def test_group_wire_type_is_unsupported() -> None:
    with pytest.raises(DecodeError, match="unsupported protobuf wire type 3"):
        deaggregate(_wrap(_field(1, 2, b"pk") + _varint(5 << 3 | 3)))


def test_overlong_varint_is_malformed() -> None:
    with pytest.raises(DecodeError, match="varint longer than 10 bytes"):
        deaggregate(_wrap(b"\x08" + b"\xff" * 11 + b"\x01"))


def test_aggregate_without_user_records_is_an_error() -> None:
    with pytest.raises(DecodeError, match="^KPL aggregate holds no user records$"):
        deaggregate(_wrap(_field(1, 2, b"pk")))


def test_aggregate_nested_in_an_aggregate_is_an_error_for_that_record() -> None:
    inner = aggregate([dumps(load("assume_role.cloudtrail"))])

    payload = decode_payload(aggregate([inner]))

    assert payload.events == ()
    assert payload.errors == (
        "KPL user record 0: KPL aggregate nested inside a KPL aggregate (the KPL never nests them)",
    )


def test_gzip_user_record_that_is_corrupt_fails_alone() -> None:
    good = load("assume_role.cloudtrail")
    broken = gzip.compress(b"{}")[:-6]

    payload = decode_payload(aggregate([broken, dumps(good)]))

    assert payload.events == (good,)
    assert payload.errors[0].startswith("KPL user record 0: gzip data is truncated")
