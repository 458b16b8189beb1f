"""Slack app threads: similar alerts within DYNAMODB_TIME_TO_LIVE seconds join the first one's thread.

Similarity key: a rule file's `group_by` keys (with the channel and rule id) when the rule has
them; otherwise the reference module's (userIdentity type, principalId, arn, accountId, eventName)
plus the channel, the eventSource and the outcome (errorCode, or "ok"). The channel because a
thread lives in one channel; the outcome so that a call that finally *succeeded* is never buried
in a thread of its denied attempts.

First writer wins: a container claims the key with a conditional put (absent OR expired) before
posting the parent, then stores the parent's `ts`. A loser waits briefly for that `ts` and
replies in the thread; if the winner never finishes (crash, Slack down), the loser posts the
alert on its own: an unthreaded alert is better than a lost one.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from processor.deliver.dynamo import ABSENT_OR_EXPIRED, PK, TTL_ATTRIBUTE, is_conditional_failure, is_live
from processor.deliver.errors import DeliveryError
from processor.deliver.timing import Budget, Timing
from processor.models import Alert, Destination, SlackMessage

log = logging.getLogger("trailalert.deliver")

PARENT_WAIT_SECONDS = 5.0
PARENT_POLL_SECONDS = 0.1
_MAX_STORED_PARENT = 100_000  # bytes of JSON; DynamoDB items stop at 400 KB

Post = Callable[[SlackMessage, str | None], str]


def thread_key(alert: Alert, destination: Destination) -> str:
    """The similarity key; a rule file's `group_by` keys replace the default identity-based key."""
    event = alert.record.event
    if alert.rule.group_by:
        from processor.rules.lookup import MISSING, resolve

        values = [resolve(event, key) for key in alert.rule.group_by]
        grouped = [destination.target, alert.rule.id] + [None if v is MISSING else v for v in values]
        return _digest(grouped)
    identity = event.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
    parts = [
        destination.target,
        identity.get("type"),
        identity.get("principalId"),
        identity.get("arn"),
        identity.get("accountId"),
        event.get("eventSource"),
        event.get("eventName"),
        event.get("errorCode") or "ok",
    ]
    return _digest(parts)


def _digest(parts: list[object]) -> str:
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ThreadItem:
    ts: str | None
    owner: str
    parent: SlackMessage | None
    replies: int


