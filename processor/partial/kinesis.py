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

from processor.decode.kinesis import COUNTED, FastBatch
from processor.decode.payload import decode_payload
from processor.decode.shapes import CLOUDTRAIL, EVENTBRIDGE, is_cloudtrail_record
from processor.deliver.metrics import is_access_denied_code
from processor.partial.phases import Phases
from processor.partial.records import PartialRecord
from processor.partial.schema import attribute_name
from processor.partial.skip import IGNORED, Skipper

__all__ = ["b64decode", "payload_batch", "payload_record", "utf8"]

_VIA_CLOUDTRAIL: Final = " via CloudTrail"
_SOURCES: Final = {EVENTBRIDGE: "kinesis:" + EVENTBRIDGE, CLOUDTRAIL: "kinesis:" + CLOUDTRAIL}
_FAILED: Final = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)
_UNSET: Final = msgspec.UNSET
_ERROR_CODE: Final = attribute_name("errorCode")  # a pipeline key: every phase-1 view holds it


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


def payload_batch(phases: Phases, skipper: Skipper, payloads: list[tuple[bytes, str]]) -> FastBatch:
    """Phase 1 for a whole batch: records no rule can match are counted, not made into records.

    Each payload is decoded into a partial view on its own (they are separate bytes); the views
    that are CloudTrail records then go through the Skipper together, as a log file's run does,
    so most records cost one msgspec decode and a few dict lookups. The others become
    PartialRecords as `payload_record` makes them, or are left to the usual decode (None).
    """
    results: list[Any] = [None] * len(payloads)
    at: list[int] = []
    structs: list[Any] = []
    shapes: list[str] = []
    decode = phases.payload.decode
    for position, (data, _) in enumerate(payloads):
        if not data.startswith(b"{") or not (data.isascii() or utf8(data)):
            continue
        try:
            found = _payload_shape(phases, decode(data))
        except _FAILED:
            continue
        if found is None or not isinstance(found[1], msgspec.Struct):  # not a record: the usual way
            continue
        shape, struct = found
        at.append(position)
        structs.append(struct)
        shapes.append(shape)
    skips = skipper.split(structs) if structs else None
    unmatched = ignored = denied = 0
    for number, position in enumerate(at):
        skip = skips[number] if skips is not None else False
        data, item_id = payloads[position]
        if skip is True or skip is IGNORED:
            results[position] = COUNTED
            if skip is True:
                unmatched += 1
            else:
                ignored += 1
            denied += is_access_denied_code(getattr(structs[number], _ERROR_CODE))
            continue
        view = phases.to_view(structs[number])
        if is_cloudtrail_record(view):
            results[position] = _partial_record(phases, shapes[number], view, data, item_id, skip or None)
    return FastBatch(results, unmatched, denied, ignored)


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
    return _partial_record(phases, shape, record, data, item_id, None)


def _partial_record(
    phases: Phases, shape: str, record: dict[str, Any], data: bytes, item_id: str, plan: Any
) -> PartialRecord | None:
    """A PartialRecord of `record` (a phase-1 view), decoding more of `data` if its rules need it."""
    if plan is None:
        plan = phases.rules.plan(record)
    if not plan.keys <= phases.first:  # the rules that may match read more: decode those too
        try:
            shape, record = _record_of(phases, phases.second_payload(plan.keys).decode(data))
        except _FAILED:
            return None
        if record is None:
            return None
    return PartialRecord(record, item_id, 0, _SOURCES[shape], plan, _full, data)


def _payload_shape(phases: Phases, decoded: Any) -> tuple[str, Any] | None:
    """(shape, the decoded record) as shapes.collect_json reads a payload: a bare record, or an
    EventBridge envelope's detail; None for an EventBridge event that is not from CloudTrail."""
    detail_type = getattr(decoded, phases.detail_type)
    if detail_type is None or detail_type is _UNSET:
        return CLOUDTRAIL, decoded
    if detail_type.__class__ is str and detail_type.endswith(_VIA_CLOUDTRAIL):
        return EVENTBRIDGE, getattr(decoded, phases.detail)
    return None


def _record_of(phases: Phases, decoded: Any) -> tuple[str, dict[str, Any] | None]:
    """What shapes.collect_json finds in a payload, when it finds a record without complaint."""
    found = _payload_shape(phases, decoded)
    if found is None:
        return EVENTBRIDGE, None
    shape, record = found
    view = phases.to_view(record)
    return shape, view if is_cloudtrail_record(view) else None


def _full(data: bytes) -> dict[str, Any]:
    return decode_payload(data).events[0]
