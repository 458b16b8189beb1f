"""Snoozes and mutes: while one is live, alerts similar to it (threads.similar_to) are not posted to Slack.

Made from an alert's buttons (processor/interactions.py) or with `trailalert mutes add`, kept in the
one table as `mute#<similarity key>` items: a snooze has a TTL (`expires_at`), a mute has none and
lasts until it is removed. Nothing is dropped silently: the Dispatcher gives a held-back alert the
status SUPPRESSED (metric `Suppressed`, and per rule), adds it to the item's count, and keeps one
reply in the alert's thread up to date: "12 more similar alerts suppressed since ...". SNS and other
non-Slack destinations still get every alert.

The processor reads suppressions through a cache of at most CACHE_SECONDS, so a snooze or an unmute
takes effect within that time; expiry is checked on every alert against the item's own time.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from processor.deliver.dynamo import PK, TTL_ATTRIBUTE, batch_get
from processor.deliver.dynamo import is_conditional_failure as _conditional
from processor.deliver.threads import Similar
from processor.deliver.timing import Timing
from processor.models import SlackMessage

log = logging.getLogger("trailalert.deliver")

PREFIX = "mute#"
SNOOZE = "snooze"
MUTE = "mute"
CACHE_SECONDS = 60.0  # the longest a new snooze, or an unmute, waits to take effect
_CACHE_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Suppression:
    """One snooze or mute, as kept in the table."""

    key: str  # threads.similarity_key of the alerts it holds back
    kind: str  # SNOOZE or MUTE
    what: Similar  # what the responder was shown (and confirmed)
    by: str  # a Slack user id, or "<name> (CLI)"
    at: float  # when it was made (epoch seconds)
    until: float | None = None  # snoozes only
    channel: str = ""  # the thread of the alert it was made from (Slack only)
    thread_ts: str = ""
    suppressed: int = 0  # alerts held back since it was made
    since: float | None = None  # when the first of them was
    summary_ts: str = ""  # the thread reply that sums them up

    def live(self, now: float) -> bool:
        return self.until is None or self.until > now


class SuppressionStore:
    """Translates suppressions to and from `mute#<key>` items; decides nothing.

    `table` is a BoundedTable in the Lambdas, or a boto3 Table for the CLI (which also lists them).
    """

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str) -> Suppression | None:
        item = self._table.get_item(Key={PK: PREFIX + key}, ConsistentRead=True).get("Item")
        return _suppression(item) if item else None

    def get_many(self, keys: list[str]) -> dict[str, Suppression]:
        """BatchGetItem in chunks of 100 (eventually consistent: the cache is older than that anyway)."""
        items = batch_get(self._table, [{PK: PREFIX + k} for k in keys])
        return {suppression.key: suppression for suppression in map(_suppression, items)}

    def put(self, suppression: Suppression) -> None:
        """Make (or replace: the latest action wins) the suppression of its key."""
        item: dict[str, Any] = {
            PK: PREFIX + suppression.key,
            "kind": suppression.kind,
            "what": orjson.dumps([list(pair) for pair in suppression.what]).decode(),
            "by": suppression.by,
            "at": Decimal(str(round(suppression.at, 3))),
            "suppressed": 0,
        }
        if suppression.until is not None:
            item[TTL_ATTRIBUTE] = int(suppression.until)
        if suppression.channel and suppression.thread_ts:
            item.update(channel=suppression.channel, thread_ts=suppression.thread_ts)
        self._table.put_item(Item=item)

    def remove(self, key: str) -> Suppression | None:
        """Delete it; what it was, or None when there was none."""
        response = self._table.delete_item(Key={PK: PREFIX + key}, ReturnValues="ALL_OLD")
        item = response.get("Attributes")
        return _suppression(item) if item else None

    def count(self, key: str, alerts: int, now: float) -> Suppression | None:
        """Add `alerts` to its count; None when it was removed or has expired meanwhile."""
        try:
            response = self._table.update_item(
                Key={PK: PREFIX + key},
                UpdateExpression="ADD suppressed :n SET since = if_not_exists(since, :now)",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(expires_at) OR expires_at > :now)",
                ExpressionAttributeValues={":n": alerts, ":now": int(now)},
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            if _conditional(exc):
                return None
            raise
        return _suppression(response["Attributes"])

    def claim_summary(self, key: str, owner: str) -> bool:
        """First writer posts the summary reply; the others wait for its ts (the next batch updates it)."""
        return self._conditional_update(
            key,
            "SET summary_owner = :owner",
            "attribute_exists(pk) AND attribute_not_exists(summary_owner)",
            owner,
        )

    def set_summary(self, key: str, owner: str, ts: str) -> None:
        self._table.update_item(
            Key={PK: PREFIX + key},
            UpdateExpression="SET summary_ts = :ts",
            ConditionExpression="summary_owner = :owner",
            ExpressionAttributeValues={":ts": ts, ":owner": owner},
        )

    def release_summary(self, key: str, owner: str) -> None:
        self._conditional_update(key, "REMOVE summary_owner", "summary_owner = :owner", owner)

    def all(self) -> list[Suppression]:
        """Every suppression item, live or not (the CLI; a Scan, which the Lambdas never make)."""
        found: list[Suppression] = []
        options: dict[str, Any] = {
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {":prefix": PREFIX},
        }
        while True:
            response = self._table.scan(**options)
            found += [_suppression(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return found
            options["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _conditional_update(self, key: str, expression: str, condition: str, owner: str) -> bool:
        try:
            self._table.update_item(
                Key={PK: PREFIX + key},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues={":owner": owner},
            )
        except Exception as exc:
            if _conditional(exc):
                return False
            raise
        return True


def _suppression(item: dict[str, Any]) -> Suppression:
    try:
        what = tuple((str(p[0]), str(p[1])) for p in orjson.loads(item.get("what") or "[]"))
    except (orjson.JSONDecodeError, TypeError, IndexError):
        what = ()
    until = item.get(TTL_ATTRIBUTE)
    since = item.get("since")
    return Suppression(
        key=str(item[PK]).removeprefix(PREFIX),
        kind=str(item.get("kind", MUTE)),
        what=what,
        by=str(item.get("by", "")),
        at=float(item.get("at", 0)),
        until=None if until is None else float(until),
        channel=str(item.get("channel", "")),
        thread_ts=str(item.get("thread_ts", "")),
        suppressed=int(item.get("suppressed", 0)),
        since=None if since is None else float(since),
        summary_ts=str(item.get("summary_ts", "")),
    )


PostReply = Callable[[str, SlackMessage, str], str]  # (channel, message, thread_ts) -> ts
Update = Callable[[str, str, SlackMessage], None]  # (channel, ts, message)


class Suppressions:
    """The processor's view of the suppressions: a cache of at most CACHE_SECONDS, and the counts."""

    def __init__(
        self, store: SuppressionStore, *, timing: Timing, cache_seconds: float = CACHE_SECONDS
    ) -> None:
        self._store = store
        self._timing = timing
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Suppression | None]] = {}

    def live(self, keys: Iterable[str]) -> dict[str, Suppression]:
        """The live suppressions among `keys`. Raises when the table cannot be read: the caller
        then sends (an unread snooze costs a repeat alert, never a lost one)."""
        wanted = set(keys)
        now = self._timing.clock()
        self._forget_older_than(now - self._cache_seconds)
        stale = sorted(k for k in wanted if k not in self._cache)
        if stale:
            fetched = self._store.get_many(stale)
            for key in stale:
                self._cache[key] = (now, fetched.get(key))
        wall = self._timing.wall()
        return {
            key: found for key in wanted if (found := self._cache[key][1]) is not None and found.live(wall)
        }

    def sum_up(self, held_back: dict[str, int], post_reply: PostReply, update: Update) -> None:
        """Count the alerts held back this batch, and show each total in its suppression's thread.

        Failures are logged, never raised: the alerts are counted in the batch's metrics already."""
        from processor.render.triage import suppressed_summary

        for key, alerts in held_back.items():
            try:
                current = self._store.count(key, alerts, self._timing.wall())
                if current is None:
                    self._cache.pop(key, None)  # removed or expired meanwhile: read it afresh
                    continue
                if not (current.channel and current.thread_ts):
                    continue  # made with the CLI: there is no thread to sum up in
                message = suppressed_summary(current)
                if current.summary_ts:
                    update(current.channel, current.summary_ts, message)
                else:
                    self._post_summary(current, message, post_reply)
            except Exception as exc:
                log.warning(
                    "could not sum up suppressed alerts in their thread",
                    extra={"suppression": key, "reason": f"{type(exc).__name__}: {exc}"},
                )

    def _post_summary(self, current: Suppression, message: SlackMessage, post_reply: PostReply) -> None:
        owner = uuid.uuid4().hex
        if not self._store.claim_summary(current.key, owner):
            return  # another container posts it; the next batch updates it with the total
        try:
            ts = post_reply(current.channel, message, current.thread_ts)
        except Exception:
            self._store.release_summary(current.key, owner)
            raise
        self._store.set_summary(current.key, owner, ts)

    def _forget_older_than(self, moment: float) -> None:
        if len(self._cache) > _CACHE_ENTRIES:
            self._cache.clear()
        elif any(at <= moment for at, _ in self._cache.values()):
            self._cache = {k: v for k, v in self._cache.items() if v[0] > moment}
