"""The Lambda Kinesis event to CloudTrail records, one failure per unreadable item or sub-item."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from processor.decode.payload import collect_payload
from processor.decode.result import DecodeFailure, PayloadBuilder
from processor.errors import DecodeError
from processor.models import Record


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
    # Two-phase decoding counts the records no rule can match, and those an ignore rule is known
    # to match, instead of returning them (see processor.partial.kinesis): how many of each, and
    # how many of all those are access-denied errors.
    unmatched: int = 0
    ignored: int = 0
    counted_access_denied: int = 0


# "eventbridge" -> "kinesis:eventbridge": the shapes are a handful, so each string is built once.
_SOURCES: dict[str, str] = {}


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


class FastBatch:
    """What a two-phase decoder made of a batch's payloads (see processor.partial.kinesis).

    `results[i]` is the i-th payload's one record (matched on a partial view), COUNTED when it
    was counted as unmatched or ignored instead, or None to decode the payload as usual.
    """

    __slots__ = ("results", "unmatched", "ignored", "access_denied")

    def __init__(self, results: list[Any], unmatched: int, access_denied: int, ignored: int = 0) -> None:
        self.results = results
        self.unmatched = unmatched
        self.ignored = ignored
        self.access_denied = access_denied


COUNTED: Any = object()


def decode_kinesis_event(
    event: Mapping[str, Any],
    *,
    fast: Callable[[list[bytes], list[str]], FastBatch] | None = None,
    b64decode: Callable[[str], bytes] = _b64decode,
    b64decode_all: Callable[[list[str]], list[bytes]] | None = None,
) -> KinesisBatch:
    """Decode every record of a Lambda Kinesis event; a bad record never stops the others.

    Raises DecodeError only when `event` has no Records list at all, i.e. it is not a Kinesis
    event (a wrongly wired trigger), since no item could then be reported as failed. Logs
    nothing: the reasons in `failures` are for the handler to log.

    `fast(datas, item_ids)` (two-phase decoding, see processor.partial) gets every payload and
    its item id at once and says, per payload, what FastBatch says; a payload it leaves is
    decoded as usual.
    `b64decode` must accept and refuse exactly what `base64.b64decode(validate=True)` does, and
    `b64decode_all` (many texts at once; default: `b64decode` on each) accept the same and raise
    ValueError when any is refused.
    """
    items = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(items, list):
        raise DecodeError("Lambda event has no 'Records' list: it is not a Kinesis event")
    records: list[Record] = []
    failures: list[DecodeFailure] = []
    decode_all = b64decode_all or functools.partial(_each, b64decode)
    well_formed = _well_formed(items, decode_all)
    payloads: list[Any]  # per item: (data, item_id), or the DecodeFailure of its data
    if well_formed is not None:  # the usual batch: every payload decoded in bulk
        datas, sequence_numbers = well_formed
        found = fast(datas, sequence_numbers) if fast is not None and datas else None
        if found is not None and None not in found.results:  # fast took every payload
            return _batch([r for r in found.results if r is not COUNTED], [], 0, sequence_numbers, found)
        payloads = list(zip(datas, sequence_numbers, strict=True))
    else:  # some item is odd: one at a time, each failure named
        sequence_numbers, payloads = _one_by_one(items, b64decode)
        decoded = [p for p in payloads if type(p) is tuple]
        found = (
            fast([data for data, _ in decoded], [item_id for _, item_id in decoded])
            if fast is not None and decoded
            else None
        )
    results = iter(found.results) if found is not None else None
    skipped = 0
    for payload in payloads:
        if type(payload) is DecodeFailure:
            failures.append(payload)
            continue
        if results is not None:
            result = next(results)
            if result is COUNTED:
                continue
            if result is not None:
                records.append(result)
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
    return _batch(records, failures, skipped, sequence_numbers, found)


def _batch(
    records: list[Record],
    failures: list[DecodeFailure],
    skipped: int,
    sequence_numbers: list[str],
    found: FastBatch | None,
) -> KinesisBatch:
    return KinesisBatch(
        tuple(records),
        tuple(failures),
        skipped,
        tuple(sequence_numbers),
        unmatched=found.unmatched if found is not None else 0,
        ignored=found.ignored if found is not None else 0,
        counted_access_denied=found.access_denied if found is not None else 0,
    )


def _each(b64decode: Callable[[str], bytes], texts: list[str]) -> list[bytes]:
    return list(map(b64decode, texts))


def _well_formed(
    items: list[Any], b64decode_all: Callable[[list[str]], list[bytes]]
) -> tuple[list[bytes], list[str]] | None:
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


def _one_by_one(items: list[Any], b64decode: Callable[[str], bytes]) -> tuple[list[str], list[Any]]:
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
            payloads.append((_data(item, kinesis, sequence_number is not None, b64decode), item_id))
        except DecodeError as exc:
            payloads.append(DecodeFailure(item_id, str(exc)))
    return sequence_numbers, payloads


def _data(item: Any, kinesis: Any, has_sequence_number: bool, b64decode: Callable[[str], bytes]) -> bytes:
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
