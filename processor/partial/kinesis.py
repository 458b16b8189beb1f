"""Phase 1 for one Kinesis payload: a plain-JSON EventBridge envelope or bare CloudTrail record.

Everything else (KPL aggregates, CloudWatch Logs gzip, log-file objects, anything malformed or
odd) returns None, and the caller decodes the payload the usual way, so failures and their
messages are exactly what they always were. A payload is taken here only when the full decode
would accept it too: msgspec checks the syntax of every byte and the UTF-8 of the fields it
reads, and the rest is checked here (pure ASCII, or valid UTF-8).
"""

from __future__ import annotations

import base64
from typing import Any, Final

import msgspec

try:
    from pybase64 import b64decode as _fast_b64decode
except ImportError:  # pragma: no cover - pybase64 is a dependency; the standard library still works
    _fast_b64decode = base64.b64decode

from processor.decode.payload import decode_payload
from processor.decode.shapes import CLOUDTRAIL, EVENTBRIDGE, is_cloudtrail_record
from processor.partial.phases import Phases
from processor.partial.records import PartialRecord

__all__ = ["b64decode", "payload_record", "utf8"]

_VIA_CLOUDTRAIL: Final = " via CloudTrail"
_SOURCES: Final = {EVENTBRIDGE: "kinesis:" + EVENTBRIDGE, CLOUDTRAIL: "kinesis:" + CLOUDTRAIL}
_FAILED: Final = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


def b64decode(text: str) -> bytes:
    """`base64.b64decode(text, validate=True)`, SIMD-fast with pybase64 (about 6x on this path).

    A refusal is left to the standard library, so the reason in the log reads as it always did.
    """
    try:
        return _fast_b64decode(text, validate=True)
    except ValueError:
        return base64.b64decode(text, validate=True)


def utf8(data: bytes) -> bool:
    """True when `data` is valid UTF-8 (what orjson requires of every byte, read or not)."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def payload_record(phases: Phases, data: bytes, item_id: str) -> PartialRecord | None:
    """The payload's one record as a PartialRecord, or None to decode it the usual way."""
    if not data.startswith(b"{") or not (data.isascii() or utf8(data)):
        return None
    try:
        shape, record = _record_of(phases, phases.payload.decode(data))
    except _FAILED:
        return None
    if record is None:
        return None
    plan = phases.rules.plan(record)
    if not plan.keys <= phases.first:  # the rules that may match read more: decode those too
        try:
            shape, record = _record_of(phases, phases.second_payload(plan.keys).decode(data))
        except _FAILED:
            return None
        if record is None:
            return None
    return PartialRecord(record, item_id, 0, _SOURCES[shape], plan, _full, data)


def _record_of(phases: Phases, decoded: Any) -> tuple[str, dict[str, Any] | None]:
    """What shapes.collect_json finds in a payload, when it finds a record without complaint."""
    detail_type = getattr(decoded, phases.detail_type)
    if detail_type is not None and detail_type is not msgspec.UNSET:
        if not (isinstance(detail_type, str) and detail_type.endswith(_VIA_CLOUDTRAIL)):
            return EVENTBRIDGE, None
        detail = phases.to_view(getattr(decoded, phases.detail))
        return EVENTBRIDGE, detail if is_cloudtrail_record(detail) else None
    view = phases.to_view(decoded)
    return CLOUDTRAIL, view if is_cloudtrail_record(view) else None


def _full(data: bytes) -> dict[str, Any]:
    return decode_payload(data).events[0]
