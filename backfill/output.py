"""One JSON line per alert on stdout: what a dry run would have sent, ready for `jq`."""

from __future__ import annotations

from typing import Any

import orjson

from backfill.config import is_preview
from processor.models import Alert


def alert_line(alert: Alert) -> str:
    """Secret-free: destinations are named by `Destination.key` (a webhook URL only by its hash)."""
    event = alert.record.event
    entry: dict[str, Any] = {
        "eventID": alert.event_id,
        "eventName": event.get("eventName"),
        "eventTime": event.get("eventTime"),
        "account": alert.account_id,
        "rule": alert.rule.id,
        "severity": alert.rule.severity,
        "destinations": [d.key for d in alert.destinations if not is_preview(d)],
        "source": {"object": alert.record.item_id, "index": alert.record.index},
        "slack": alert.slack.payload() if alert.slack is not None else None,
        "sns": alert.sns,
    }
    return orjson.dumps(entry, default=str).decode()
