"""Sends every alert to every destination once, and reports an outcome for each pair.

The order of work for one batch:
1. Ask the ledger which (eventID, destination) pairs were delivered before: those are DUPLICATE.
2. Group the rest by destination. A Slack destination with more than the storm threshold gets a
   summary and digests (storm.py); every other alert is sent on its own, into a thread when the
   Slack app has a table (threads.py).
3. Every send waits for its channel's pacing token, and is retried on 429 (after Retry-After) or
   5xx/connection errors (with backoff), but only while the Lambda has time left. What cannot be
   sent in time is FAILED, so its record goes back to Lambda: never dropped.
4. Each accepted send is recorded in the ledger right away; thread parents get one "N more in
   thread" edit at the end of the batch.

Before step 2, a Slack delivery of an alert that a live snooze or mute holds back (threads.py)
is SUPPRESSED instead: counted, recorded in the ledger (a retried batch does not count it twice),
and summed up in the thread the suppression was made from at the end of the batch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from processor.deliver.errors import (
    ContentRejected,
    DeliveryError,
    OutcomeUnknown,
    OutOfTime,
    RateLimited,
    Rejected,
)
from processor.deliver.ledger import DeliveryLedger
from processor.deliver.retry import NO_RETRY, RetryPolicy
from processor.deliver.storm import chunks, storm_digest, storm_summary, text_only
from processor.deliver.timing import SYSTEM, Budget, ChannelPacer, Deadline, Timing
from processor.log import DeliveryStats
from processor.models import Alert, DeliveryOutcome, Destination, DestinationKind, SlackMessage, Status

if TYPE_CHECKING:  # senders import slack_sdk (~90 ms): a dry-run backfill never needs it
    from processor.action_values import ActionSigner
    from processor.deliver.dynamo import Suppression
    from processor.deliver.senders import Sender
    from processor.deliver.threads import SlackThreads, Suppressions

log = logging.getLogger("trailalert.deliver")

# Below this many seconds left in the invocation we stop starting sends: a send cut off by the
# Lambda timeout is the one case where we cannot tell whether Slack got the message.
SAFETY_MARGIN_SECONDS = 3.0

_SLACK_KINDS = (DestinationKind.SLACK_APP, DestinationKind.SLACK_WEBHOOK)
T = TypeVar("T")


def _repeat_of(first: DeliveryOutcome, alert: Alert) -> DeliveryOutcome:
    """The outcome of a repeated eventID: sent once; a failure fails the repeat's record too."""
    if first.status is Status.FAILED:
        return DeliveryOutcome(alert, first.destination, Status.FAILED, first.detail)
    detail = "same eventID earlier in this batch; not sent again"
    return DeliveryOutcome(alert, first.destination, Status.DUPLICATE, detail)


def delivery_key(alert: Alert, destination: Destination) -> str:
    """The idempotency key: one eventID delivered once per destination."""
    return f"{alert.event_id}|{destination.key}"


