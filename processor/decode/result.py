"""What decoding one payload produced, and the builder the shape decoders fill in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
