"""The Lambda Kinesis event to CloudTrail records, one failure per unreadable item or sub-item.

A Kinesis record's payload is a KPL aggregate, a gzip CloudWatch Logs message, or JSON (an
EventBridge envelope or a bare record), told apart by its first bytes.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from processor.decode.cwlogs import GZIP_MAGIC, InflateBudget, collect_cwlogs
from processor.decode.kpl import MAGIC as KPL_MAGIC
from processor.decode.kpl import deaggregate
from processor.decode.shapes import DecodedPayload, DecodeFailure, PayloadBuilder, collect_json, load_json
from processor.errors import DecodeError
from processor.models import Record

try:
    from pybase64 import b64decode as _fast_b64decode
except ImportError:  # pragma: no cover - pybase64 is a dependency; the standard library still works
    _fast_b64decode = base64.b64decode

if TYPE_CHECKING:
    from processor.fastpath import FastPath


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
