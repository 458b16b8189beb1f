"""What a Kinesis record carries, decoded into CloudTrail records: one failure per unreadable item or
sub-item, with reasons precise enough to diagnose a producer from a log line.

A Kinesis record's payload is a KPL aggregate (unpacked by kpl.py), a gzip CloudWatch Logs
subscription message, or JSON (an EventBridge envelope, a bare record or a log-file object), told
apart by its first bytes. Parsing is orjson's; a payload's records and failures are collected in a
PayloadBuilder and frozen into a DecodedPayload. The JSON shapes (`is_cloudtrail_record`,
`json_kind`, DecodeFailure) are also what the log-file reader uses, through processor.decode.
"""

from __future__ import annotations

import base64
import itertools
import reprlib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

import orjson

from processor.decode.kpl import MAGIC as KPL_MAGIC
from processor.decode.kpl import deaggregate
from processor.errors import DecodeError
from processor.models import Record

try:
    from pybase64 import b64decode as _fast_b64decode
except ImportError:  # pragma: no cover - pybase64 is a dependency; the standard library still works
    _fast_b64decode = base64.b64decode

if TYPE_CHECKING:
    from processor.fastpath import FastPath


# --- What decoding produces, and the JSON shapes ------------------------------------------------


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


# --- CloudWatch Logs subscription payloads: gzip-compressed JSON wrapping CloudTrail records -----

CWLOGS = "cwlogs"
GZIP_MAGIC = b"\x1f\x8b"

# A subscription payload is at most 1 MiB compressed and its messages come from PutLogEvents
# batches of at most 1 MiB, so real payloads expand to a few MiB. The cap stops a hostile or
# broken producer from exhausting the Lambda's memory with a gzip bomb. It holds for a whole
# Kinesis record: every gzip member inside it (a KPL aggregate may hold many) counts.
MAX_DECOMPRESSED = 16 * 1024 * 1024


def is_gzip(data: bytes) -> bool:
    return data[:2] == GZIP_MAGIC


class InflateBudget:
    """What the gzip members of one Kinesis record may still inflate to, in all."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_DECOMPRESSED if limit is None else limit
        self.left = self.limit


def gunzip(data: bytes, budget: InflateBudget | None = None) -> bytes:
    """Decompress one gzip member, refusing corrupt, truncated or oversized data; with `budget`,
    what it inflates to is taken from what the record's members may inflate to in all."""
    budget = budget or InflateBudget()
    shared = budget.left < budget.limit  # earlier members of the record inflated already
    if budget.left <= 0:  # (a max_length of 0 would mean no limit at all)
        raise DecodeError(
            f"gzip data expands beyond {budget.limit} bytes (all the gzip members of this Kinesis record together)"
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, budget.left)
    except zlib.error as exc:
        raise DecodeError(f"gzip data is corrupt: {exc}") from None
    budget.left -= len(out)
    if inflater.unconsumed_tail or (budget.left == 0 and not inflater.eof):
        together = " (all the gzip members of this Kinesis record together)" if shared else ""
        raise DecodeError(f"gzip data expands beyond {budget.limit} bytes{together}")
    if not inflater.eof:
        raise DecodeError(f"gzip data is truncated: the stream ends after {len(data)} bytes")
    if inflater.unused_data:  # a second gzip member: CloudWatch Logs never writes one
        raise DecodeError(f"gzip data has {len(inflater.unused_data)} unexpected bytes after the stream")
    return out


def collect_cwlogs(
    data: bytes, out: PayloadBuilder, prefix: str = "", where: str = "", budget: InflateBudget | None = None
) -> None:
    """Add the records of a gzip CloudWatch Logs subscription payload to `out`.

    CONTROL_MESSAGE payloads are counted in `out.skipped` and carry nothing: CloudWatch Logs
    sends one when the subscription is created, to check that the destination is reachable.
    A log event whose message is not a CloudTrail record fails alone (through `out.fail`).
    Messages may be bare CloudTrail records (a trail's log group) or EventBridge envelopes
    (a log group that an EventBridge rule writes to).
    """
    message = load_json(gunzip(data, budget))
    if not isinstance(message, dict) or "messageType" not in message:
        what = "no 'messageType'" if isinstance(message, dict) else f"a JSON {json_kind(message)}"
        raise DecodeError(f"gzip payload is not a CloudWatch Logs subscription message: it is {what}")
    message_type = message["messageType"]
    if message_type == "CONTROL_MESSAGE":
        out.skipped += 1
        return
    if message_type != "DATA_MESSAGE":
        raise DecodeError(f"CloudWatch Logs subscription message has unknown messageType {message_type!r}")
    log_events = message.get("logEvents")
    if not isinstance(log_events, list):
        raise DecodeError("CloudWatch Logs DATA_MESSAGE has no 'logEvents' array")
    plain, enveloped = prefix + CWLOGS, prefix + CWLOGS + "+" + EVENTBRIDGE
    for i, log_event in enumerate(log_events):
        try:
            shape, record = single_record(load_json(_message_of(log_event)))
        except DecodeError as exc:
            out.fail(f"{where}{_name(i, log_event)}: {exc}")
        else:
            out.add(record, enveloped if shape == EVENTBRIDGE else plain)


