"""Recognising CloudTrail records in parsed JSON, and what decoding produces.

Parsing is orjson's, with reasons precise enough to diagnose a producer from a log line; the
shapes are EventBridge envelopes, bare records and log files; a payload's records and failures
are collected in a PayloadBuilder and frozen into a DecodedPayload.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

from processor.errors import DecodeError


@dataclass(frozen=True, slots=True)
class DecodedPayload:
    """The CloudTrail records found in one payload (one Kinesis record's data).

    `sources[i]` names the shape `events[i]` came in ("eventbridge", "cloudtrail",
    "cloudtrail-file", "cwlogs", "kpl+eventbridge", ...), so callers can tell pipelines apart.
    `errors` are failures of sub-items (one log event, one KPL user record) inside a payload
    that was otherwise readable; a wholly unreadable payload raises DecodeError instead.
    `skipped` counts CloudWatch Logs control messages, which carry no records by design.
    """

    events: tuple[dict[str, Any], ...]
    sources: tuple[str, ...]
    skipped: int = 0
    errors: tuple[str, ...] = ()


class PayloadBuilder:
    """Mutable accumulator shared by the shape decoders, frozen once by `build()`."""

    __slots__ = ("events", "sources", "errors", "skipped")

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.sources: list[str] = []
        self.errors: list[str] = []
        self.skipped = 0

    def add(self, event: dict[str, Any], source: str) -> None:
        self.events.append(event)
        self.sources.append(source)

    def fail(self, reason: str) -> None:
        self.errors.append(reason)

    def build(self) -> DecodedPayload:
        return DecodedPayload(tuple(self.events), tuple(self.sources), self.skipped, tuple(self.errors))


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    """An input item (or a part of it) that yielded no record, and why.

    `item_id` is the item's retry key (a Kinesis sequence number); one item may have several
    failures when several of its sub-items (log events, KPL user records) are bad.
    """

    item_id: str
    reason: str


def load_json(data: bytes | str) -> Any:
    """Parse `data` with orjson; on failure raise DecodeError saying what and where.

    orjson reports invalid UTF-8 as "str is not valid UTF-8: surrogates not allowed" and
    gives positions in characters, so the failure path works out the real cause and the
    byte offset. The success path is a bare `orjson.loads`.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(_describe(data, exc)) from None


def _describe(data: bytes | str, exc: orjson.JSONDecodeError) -> str:
    if isinstance(data, str):
        return f"not JSON: {exc.msg} at character {exc.pos}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8: {bad.reason} (byte 0x{data[bad.start]:02x} at byte {bad.start})"
    if not text.strip():
        return f"not JSON: empty document ({len(data)} bytes of whitespace)"
    return f"not JSON: {exc.msg} at byte {len(text[: exc.pos].encode())}"


def json_kind(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages such as "JSON array, expected ..."."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


EVENTBRIDGE = "eventbridge"
CLOUDTRAIL = "cloudtrail"
CLOUDTRAIL_FILE = "cloudtrail-file"

_VIA_CLOUDTRAIL = " via CloudTrail"
_INSIGHT = "AwsCloudTrailInsight"


def is_cloudtrail_record(obj: Any) -> TypeGuard[dict[str, Any]]:
    """True for a CloudTrail record: it names the API (eventName) and the service (eventSource).

    Insights records are the exception: they keep both inside `insightDetails`, so they are
    recognised by eventType. Nothing else is required because EventBridge drops some fields.
    """
    return isinstance(obj, dict) and (
        ("eventName" in obj and "eventSource" in obj)
        or (obj.get("eventType") == _INSIGHT and isinstance(obj.get("insightDetails"), dict))
    )


def single_record(obj: Any) -> tuple[str, dict[str, Any]]:
    """Return (shape, record) for one EventBridge envelope or one bare CloudTrail record.

    This is what a CloudWatch Logs message may hold. Envelopes are tested first: they are the
    common case on the hot path.
    """
    if isinstance(obj, dict):
        detail_type = obj.get("detail-type")
        if detail_type is not None:
            return EVENTBRIDGE, _detail(obj, detail_type)
        if is_cloudtrail_record(obj):
            return CLOUDTRAIL, obj
    raise DecodeError(_unrecognised(obj, with_log_file=False))


def collect_json(obj: Any, out: PayloadBuilder, prefix: str = "", where: str = "") -> None:
    """Add the records of a parsed payload of any JSON shape to `out`, sources prefixed by `prefix`.

    An unrecognisable payload raises DecodeError. A `{"Records": [...]}` log file keeps its good
    elements; each bad one is reported through `out.fail`, its reason prefixed with `where`.
    """
    if isinstance(obj, dict):
        detail_type = obj.get("detail-type")
        if detail_type is not None:
            out.add(_detail(obj, detail_type), prefix + EVENTBRIDGE)
            return
        if is_cloudtrail_record(obj):
            out.add(obj, prefix + CLOUDTRAIL)
            return
        if "Records" in obj:
            _collect_log_file(obj["Records"], out, prefix + CLOUDTRAIL_FILE, where)
            return
    raise DecodeError(_unrecognised(obj, with_log_file=True))


def _collect_log_file(records: Any, out: PayloadBuilder, source: str, where: str) -> None:
    if not isinstance(records, list):
        raise DecodeError(
            f"CloudTrail log file object has 'Records' of type {json_kind(records)}, not an array"
        )
    for i, record in enumerate(records):
        if is_cloudtrail_record(record):
            out.add(record, source)
        elif isinstance(record, dict):
            out.fail(f"{where}Records[{i}] is not a CloudTrail record: it has {_missing(record)}")
        else:
            out.fail(f"{where}Records[{i}] is a JSON {json_kind(record)}, not a CloudTrail record")


def _detail(envelope: dict[str, Any], detail_type: Any) -> dict[str, Any]:
    if not isinstance(detail_type, str):
        raise DecodeError(
            f"EventBridge event has a detail-type of type {json_kind(detail_type)}, not a string"
        )
    if not detail_type.endswith(_VIA_CLOUDTRAIL):
        raise DecodeError(
            f"EventBridge event with detail-type {detail_type!r} does not carry a CloudTrail record"
        )
    detail = envelope.get("detail")
    if is_cloudtrail_record(detail):
        return detail
    if not isinstance(detail, dict):
        what = "no 'detail'" if detail is None else f"a 'detail' of type {json_kind(detail)}"
        raise DecodeError(f"EventBridge event with detail-type {detail_type!r} has {what}")
    raise DecodeError(
        f"EventBridge event with detail-type {detail_type!r} has a detail that is not a CloudTrail "
        f"record: it has {_missing(detail)}"
    )


def _missing(obj: dict[str, Any]) -> str:
    absent = [key for key in ("eventName", "eventSource") if key not in obj]
    return " and ".join(f"no {key!r}" for key in absent)


def _unrecognised(obj: Any, *, with_log_file: bool) -> str:
    expected = (
        "an EventBridge event, a CloudTrail record or a CloudTrail log file"
        if with_log_file
        else "an EventBridge event or a CloudTrail record"
    )
    if not isinstance(obj, dict):
        return f"JSON {json_kind(obj)} is not {expected} (expected an object)"
    if "eventName" in obj or "eventSource" in obj or "eventVersion" in obj:
        return f"JSON object looks like a CloudTrail record but has {_missing(obj)}"
    lacks = "no 'detail-type', no 'eventName'/'eventSource'" + (" and no 'Records'" if with_log_file else "")
    return f"JSON object is not {expected}: it has {lacks} (keys: {reprlib.repr(list(obj))})"
