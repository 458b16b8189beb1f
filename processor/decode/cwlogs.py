"""CloudWatch Logs subscription payloads: gzip-compressed JSON wrapping CloudTrail records."""

from __future__ import annotations

import zlib
from typing import Any

from processor.decode.shapes import EVENTBRIDGE, PayloadBuilder, json_kind, load_json, single_record
from processor.errors import DecodeError

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