def _message_of(log_event: Any) -> str:
    if not isinstance(log_event, dict):
        raise DecodeError(f"is a JSON {json_kind(log_event)}, not an object")
    text = log_event.get("message")
    if not isinstance(text, str):
        raise DecodeError("has no 'message' string")
    return text


def _name(i: int, log_event: Any) -> str:
    event_id = log_event.get("id") if isinstance(log_event, dict) else None
    return f"logEvent {i}" if event_id is None else f"logEvent {i} (id {event_id})"


# --- The Lambda Kinesis event --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KinesisBatch:
    """What one Lambda invocation's Kinesis records decoded to.

    `records` and `failures` are in input order. `sequence_numbers` lists every input item in
    order, decoded or not, so the handler can report partial batch failures; an item without
    a sequence number (never the case for events Lambda delivers) appears as `Records[i]`.
    """

    records: tuple[Record, ...]
    failures: tuple[DecodeFailure, ...]
    skipped: int
    sequence_numbers: tuple[str, ...]
    # The fast path counts the records no rule can match, and those an ignore rule is known to
    # match, instead of returning them (see processor/fastpath.py): how many of each, and how
    # many of all those are access-denied errors.
    unmatched: int = 0
    ignored: int = 0
    counted_access_denied: int = 0


# "eventbridge" -> "kinesis:eventbridge": the shapes are a handful, so each string is built once.
_SOURCES: dict[str, str] = {}


def b64decode(text: str) -> bytes:
    """`base64.b64decode(text, validate=True)`, SIMD-fast with pybase64 (about 6x on this path).

    A refusal is left to the standard library, so the reason in the log reads as it always did.
    """
    try:
        return _fast_b64decode(text, validate=True)
    except ValueError:
        return base64.b64decode(text, validate=True)


def b64decode_all(texts: list[str]) -> list[bytes]:
    """`b64decode` of each text, in one map (a Python call per text costs as much as decoding
    it); ValueError when any is refused (the caller then decodes each, naming the bad one)."""
    return list(map(_fast_b64decode, texts, itertools.repeat(None), itertools.repeat(True)))


def decode_kinesis_event(event: Mapping[str, Any], *, fast: FastPath | None = None) -> KinesisBatch:
    """Decode every record of a Lambda Kinesis event; a bad record never stops the others.

    Raises DecodeError only when `event` has no Records list at all, i.e. it is not a Kinesis
    event (a wrongly wired trigger), since no item could then be reported as failed. Logs
    nothing: the reasons in `failures` are for the handler to log.

    With `fast` (processor/fastpath.py), the payloads no rule can match are only counted; the
    others are decoded here as usual.
    """
    items = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(items, list):
        raise DecodeError("Lambda event has no 'Records' list: it is not a Kinesis event")
    well_formed = _well_formed(items)
    found = None
    payloads: list[Any]  # (data, item id), or the DecodeFailure of an item whose data is unreadable
    if well_formed is not None:  # the usual batch: every payload decoded in bulk
        datas, sequence_numbers = well_formed
        found = fast.kinesis_payloads(datas) if fast is not None else None
        kept = found.keep if found is not None else range(len(datas))
        payloads = [(datas[position], sequence_numbers[position]) for position in kept]
    else:  # some item is odd: one at a time, each failure named
        sequence_numbers, payloads = _one_by_one(items)
        if fast is not None:
            readable = [position for position, payload in enumerate(payloads) if type(payload) is tuple]
            found = fast.kinesis_payloads([payloads[position][0] for position in readable])
            counted = set(readable).difference(readable[kept] for kept in found.keep)
            payloads = [payload for position, payload in enumerate(payloads) if position not in counted]
    records: list[Record] = []
    failures: list[DecodeFailure] = []
    skipped = 0
    for payload in payloads:
        if type(payload) is DecodeFailure:
            failures.append(payload)
            continue
        data, item_id = payload
        built = PayloadBuilder()
        try:
            collect_payload(data, built)
        except DecodeError as exc:
            failures.append(DecodeFailure(item_id, str(exc)))
            continue
        skipped += built.skipped
        for index, (record, shape) in enumerate(zip(built.events, built.sources, strict=True)):
            source = _SOURCES.get(shape) or _SOURCES.setdefault(shape, "kinesis:" + shape)
            records.append(Record(event=record, item_id=item_id, index=index, source=source))
        if built.errors:
            failures.extend(DecodeFailure(item_id, reason) for reason in built.errors)
    return KinesisBatch(
        tuple(records),
        tuple(failures),
        skipped,
        tuple(sequence_numbers),
        unmatched=found.unmatched if found is not None else 0,
        ignored=found.ignored if found is not None else 0,
        counted_access_denied=found.access_denied if found is not None else 0,
    )


