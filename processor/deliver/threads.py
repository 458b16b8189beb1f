"""Similar alerts: their Slack thread, and the snoozes and mutes that hold them back.

Similarity (`similar_to`): a rule file's `group_by` keys with the rule id when the rule has them;
otherwise the rule, the actor, the account, the eventSource and eventName, and the outcome
(errorCode, or "ok"), so that a call that finally *succeeded* is never buried in a thread of its
denied attempts.

Threads (Slack app): similar alerts within DYNAMODB_TIME_TO_LIVE seconds join the first one's
thread. A thread also has its channel in its key: a thread lives in one channel. First writer
wins: a container claims the key with a conditional put (absent OR expired) before posting the
parent, then stores the parent's `ts`. A loser waits briefly for that `ts` and replies in the
thread; if the winner never finishes (crash, Slack down), the loser posts the alert on its own: an
unthreaded alert is better than a lost one.

Snoozes and mutes (Suppressions): while one is live, alerts similar to it (the same similarity,
without the channel) are not posted to Slack. Made from an alert's buttons
(processor/interactions.py) or with `trailalert mutes add`, kept in the one table as
`mute#<similarity key>` items (dynamo.SuppressionStore): a snooze has a TTL (`expires_at`), a mute
has none and lasts until it is removed. Nothing is dropped silently: the Dispatcher gives a
held-back alert the status SUPPRESSED (metric `Suppressed`, and per rule), adds it to the item's
count, and keeps one reply in the alert's thread up to date: "12 more similar alerts suppressed
since ...". SNS and other non-Slack destinations still get every alert. The processor reads
suppressions through a cache of at most CACHE_SECONDS, so a snooze or an unmute takes effect within
that time; expiry is checked on every alert against the item's own time.

The table's items are read and written by the stores in dynamo.py; this module decides.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from processor.deliver.dynamo import DynamoDbThreadStore, Suppression, SuppressionStore, ThreadItem
from processor.deliver.errors import DeliveryError
from processor.deliver.timing import Budget, Timing
from processor.models import Alert, Destination, SlackMessage
from processor.render.fields import MISSING, display, resolve_actor

log = logging.getLogger("trailalert.deliver")

PARENT_WAIT_SECONDS = 5.0
PARENT_POLL_SECONDS = 0.1
CACHE_SECONDS = 60.0  # the longest a new snooze, or an unmute, waits to take effect
_CACHE_ENTRIES = 10_000

Post = Callable[[SlackMessage, str | None], str]


Similar = tuple[tuple[str, str], ...]  # (label, value) pairs, in the order they are shown


def similar_to(alert: Alert) -> Similar:
    """What makes alerts similar: they share a thread, and a snooze or mute of one holds back the others.

    A rule file's `group_by` keys, with the rule; otherwise the rule, who (resolve_actor), the account,
    the event's source and name, and the outcome (errorCode, or "ok").
    """
    event = alert.record.event
    if alert.rule.group_by:
        from processor.rules.lookup import MISSING as ABSENT
        from processor.rules.lookup import resolve

        grouped = [(key, _shown(resolve(event, key), ABSENT)) for key in alert.rule.group_by]
        return (("Rule", alert.rule.id), *grouped)
    return (
        ("Rule", alert.rule.id),
        ("Actor", resolve_actor(event)),
        ("Account", alert.account_id or MISSING),
        ("Event source", display(event.get("eventSource"))),
        ("Event", display(event.get("eventName"))),
        ("Outcome", display(event.get("errorCode") or "ok")),
    )


def _shown(value: object, absent: object) -> str:
    return MISSING if value is absent else display(value)


def similarity_key(similar: Similar) -> str:
    """The key of everything similar: the same whichever channel an alert goes to."""
    return _digest([part for pair in similar for part in pair])


def thread_key(alert: Alert, destination: Destination) -> str:
    """The thread of similar alerts in one channel (a thread lives in one channel)."""
    return _digest([destination.target, similarity_key(similar_to(alert))])


def _digest(parts: list[object]) -> str:
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ParentUpdate:
    """A parent whose "N more in thread" line is out of date; sent once per batch, not per reply."""

    destination: Destination  # the Slack app channel the thread is in
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
                destination, item.ts, with_reply_count(item.parent, count, item.note)
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


def with_reply_count(parent: SlackMessage, count: int, note: str | None = None) -> SlackMessage:
    """The parent as first posted, plus a context line a reader of the channel sees without opening it
    (and the `note` a responder left on it, e.g. who acknowledged it)."""
    noun = "similar event" if count == 1 else "similar events"
    line = f":thread: *{count}* more {noun} in thread"
    extra = [line] if note is None else [note, line]
    blocks = tuple(parent.blocks)[: 50 - len(extra)] + tuple(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}
        for text in extra
    )
    return SlackMessage(text=f"{parent.text} ({count} more in thread)", blocks=blocks)


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
