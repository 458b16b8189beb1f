"""The delivery ledger in DynamoDB: survives cold starts and is shared by every container.

One item per delivered (eventID, destination): `pk = sent#<key>`, `expires_at` = now + ttl. The
TTL outlives any Lambda retry of the record (Kinesis keeps records 24 hours by default).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from processor.deliver.dynamo import (
    ABSENT_OR_EXPIRED,
    PK,
    TTL_ATTRIBUTE,
    batch_get,
    is_conditional_failure,
    is_live,
)

log = logging.getLogger("trailalert.deliver")

LEDGER_TTL_SECONDS = 7 * 24 * 3600  # longer than Kinesis' default 24h retention and any retry of it


class DynamoDbLedger:
    """Implements DeliveryLedger over a BoundedTable. `wall` is epoch seconds, injected for tests."""

    def __init__(self, table: Any, *, wall: Callable[[], float], ttl: int = LEDGER_TTL_SECONDS) -> None:
        self._table = table
        self._wall = wall
        self._ttl = ttl

    def already_delivered(self, key: str) -> bool:
        item = self._table.get_item(Key={PK: _pk(key)}, ConsistentRead=True).get("Item")
        return is_live(item, self._wall())

    def delivered_among(self, keys: list[str]) -> set[str]:
        """BatchGetItem in chunks of 100, strongly consistent, retrying unprocessed keys a few times."""
        now = self._wall()
        unique = list(dict.fromkeys(keys))
        items = batch_get(
            self._table,
            [{PK: _pk(k)} for k in unique],
            ConsistentRead=True,
            ProjectionExpression="pk, expires_at",
        )
        return {_plain(item)[PK].removeprefix("sent#") for item in items if is_live(_plain(item), now)}

    def record(self, key: str) -> None:
        """Conditional put: a live record already there means another attempt recorded it first."""
        now = self._wall()
        try:
            self._table.put_item(
                Item={PK: _pk(key), TTL_ATTRIBUTE: int(now + self._ttl)},
                ConditionExpression=ABSENT_OR_EXPIRED,
                ExpressionAttributeValues={":now": int(now)},
            )
        except Exception as exc:
            if not is_conditional_failure(exc):
                raise


def _pk(key: str) -> str:
    return f"sent#{key}"


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """batch_get_item on the low-level client returns typed values ({"S": ...}); unwrap the two we use."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        if isinstance(value, dict) and len(value) == 1:
            (kind, raw), *_ = value.items()
            out[name] = float(raw) if kind == "N" else raw
        else:
            out[name] = value
    return out