def _well_formed(items: list[Any]) -> tuple[list[bytes], list[str]] | None:
    """(every item's data, every item's sequence number) when every item is as Lambda delivers it
    (an object with a kinesis object holding a sequenceNumber and valid base64 data), read in
    bulk; else None.
    """
    try:
        if set(map(type, items)) != _DICT:
            return None
        kinesis = [item["kinesis"] for item in items]
        if set(map(type, kinesis)) != _DICT:
            return None
        sequence_numbers = [section["sequenceNumber"] for section in kinesis]
        texts = [section["data"] for section in kinesis]
        if (
            set(map(type, sequence_numbers)) != _STR
            or set(map(type, texts)) != _STR
            or "" in sequence_numbers
        ):
            return None
        datas = b64decode_all(texts)
    except (KeyError, ValueError):  # a missing member, or data that is not base64
        return None
    return datas, sequence_numbers


_DICT: frozenset[type] = frozenset({dict})
_STR: frozenset[type] = frozenset({str})


def _one_by_one(items: list[Any]) -> tuple[list[str], list[Any]]:
    """(item ids, per item (data, item_id) or the DecodeFailure of its data)."""
    sequence_numbers: list[str] = []
    payloads: list[Any] = []
    for position, item in enumerate(items):
        kinesis = item.get("kinesis") if isinstance(item, dict) else None
        sequence_number = kinesis.get("sequenceNumber") if isinstance(kinesis, dict) else None
        if not (isinstance(sequence_number, str) and sequence_number):
            sequence_number = None
        item_id = sequence_number or f"Records[{position}]"
        sequence_numbers.append(item_id)
        try:
            payloads.append((_data(item, kinesis, sequence_number is not None), item_id))
        except DecodeError as exc:
            payloads.append(DecodeFailure(item_id, str(exc)))
    return sequence_numbers, payloads


def _data(item: Any, kinesis: Any, has_sequence_number: bool) -> bytes:
    """The item's payload bytes, or DecodeError naming what the Lambda record lacks."""
    if not isinstance(item, dict):
        raise DecodeError(f"Lambda record is a {type(item).__name__}, not an object")
    if not isinstance(kinesis, dict):
        source = item.get("eventSource")
        origin = f" (eventSource {source!r})" if source is not None else ""
        raise DecodeError(f"Lambda record has no 'kinesis' section{origin}")
    if not has_sequence_number:
        raise DecodeError("Lambda record's kinesis section has no 'sequenceNumber' string")
    data = kinesis.get("data")
    if not isinstance(data, str):
        raise DecodeError("Lambda record's kinesis section has no 'data' string")
    try:
        return b64decode(data)
    except ValueError as exc:  # binascii.Error, or non-ASCII characters in the string
        raise DecodeError(f"kinesis data is not valid base64: {exc}") from None


# --- One payload ---------------------------------------------------------------------------------

KPL_PREFIX = "kpl+"


def decode_payload(data: bytes) -> DecodedPayload:
    """Decode a payload: KPL aggregate, gzip CloudWatch Logs message, or JSON.

    Shapes are told apart by their first bytes (KPL magic, gzip magic, else JSON), so nothing
    is tried twice. Raises DecodeError when the payload as a whole is unreadable; a bad KPL
    user record or log event is reported in `errors` and the others are still returned.
    """
    out = PayloadBuilder()
    collect_payload(data, out)
    return out.build()


def collect_payload(data: bytes, out: PayloadBuilder) -> None:
    """`decode_payload` into a builder: the Kinesis loop reads it directly, saving a frozen copy.

    All the gzip members of the payload (one per KPL user record, at most) share one inflate
    budget, so a small aggregate of many members cannot inflate without bound."""
    if data.startswith(KPL_MAGIC):
        budget = InflateBudget()
        for i, user_record in enumerate(deaggregate(data)):
            where = f"KPL user record {i}: "
            try:
                _collect(user_record, out, KPL_PREFIX, where, budget)
            except DecodeError as exc:
                out.fail(f"{where}{exc}")
    else:
        _collect(data, out, "", "", None)


def _collect(data: bytes, out: PayloadBuilder, prefix: str, where: str, budget: InflateBudget | None) -> None:
    if not data:
        raise DecodeError("payload is empty (0 bytes)")
    if data.startswith(GZIP_MAGIC):
        collect_cwlogs(data, out, prefix, where, budget or InflateBudget())
    elif prefix and data.startswith(KPL_MAGIC):
        raise DecodeError("KPL aggregate nested inside a KPL aggregate (the KPL never nests them)")
    else:
        collect_json(load_json(data), out, prefix, where)