class DynamoDbThreadStore:
    """Translates thread state to and from `thread#<key>` items; decides nothing."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str, now: float) -> ThreadItem | None:
        item = self._table.get_item(Key={PK: _pk(key)}, ConsistentRead=True).get("Item")
        if not is_live(item, now):
            return None
        assert item is not None
        parent = None
        if item.get("parent"):
            data = orjson.loads(item["parent"])
            parent = SlackMessage(text=data.get("text", ""), blocks=tuple(data.get("blocks") or ()))
        return ThreadItem(item.get("ts"), str(item.get("owner", "")), parent, int(item.get("replies", 0)))

    def claim(self, key: str, owner: str, now: float, ttl: int) -> bool:
        try:
            self._table.put_item(
                Item={PK: _pk(key), "owner": owner, TTL_ATTRIBUTE: int(now + ttl), "replies": 0},
                ConditionExpression=ABSENT_OR_EXPIRED,
                ExpressionAttributeValues={":now": int(now)},
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def set_parent(self, key: str, owner: str, ts: str, parent: SlackMessage) -> None:
        stored = orjson.dumps(parent.payload())
        values: dict[str, Any] = {":ts": ts, ":owner": owner}
        expression = "SET ts = :ts"
        if len(stored) <= _MAX_STORED_PARENT:
            expression += ", parent = :parent"
            values[":parent"] = stored.decode()
        self._table.update_item(
            Key={PK: _pk(key)},
            UpdateExpression=expression,
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues=values,
        )

    def release(self, key: str, owner: str) -> None:
        """Give the claim up (the parent could not be posted), so the next attempt can claim it."""
        try:
            self._table.delete_item(
                Key={PK: _pk(key)},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except Exception as exc:
            if not is_conditional_failure(exc):
                raise

    def add_reply(self, key: str) -> int:
        response = self._table.update_item(
            Key={PK: _pk(key)},
            UpdateExpression="ADD replies :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["replies"])


@dataclass(frozen=True, slots=True)
class ParentUpdate:
    """A parent whose "N more in thread" line is out of date; sent once per batch, not per reply."""

    channel: str
    ts: str
    message: SlackMessage


class SlackThreads:
    """The thread workflow for one container: claim, post parent, or reply and count."""

    def __init__(
        self,
        store: DynamoDbThreadStore,
        *,
        ttl: int,
        timing: Timing,
        parent_wait: float = PARENT_WAIT_SECONDS,
        poll: float = PARENT_POLL_SECONDS,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._timing = timing
        self._parent_wait = parent_wait
        self._poll = poll
        self._updates: dict[str, ParentUpdate] = {}

    def deliver(self, alert: Alert, destination: Destination, post: Post, budget: Budget) -> str:
        """Post `alert` as a new parent or into an existing thread; return a short detail."""
        message = alert.slack
        if message is None:
            raise DeliveryError("alert has no Slack message rendered")
        key = thread_key(alert, destination)
        try:
            return self._deliver_threaded(key, destination, message, post, budget)
        except DeliveryError:
            raise
        except Exception as exc:
            # The table failed (unreachable, throttled, missing) before anything was posted: a
            # thread is a convenience, the alert is not. Post it on its own rather than fail it.
            log.warning(
                "thread table unavailable; posting unthreaded",
                extra={"destination": destination.key, "reason": f"{type(exc).__name__}: {exc}"},
            )
            ts = post(message, None)
            return f"posted unthreaded (thread table unavailable): {ts}"

    def _deliver_threaded(
        self, key: str, destination: Destination, message: SlackMessage, post: Post, budget: Budget
    ) -> str:
        for _ in range(3):  # claim lost to a racer whose item then expired: look again
            now = self._timing.wall()
            item = self._store.get(key, now)
            if item is None:
                owner = uuid.uuid4().hex
                if not self._store.claim(key, owner, now, self._ttl):
                    continue
                return self._post_parent(key, owner, message, post)
            if not item.ts:
                item = self._wait_for_parent(key, budget)
                if item is None or not item.ts:
                    ts = post(message, None)
                    return f"posted unthreaded (thread parent not ready): {ts}"
            return self._reply(key, item, destination, message, post)
        ts = post(message, None)
        return f"posted unthreaded (thread claim contended): {ts}"

    def take_updates(self) -> list[ParentUpdate]:
        updates, self._updates = list(self._updates.values()), {}
        return updates

    def _post_parent(self, key: str, owner: str, message: SlackMessage, post: Post) -> str:
        try:
            ts = post(message, None)
        except DeliveryError:
            try:
                self._store.release(key, owner)
            except Exception as exc:  # the claim then simply expires with its TTL
                log.warning("could not release thread claim", extra={"reason": type(exc).__name__})
            raise
        try:
            self._store.set_parent(key, owner, ts, message)
        except Exception as exc:  # the alert is out; later similar ones wait, then post unthreaded
            log.warning("could not store thread parent", extra={"reason": f"{type(exc).__name__}: {exc}"})
        return f"thread parent {ts}"

    def _reply(
        self, key: str, item: ThreadItem, destination: Destination, message: SlackMessage, post: Post
    ) -> str:
        assert item.ts is not None
        ts = post(message, item.ts)
        try:
            count = self._store.add_reply(key)
        except Exception as exc:  # cosmetic: the reply is posted, only the parent's counter lags
            log.warning("could not count thread reply", extra={"reason": f"{type(exc).__name__}: {exc}"})
            return f"in thread {item.ts}: {ts}"
        if item.parent is not None:
            self._updates[key] = ParentUpdate(
                destination.target, item.ts, with_reply_count(item.parent, count)
            )
        return f"in thread {item.ts}: {ts}"

    def _wait_for_parent(self, key: str, budget: Budget) -> ThreadItem | None:
        waited = 0.0
        item: ThreadItem | None = None
        while waited < self._parent_wait and budget.can_wait(self._poll):
            self._timing.sleep(self._poll)
            waited += self._poll
            item = self._store.get(key, self._timing.wall())
            if item is None or item.ts:
                return item
        return item


def with_reply_count(parent: SlackMessage, count: int) -> SlackMessage:
    """The parent as first posted, plus a context line a reader of the channel sees without opening it."""
    noun = "similar event" if count == 1 else "similar events"
    line = f":thread: *{count}* more {noun} in thread"
    blocks = tuple(parent.blocks)[:49] + (
        {"type": "context", "elements": [{"type": "mrkdwn", "text": line, "verbatim": True}]},
    )
    return SlackMessage(text=f"{parent.text} ({count} more in thread)", blocks=blocks)


def _pk(key: str) -> str:
    return f"thread#{key}"
