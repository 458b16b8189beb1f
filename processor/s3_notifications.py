"""S3 notifications, however they arrive, to a flat list of object events.

Four deliveries carry the same fact ("this object was created/removed"): S3's own notification
(`Records[].s3`), the same wrapped in an SNS message, either of those in an SQS body, and
EventBridge's "Object Created"/"Object Deleted". Each becomes an `ObjectEvent` with the id the
caller must report a failure under (the SQS messageId, else `s3://bucket/key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import orjson

from processor.errors import DecodeError

CREATED = "created"
REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    """One object created or removed; `requester` and `source_ip` are known for some shapes only."""

    kind: str
    bucket: str
    key: str
    item_id: str
    event_name: str = ""
    time: str = ""
    region: str = ""
    account: str = ""
    requester: str = ""
    source_ip: str = ""
    sequencer: str = ""

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True, slots=True)
class Notifications:
    """`events` in input order; `from_sqs` means failures are reported per message (batchItemFailures)."""

    events: tuple[ObjectEvent, ...]
    from_sqs: bool
    ignored: int  # s3:TestEvent and event types that are neither created nor removed
    failures: tuple[tuple[str, str], ...] = ()  # (item id, reason) for unreadable messages


def parse_notifications(event: Any) -> Notifications:
    """Every object event in a Lambda event of any of the four shapes; raises DecodeError for none."""
    if isinstance(event, dict) and "detail-type" in event:
        found: list[ObjectEvent] = []
        ignored = _collect(event, "", found)
        return Notifications(tuple(found), False, ignored)
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise DecodeError("Lambda event is neither an S3, SNS, SQS nor EventBridge notification")
    from_sqs = any(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)
    found, failures, ignored = [], [], 0
    for position, record in enumerate(records):
        item_id = record.get("messageId", f"Records[{position}]") if isinstance(record, dict) else ""
        try:
            ignored += _collect(_unwrap(record), item_id if from_sqs else "", found)
        except DecodeError as exc:
            failures.append((str(item_id), str(exc)))
    return Notifications(tuple(found), from_sqs, ignored, tuple(failures))


def _unwrap(record: Any) -> Any:
    """An SQS body or SNS message is a JSON string holding the next layer; S3 records stay as they are."""
    if not isinstance(record, dict):
        raise DecodeError("notification record is not an object")
    if record.get("eventSource") == "aws:sqs":
        return _unwrap_text(record.get("body"), "SQS body")
    if record.get("EventSource") == "aws:sns":
        return _unwrap_text((record.get("Sns") or {}).get("Message"), "SNS message")
    return {"Records": [record]}


def _unwrap_text(text: Any, what: str) -> Any:
    if not isinstance(text, str):
        raise DecodeError(f"{what} is missing")
    try:
        inner = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"{what} is not JSON: {exc.msg}") from None
    if isinstance(inner, dict) and inner.get("Type") == "Notification":  # SNS to SQS, not raw delivery
        return _unwrap_text(inner.get("Message"), "SNS message")
    return inner


def _collect(payload: Any, item_id: str, out: list[ObjectEvent]) -> int:
    """Add the object events of one unwrapped payload; return how many were ignored."""
    if not isinstance(payload, dict):
        raise DecodeError("notification payload is not a JSON object")
    if "detail-type" in payload:
        return _collect_eventbridge(payload, item_id, out)
    if payload.get("Event") == "s3:TestEvent":
        return 1
    records = payload.get("Records")
    if not isinstance(records, list):
        raise DecodeError("notification has neither 'Records' nor 'detail-type'")
    ignored = 0
    for record in records:
        s3 = record.get("s3") if isinstance(record, dict) else None
        if not isinstance(s3, dict) or record.get("eventSource") != "aws:s3":
            raise DecodeError("notification record is not an S3 event")
        name = str(record.get("eventName", ""))
        kind = (
            CREATED
            if name.startswith("ObjectCreated:")
            else REMOVED
            if name.startswith("ObjectRemoved:")
            else ""
        )
        if not kind:
            ignored += 1
            continue
        bucket = str((s3.get("bucket") or {}).get("name", ""))
        key = unquote_plus(str((s3.get("object") or {}).get("key", "")))  # S3 URL-encodes keys here
        out.append(
            ObjectEvent(
                kind,
                bucket,
                key,
                item_id or f"s3://{bucket}/{key}",
                event_name=name,
                time=str(record.get("eventTime", "")),
                region=str(record.get("awsRegion", "")),
                requester=str((record.get("userIdentity") or {}).get("principalId", "")),
                source_ip=str((record.get("requestParameters") or {}).get("sourceIPAddress", "")),
                sequencer=str((s3.get("object") or {}).get("sequencer", "")),
            )
        )
    return ignored


def _collect_eventbridge(payload: dict[str, Any], item_id: str, out: list[ObjectEvent]) -> int:
    detail_type = payload.get("detail-type")
    kind = {"Object Created": CREATED, "Object Deleted": REMOVED}.get(str(detail_type), "")
    if not kind:
        return 1
    detail = payload.get("detail") if isinstance(payload.get("detail"), dict) else {}
    bucket = str((detail.get("bucket") or {}).get("name", ""))
    key = str((detail.get("object") or {}).get("key", ""))  # EventBridge does not encode keys
    out.append(
        ObjectEvent(
            kind,
            bucket,
            key,
            item_id or f"s3://{bucket}/{key}",
            event_name=f"{detail_type} ({detail.get('reason', '')})".replace(" ()", ""),
            time=str(payload.get("time", "")),
            region=str(payload.get("region", "")),
            account=str(payload.get("account", "")),
            requester=str(detail.get("requester", "")),
            source_ip=str(detail.get("source-ip-address", "")),
            sequencer=str((detail.get("object") or {}).get("sequencer", "")),
        )
    )
    return 0
