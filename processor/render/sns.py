"""The SNS message: the reference module's JSON keys, plus ours, kept under SNS's 256 KB limit.

No escaping: subscribers are machines that parse JSON. The size is measured the way the sender
serialises (compact orjson, UTF-8), so a message this returns is never rejected for its size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from processor.models import Record, RuleRef
from processor.render.fields import MARKER, display, resolve_actor, to_json

SIZE_LIMIT = 250 * 1024  # SNS allows 262,144 bytes; leave room for the envelope
REFERENCE_KEYS = (
    "title",
    "error_message",
    "request_parameters",
    "response_elements",
    "additional_details",
    "account_id",
    "event_time",
    "event_id",
    "actor",
    "source_file",
)
OUR_KEYS = (
    "rule_id",
    "rule_severity",
    "event_name",
    "event_source",
    "aws_region",
    "source_ip",
    "user_agent",
    "error_code",
)
# Present only when known: ACCOUNT_NAMES, or AWS Organizations (processor/pipeline.py).
OPTIONAL_KEYS = ("account_name",)
# Shrunk first, largest first; any other key only if these are already small.
_BULKY = ("request_parameters", "response_elements", "additional_details")
_SMALL = 1024


def render_sns(
    record: Record, rule: RuleRef, account_id: str, *, actor: str | None = None, account_name: str = ""
) -> dict[str, Any]:
    """The JSON-serialisable SNS message for one matched record (`actor`, `account_name`: as render_slack's)."""
    event: Mapping[str, Any] = record.event if isinstance(record.event, Mapping) else {}
    identity = event.get("userIdentity")
    event_name = event.get("eventName")
    error_code = event.get("errorCode")
    title = f"{resolve_actor(event) if actor is None else actor} called {display(event_name)}"
    if error_code not in (None, ""):
        title += f" but failed due to {error_code}"
    event_id = event.get("eventID")

    message: dict[str, Any] = {
        "title": title,
        "error_message": event.get("errorMessage"),
        "request_parameters": event.get("requestParameters"),
        "response_elements": event.get("responseElements"),
        "additional_details": event.get("additionalEventData"),
        "account_id": account_id or "N/A",
        "event_time": format_event_time(event.get("eventTime")),
        "event_id": "N/A" if event_id in (None, "") else event_id,
        # The reference sends the whole userIdentity when it has no ARN; subscribers may rely on that.
        "actor": identity["arn"] if isinstance(identity, Mapping) and "arn" in identity else identity,
        "source_file": record.item_id,
        "rule_id": rule.id,
        "rule_severity": rule.severity,
        "event_name": event_name,
        "event_source": event.get("eventSource"),
        "aws_region": event.get("awsRegion"),
        "source_ip": event.get("sourceIPAddress"),
        "user_agent": event.get("userAgent"),
        "error_code": error_code,
    }
    if account_name:
        message["account_name"] = account_name
    _cap_size(message, _make_serialisable(message))
    return message


def format_event_time(raw: Any) -> str:
    """str() of the parsed time, as the reference printed it ("2019-07-03 16:14:51+00:00")."""
    if raw is None or raw == "":
        return "N/A"
    if not isinstance(raw, str):
        return str(raw)
    text = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    try:
        return str(datetime.fromisoformat(text))
    except ValueError:
        return raw


def _size(value: Any) -> int:
    """Bytes `value` takes in the message as the sender serialises it."""
    return len(orjson.dumps(value))


def _make_serialisable(message: dict[str, Any]) -> int:
    """Turn values orjson rejects (ints beyond 64 bits) into JSON text, so publishing cannot crash;
    the message's serialised size."""
    try:
        return _size(message)  # the usual message: nothing to turn
    except TypeError:
        pass
    for key, value in message.items():
        try:
            orjson.dumps(value)
        except TypeError:
            message[key] = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return _size(message)


def _cap_size(message: dict[str, Any], total: int) -> None:
    """Shrink the biggest values into marked strings until the message (`total` bytes now) fits
    SIZE_LIMIT."""
    for _ in range(2 * len(message)):  # each pass shrinks one value to what is needed; bounded
        if total <= SIZE_LIMIT:
            return
        sizes = {key: _size(value) for key, value in message.items()}
        key = max(_BULKY, key=sizes.__getitem__)
        if sizes[key] <= _SMALL:
            key = max(sizes, key=sizes.__getitem__)
        target = max(sizes[key] - (total - SIZE_LIMIT), 0)
        message[key] = _shrink(message[key], target)
        total = _size(message)


def _shrink(value: Any, target: int) -> str:
    """`value` as (compact JSON) text whose serialised size is at most `target` bytes, with a marker."""
    text = value if isinstance(value, str) else to_json(value)
    keep, size = len(text), _size(text)
    while keep > 0:
        # Scale by how much too big the last try was; the loop repeats only where escaping is denser.
        keep = min(keep - 1, int(keep * target / max(size, 1) * 0.95))
        candidate = text[: max(keep, 0)] + MARKER.format(n=len(text) - max(keep, 0))
        size = _size(candidate)
        if size <= target:
            return candidate
    return MARKER.format(n=len(text))
