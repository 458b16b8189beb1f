"""CloudWatch Logs subscription payloads: gzip JSON whose log events carry CloudTrail records."""

from __future__ import annotations

import gzip

import pytest

from processor.decode import DecodedPayload, decode_payload
from processor.decode import kinesis as kinesis_module
from processor.errors import DecodeError
from tests.decode.helpers import cwlogs_control_payload, cwlogs_payload, dumps, load

TRAIL_RECORDS = ["assume_role.cloudtrail", "create_access_key.cloudtrail"]


def test_data_message_yields_each_log_event_record_in_order() -> None:
    records = [load(name) for name in TRAIL_RECORDS] + [load("stop_logging.eventbridge")["detail"]]

    payload = decode_payload(cwlogs_payload([dumps(r).decode() for r in records]))

    assert payload == DecodedPayload(events=tuple(records), sources=("cwlogs",) * 3)


def test_control_message_is_skipped_not_failed() -> None:
    assert decode_payload(cwlogs_control_payload()) == DecodedPayload(events=(), sources=(), skipped=1)


def test_data_message_without_log_events_is_empty() -> None:
    assert decode_payload(cwlogs_payload([])) == DecodedPayload(events=(), sources=())


def test_one_bad_message_among_good_ones_fails_alone() -> None:
    good = [load(name) for name in TRAIL_RECORDS]
    messages = [
        dumps(good[0]).decode(),
        "2024-03-14T08:13:25Z ERROR something that is not JSON",
        dumps(load("ec2_state_change.eventbridge")["detail"]).decode(),
        dumps(good[1]).decode(),
    ]

    payload = decode_payload(cwlogs_payload(messages))

    assert payload.events == tuple(good)
    assert len(payload.errors) == 2
    first, second = payload.errors
    assert first.startswith("logEvent 1 (id ") and "not JSON: " in first and first.endswith("at character 4")
    assert second.startswith("logEvent 2 (id ")
    assert second.endswith(
        "JSON object is not an EventBridge event or a CloudTrail record: it has no 'detail-type', "
        "no 'eventName'/'eventSource' (keys: ['instance-id', 'state'])"
    )


def test_message_holding_an_eventbridge_envelope_yields_its_detail() -> None:
    """A log group that an EventBridge rule writes to holds envelopes, not bare records."""
    envelope = load("console_login.eventbridge")

    payload = decode_payload(cwlogs_payload([dumps(envelope).decode()]))

    assert payload.events == (envelope["detail"],)
    assert payload.sources == ("cwlogs+eventbridge",)


def test_message_holding_a_log_file_is_not_accepted() -> None:
    message = dumps({"Records": [load("assume_role.cloudtrail")]}).decode()

    payload = decode_payload(cwlogs_payload([message]))

    assert payload.events == ()
    assert "is not an EventBridge event or a CloudTrail record" in payload.errors[0]


def test_log_events_without_a_message_string_fail_alone() -> None:
    body = {
        "messageType": "DATA_MESSAGE",
        "logEvents": [
            {"id": "1", "timestamp": 1},
            "oops",
            {"message": dumps(load("assume_role.cloudtrail")).decode()},
        ],
    }

    payload = decode_payload(gzip.compress(dumps(body)))

    assert len(payload.events) == 1
    assert payload.errors == (
        "logEvent 0 (id 1): has no 'message' string",
        "logEvent 1: is a JSON string, not an object",
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[1, 2]", "gzip payload is not a CloudWatch Logs subscription message: it is a JSON array"),
        (
            b'{"Records": []}',
            "gzip payload is not a CloudWatch Logs subscription message: it is no 'messageType'",
        ),
        (
            b'{"messageType": "DEBUG_MESSAGE"}',
            "CloudWatch Logs subscription message has unknown messageType 'DEBUG_MESSAGE'",
        ),
        (b'{"messageType": "DATA_MESSAGE"}', "CloudWatch Logs DATA_MESSAGE has no 'logEvents' array"),
        (b"\xff\xfe", "not UTF-8: invalid start byte (byte 0xff at byte 0)"),
    ],
)
def test_gzip_payload_that_is_not_a_subscription_message_is_an_error(body: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_payload(gzip.compress(body))

    assert str(caught.value) == reason


def test_gzip_garbage_after_the_magic_is_corrupt() -> None:
    with pytest.raises(DecodeError, match="^gzip data is corrupt: Error -3 while decompressing data"):
        decode_payload(b"\x1f\x8b" + b"\x00garbage garbage garbage")


def test_gzip_with_a_bad_crc_is_corrupt() -> None:
    data = bytearray(cwlogs_control_payload())
    data[-8] ^= 0xFF

    with pytest.raises(DecodeError, match="^gzip data is corrupt: .*incorrect data check"):
        decode_payload(bytes(data))


def test_gzip_cut_short_is_truncated() -> None:
    data = cwlogs_payload([dumps(load("assume_role.cloudtrail")).decode()])

    with pytest.raises(DecodeError, match="^gzip data is truncated"):
        decode_payload(data[: len(data) // 2])


def test_second_gzip_member_is_refused() -> None:
    second = gzip.compress(b"{}")

    with pytest.raises(DecodeError, match=f"^gzip data has {len(second)} unexpected bytes after the stream$"):
        decode_payload(cwlogs_control_payload() + second)


def test_gzip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kinesis_module, "MAX_DECOMPRESSED", 1024)

    with pytest.raises(DecodeError, match="^gzip data expands beyond 1024 bytes$"):
        decode_payload(gzip.compress(b" " * 100_000))
