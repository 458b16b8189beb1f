"""A record matched on its partial view, decoded in full only if it alerts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from processor.errors import DecodeError
from processor.models import Record

__all__ = ["PartialRecord", "complete"]


class PartialRecord:
    """Like Record, but `event` holds only the fields the rules may read (see processor.partial).

    `plan` is what the rule set already chose to run for it (RuleSet.plan); `full(raw)` decodes
    the whole record, for rendering and routing, when it alerts.
    """

    __slots__ = ("event", "item_id", "index", "source", "plan", "_full", "_raw")

    def __init__(
        self,
        event: dict[str, Any],
        item_id: str,
        index: int,
        source: str,
        plan: Any,
        full: Callable[[Any], dict[str, Any]],
        raw: Any,
    ) -> None:
        self.event = event
        self.item_id = item_id
        self.index = index
        self.source = source
        self.plan = plan
        self._full = full  # full(raw): one function shared by every record, not a closure each
        self._raw = raw

    def complete(self) -> Record | None:
        """The Record with the whole event; None in the one case the full decode refuses what
        phase 1 read (a number beyond a double's range in a field no rule reads; see README)."""
        try:
            event = self._full(self._raw)
        except DecodeError:
            return None
        return Record(event=event, item_id=self.item_id, index=self.index, source=self.source)


def complete(record: Record | PartialRecord) -> Record | None:
    """`record` itself, or the full Record behind a PartialRecord."""
    return record.complete() if type(record) is PartialRecord else record  # type: ignore[return-value]