def message_key(*parts: str) -> str:
    """The key of the Slack message delivering `parts` (delivery keys), kept in its metadata:
    short, and saying nothing of the events to whoever reads the channel's metadata."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class Dispatcher:
    """Owns the senders and the ledger. The entry points map its outcomes back to input items.

    Everything beyond senders and ledger is optional so that a bare Dispatcher sends exactly once
    per alert (what unit tests of senders want); `build_dispatcher` in app.py turns it all on.
    """

    def __init__(
        self,
        senders: Mapping[DestinationKind, Sender],
        ledger: DeliveryLedger,
        *,
        retry: RetryPolicy = NO_RETRY,
        pacer: ChannelPacer | None = None,
        threads: SlackThreads | None = None,
        storm_threshold: int | None = None,
        timing: Timing = SYSTEM,
        reserve_seconds: float = SAFETY_MARGIN_SECONDS,
        deadline: Deadline | None = None,
        suppressions: Suppressions | None = None,
        buttons: ActionSigner | None = None,
    ) -> None:
        """`deadline` is shared with what else needs the invocation's remaining time (the table).

        `suppressions` holds back what a snooze or mute covers; `buttons` signs the triage buttons
        each Slack app alert then carries (both need the table; see docs/slack.md)."""
        self._senders = senders
        self._ledger = ledger
        self._retry = retry
        self._pacer = pacer
        self._threads = threads
        self._storm_threshold = storm_threshold
        self._timing = timing
        self._reserve = reserve_seconds
        self._deadline = deadline or Deadline()
        self._suppressions = suppressions
        self._buttons = buttons
        self._on_accepted: Callable[[Alert, Destination], None] | None = None

    def sender(self, kind: DestinationKind) -> Sender | None:
        return self._senders.get(kind)

    def deliver(
        self,
        alerts: Iterable[Alert],
        remaining_seconds: Callable[[], float] = lambda: float("inf"),
        *,
        stats: DeliveryStats | None = None,
        on_accepted: Callable[[Alert, Destination], None] | None = None,
    ) -> list[DeliveryOutcome]:
        """One outcome per (alert, destination) pair, in input order.

        `on_accepted` is called for each pair as soon as its destination accepted it, before the
        next send: a caller checkpointing deliveries (the backfill's --state) then loses none of
        them when interrupted halfway through a batch.
        """
        self._on_accepted = on_accepted
        self._deadline.start(remaining_seconds)
        try:
            return self._deliver(alerts, remaining_seconds, stats)
        finally:
            self._on_accepted = None

    def _deliver(
        self, alerts: Iterable[Alert], remaining_seconds: Callable[[], float], stats: DeliveryStats | None
    ) -> list[DeliveryOutcome]:
        stats = stats if stats is not None else DeliveryStats()
        budget = Budget(remaining_seconds, self._reserve)
        pairs = [(alert, destination) for alert in alerts for destination in alert.destinations]
        keys = [delivery_key(alert, destination) for alert, destination in pairs]
        done = self._delivered_before(keys, stats)
        held = self._held_back(pairs, [i for i, key in enumerate(keys) if key not in done], stats)
        results: dict[int, DeliveryOutcome] = {}
        groups: dict[Destination, list[int]] = {}
        first_of: dict[str, int] = {}  # the same eventID twice in one batch (EventBridge may repeat one)
        repeats: dict[int, int] = {}
        for index, (alert, destination) in enumerate(pairs):
            if keys[index] in done:
                results[index] = DeliveryOutcome(
                    alert, destination, Status.DUPLICATE, "delivered before; not sent again"
                )
            elif keys[index] in first_of:
                repeats[index] = first_of[keys[index]]
            elif index in held:
                first_of[keys[index]] = index
                results[index] = self._suppressed(alert, destination, held[index], stats)
            else:
                first_of[keys[index]] = index
                groups.setdefault(destination, []).append(index)
        for destination, indexes in groups.items():
            group = [pairs[i][0] for i in indexes]
            if self._is_storm(destination, group):
                outcomes = self._deliver_storm(destination, group, budget, stats)
            else:
                outcomes = [self._deliver_one(alert, destination, budget, stats) for alert in group]
            results.update(zip(indexes, outcomes, strict=True))
        self._update_thread_parents(budget, stats)
        self._sum_up_suppressed({i: held[i] for i in held if i in results}, pairs, budget, stats)
        for index, first in repeats.items():
            results[index] = _repeat_of(results[first], pairs[index][0])
        return [results[i] for i in range(len(pairs))]

    def notify(
        self,
        message: SlackMessage,
        destinations: Iterable[Destination],
        remaining_seconds: Callable[[], float],
    ) -> bool:
        """Post an operational notice (rule or decode errors) to the Slack destinations, paced.

        Returns whether at least one destination accepted it; a notice never fails a batch.
        """
        budget = Budget(remaining_seconds, self._reserve)
        accepted = False
        for destination in destinations:
            sender = self._senders.get(destination.kind)
            if destination.kind not in _SLACK_KINDS or sender is None:
                continue
            try:
                self._attempt(
                    destination,
                    budget,
                    DeliveryStats(),
                    lambda s=sender, d=destination: s.post(d.target, message),
                )
                accepted = True
            except DeliveryError as exc:
                log.warning(
                    "could not post notice", extra={"destination": destination.key, "reason": str(exc)}
                )
        return accepted

    def _delivered_before(self, keys: list[str], stats: DeliveryStats) -> set[str]:
        if not keys:
            return set()
        try:
            return self._ledger.delivered_among(keys)
        except Exception as exc:
            # Never lose an alert to a ledger outage: send, accepting a possible repeat.
            stats.ledger_errors += 1
            log.error(
                "delivery ledger unreadable; sending anyway", extra={"reason": f"{type(exc).__name__}: {exc}"}
            )
            return set()

    def _held_back(
        self, pairs: list[tuple[Alert, Destination]], candidates: list[int], stats: DeliveryStats
    ) -> dict[int, Suppression]:
        """The Slack deliveries among `candidates` that a live snooze or mute holds back."""
        if self._suppressions is None:
            return {}
        # Only deployments with a table get here: the others never import threads.py and dynamo.py.
        from processor.deliver.threads import similar_to, similarity_key

        similar: dict[int, str] = {}  # id(alert) -> similarity key: one per alert, not per destination
        wanted = {}
        for index in candidates:
            alert, destination = pairs[index]
            if destination.kind in _SLACK_KINDS:
                if id(alert) not in similar:
                    similar[id(alert)] = similarity_key(similar_to(alert))
                wanted[index] = similar[id(alert)]
        if not wanted:
            return {}
        try:
            live = self._suppressions.live(wanted.values())
        except Exception as exc:
            # Never lose an alert to the table: post it, as if nothing were snoozed.
            stats.suppression_errors += 1
            log.error(
                "suppressions unreadable; posting anyway", extra={"reason": f"{type(exc).__name__}: {exc}"}
            )
            return {}
        return {index: live[key] for index, key in wanted.items() if key in live}

    def _suppressed(
        self, alert: Alert, destination: Destination, suppression: Suppression, stats: DeliveryStats
    ) -> DeliveryOutcome:
        if stats.count_suppressed(alert):
            log.info(
                "alert suppressed",
                extra={"event_id": alert.event_id, "rule_id": alert.rule.id, "suppression": suppression.key},
            )
        try:  # a retried batch then sees it as handled, and does not count it again
            self._ledger.record(delivery_key(alert, destination))
        except Exception as exc:
            stats.ledger_errors += 1
            log.error("could not record suppression", extra={"reason": type(exc).__name__})
        detail = f"suppressed: {suppression.kind} by {suppression.by}"
        if suppression.until is not None:
            from processor.render.triage import utc

            detail += f" until {utc(suppression.until)}"
        return DeliveryOutcome(alert, destination, Status.SUPPRESSED, detail)

    def _sum_up_suppressed(
        self,
        held: dict[int, Suppression],
        pairs: list[tuple[Alert, Destination]],
        budget: Budget,
        stats: DeliveryStats,
    ) -> None:
        """Add this batch's held-back alerts to each suppression's count, and show it in its thread."""
        if not held or self._suppressions is None:
            return
        alerts: dict[str, set[int]] = {}
        for index, suppression in held.items():
            alerts.setdefault(suppression.key, set()).add(id(pairs[index][0]))
        sender: Any = self._senders.get(DestinationKind.SLACK_APP)

        def post_reply(channel: str, message: SlackMessage, thread_ts: str) -> str:
            if sender is None:
                raise Rejected("no Slack app sender")
            where = Destination(DestinationKind.SLACK_APP, channel)
            return self._attempt(where, budget, stats, lambda: sender.post(channel, message, thread_ts))

        def update(channel: str, ts: str, message: SlackMessage) -> None:
            if sender is None:
                raise Rejected("no Slack app sender")
            where = Destination(DestinationKind.SLACK_APP, channel)
            self._attempt(where, budget, stats, lambda: sender.update(channel, ts, message))

        self._suppressions.sum_up({key: len(ids) for key, ids in alerts.items()}, post_reply, update)

    def _is_storm(self, destination: Destination, group: Sequence[Alert]) -> bool:
        return (
            self._storm_threshold is not None
            and destination.kind in _SLACK_KINDS
            and len(group) > self._storm_threshold
        )

    def _deliver_one(
        self, alert: Alert, destination: Destination, budget: Budget, stats: DeliveryStats
    ) -> DeliveryOutcome:
        sender: Any = self._senders.get(destination.kind)
        if sender is None:
            return self._failed(alert, destination, f"no sender configured for {destination.kind.value}")
        try:
            if destination.kind is DestinationKind.SLACK_APP:
                detail = self._deliver_to_slack_app(alert, destination, sender, budget, stats)
            else:
                detail = self._attempt(destination, budget, stats, lambda: sender.send(alert, destination))
        except DeliveryError as exc:
            return self._failed(alert, destination, str(exc))
        except Exception as exc:  # the thread table failed before anything was posted
            return self._failed(alert, destination, f"{type(exc).__name__}: {exc}")
        self._record([alert], destination, stats)
        return DeliveryOutcome(alert, destination, Status.DELIVERED, detail)

    def _deliver_to_slack_app(
        self, alert: Alert, destination: Destination, sender: Any, budget: Budget, stats: DeliveryStats
    ) -> str:
        if alert.slack is None:
            raise Rejected("alert has no Slack message rendered")
        key = message_key(delivery_key(alert, destination))
        if self._buttons is not None:
            alert = dataclasses.replace(alert, slack=self._buttons.alert_with_buttons(alert, destination))

        def post(message: SlackMessage, thread_ts: str | None) -> str:
            return self._post(sender, destination, message, thread_ts, key, budget, stats)

        if self._threads is None:
            return post(alert.slack, None)
        detail = self._threads.deliver(alert, destination, post, budget)
        if detail.startswith("in thread"):
            stats.thread_replies += 1
        return detail

    def _deliver_storm(
        self, destination: Destination, alerts: Sequence[Alert], budget: Budget, stats: DeliveryStats
    ) -> list[DeliveryOutcome]:
        sender: Any = self._senders.get(destination.kind)
        if sender is None:
            reason = f"no sender configured for {destination.kind.value}"
            return [self._failed(a, destination, reason) for a in alerts]
        threaded = destination.kind is DestinationKind.SLACK_APP
        summary = storm_summary(alerts, threaded=threaded)
        keys = [delivery_key(alert, destination) for alert in alerts]
        try:
            key = message_key("storm summary", *keys)
            ts = self._with_text_fallback(
                lambda m: self._post(sender, destination, m, None, key, budget, stats), summary
            )
        except DeliveryError as exc:
            return [self._failed(a, destination, f"storm summary not posted: {exc}") for a in alerts]
        stats.storm_summaries += 1
        thread_ts = ts if threaded else None
        parts = chunks(alerts)
        outcomes: list[DeliveryOutcome] = []
        for number, part in enumerate(parts, start=1):
            digest = storm_digest(part, part=number, parts=len(parts))
            key = message_key("storm digest", *(delivery_key(alert, destination) for alert in part))
            try:
                self._with_text_fallback(
                    lambda m, k=key: self._post(sender, destination, m, thread_ts, k, budget, stats), digest
                )
            except DeliveryError as exc:
                outcomes += [self._failed(a, destination, f"storm digest {number}: {exc}") for a in part]
                continue
            self._record(part, destination, stats)
            stats.storm_collapsed += len(part)
            detail = f"in storm digest {number}/{len(parts)}"
            outcomes += [DeliveryOutcome(a, destination, Status.DELIVERED, detail) for a in part]
        return outcomes

    @staticmethod
    def _with_text_fallback(post: Callable[[SlackMessage], str], message: SlackMessage) -> str:
        """Post a storm message; if Slack refuses its blocks, post their text instead.

        A refused summary or digest would otherwise fail every alert of the storm on every retry.
        """
        try:
            return post(message)
        except ContentRejected as exc:
            log.warning(
                "Slack refused a storm message's blocks; posting it as text", extra={"reason": str(exc)}
            )
        return post(text_only(message))

    def _post(
        self,
        sender: Any,
        destination: Destination,
        message: SlackMessage,
        thread_ts: str | None,
        key: str,
        budget: Budget,
        stats: DeliveryStats,
    ) -> str:
        """Post a message to a Slack destination. Through the Slack app it carries `key` in its
        metadata, and a post whose outcome is unknown is looked for before it is sent again."""
        target = destination.target
        if destination.kind is not DestinationKind.SLACK_APP:
            return self._attempt(destination, budget, stats, lambda: sender.post(target, message, thread_ts))
        keyed = message._replace(key=key)
        return self._attempt(
            destination,
            budget,
            stats,
            lambda: sender.post(target, keyed, thread_ts),
            find_posted=lambda since: sender.find_posted(target, key, thread_ts, since),
        )

    def _attempt(
        self,
        destination: Destination,
        budget: Budget,
        stats: DeliveryStats,
        send: Callable[[], T],
        find_posted: Callable[[float], T | None] | None = None,
    ) -> T:
        """Pace, send, and retry within the budget; raise the last DeliveryError when giving up.

        `find_posted(since)` returns what `send` would have if an earlier attempt, started at wall
        time `since`, was accepted after all; it is asked after an attempt whose outcome is unknown,
        before the next attempt or before giving up, so the message is not posted twice.
        """
        attempt = 0
        since = self._timing.wall()
        while True:
            attempt += 1
            self._pace(destination, budget)
            try:
                return send()
            except DeliveryError as exc:
                if isinstance(exc, RateLimited):
                    stats.rate_limited += 1
                    if self._pacer is not None:
                        self._pacer.hold(destination.key, exc.retry_after or self._retry.default_retry_after)
                unknown = isinstance(exc, OutcomeUnknown) and find_posted is not None
                if unknown:
                    stats.outcome_unknown += 1
                delay = self._retry.delay(exc, attempt)
                if delay is None or not budget.can_wait(delay):
                    found = self._look_for(find_posted, since, budget, stats) if unknown else None
                    if found is not None:
                        return found
                    if delay is None:
                        raise
                    raise OutOfTime(f"{exc}; no time left to retry") from None
                stats.retries += 1
                paced = self._pacer is not None and destination.kind in _SLACK_KINDS
                if not (paced and isinstance(exc, RateLimited)):  # else _pace waits out the hold
                    self._timing.sleep(delay)
                found = self._look_for(find_posted, since, budget, stats) if unknown else None
                if found is not None:
                    return found

    def _look_for(
        self,
        find_posted: Callable[[float], T | None] | None,
        since: float,
        budget: Budget,
        stats: DeliveryStats,
    ) -> T | None:
        """What find_posted found, or None: also when there is no time to look or the lookup fails
        (a missing history scope, Slack down), in which case the send is retried as before."""
        if find_posted is None or not budget.can_send():
            return None
        try:
            found = find_posted(since)
        except DeliveryError as exc:
            log.warning("could not look for a post whose outcome is unknown", extra={"reason": str(exc)})
            return None
        if found is not None:
            stats.found_posted += 1
        return found

    def _pace(self, destination: Destination, budget: Budget) -> None:
        if not budget.can_send():
            raise OutOfTime("out of time before sending; will be retried")
        if self._pacer is None or destination.kind not in _SLACK_KINDS:
            return
        wait = self._pacer.wait_time(destination.key)
        if wait > 0:
            if not budget.can_wait(wait):
                raise OutOfTime("out of time waiting for the channel's rate limit; will be retried")
            self._timing.sleep(wait)
        self._pacer.take(destination.key)

    def _record(self, alerts: Sequence[Alert], destination: Destination, stats: DeliveryStats) -> None:
        for alert in alerts:
            if self._on_accepted is not None:
                self._on_accepted(alert, destination)
            try:
                self._ledger.record(delivery_key(alert, destination))
            except Exception as exc:  # delivered all the same; only a retry could now repeat it
                stats.ledger_errors += 1
                log.error(
                    "could not record delivery",
                    extra={
                        "event_id": alert.event_id,
                        "destination": destination.key,
                        "reason": type(exc).__name__,
                    },
                )

    def _update_thread_parents(self, budget: Budget, stats: DeliveryStats) -> None:
        if self._threads is None:
            return
        sender: Any = self._senders.get(DestinationKind.SLACK_APP)
        for update in self._threads.take_updates():
            try:
                self._attempt(
                    update.destination,
                    budget,
                    stats,
                    lambda u=update: sender.update(u.destination.target, u.ts, u.message),
                )
            except DeliveryError as exc:  # cosmetic; the next reply's update corrects the count
                stats.parent_updates_failed += 1
                log.warning("could not update thread parent", extra={"reason": str(exc)})

    @staticmethod
    def _failed(alert: Alert, destination: Destination, reason: str) -> DeliveryOutcome:
        log.warning(
            "delivery failed",
            extra={
                "event_id": alert.event_id,
                "item_id": alert.record.item_id,
                "destination": destination.key,
                "reason": reason,
            },
        )
        return DeliveryOutcome(alert, destination, Status.FAILED, reason)
