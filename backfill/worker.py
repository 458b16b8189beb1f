"""The backfill worker Lambda, `backfill.worker.handler`: the backfill queue's messages in, results out.

Each message names up to ten objects of one run (backfill/fanout.py). Each object is streamed
through the local backfill's own reader and core (ObjectEvaluator, backfill/work.py) with the
function's rules and routing (processor.app, built once per container), and its result (counts,
alerts, reasons) is written to the runs table (backfill/runs.py), where `trailalert backfill status`
sums it up. With --send, the alerts of every object of the invocation go to the Dispatcher in one
call (storm collapse spans the invocation), through the delivery ledger: a message delivered twice
posts nothing twice.

What happens to an object:
- already `done` in the runs table (a redelivered message): skipped; counted once;
- read to its end: `done`, with its counts;
- not a log file, or damaged (retrying cannot mend it): `failed` with the reason, as locally;
- an S3 error, a failed delivery, no time left: retried. Its message is reported to SQS as a
  batch item failure and comes back after the visibility timeout; the objects of it that were
  done are skipped then. On the message's last receive (BACKFILL_MAX_RECEIVE_COUNT, the queue's
  maxReceiveCount) the object is recorded `failed` ("given up after N attempts") before the
  message goes to the dead-letter queue: reported, never lost.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from backfill.fanout import Work, parse_message
from backfill.fetch import Prefetcher
from backfill.runs import DONE, FAILED, RunsTable
from backfill.s3listing import DEFAULT_TIMEOUT_SECONDS, client_config
from backfill.sources import ObjectRef, open_chunks
from backfill.state import run_configuration
from backfill.window import TimeWindow
from backfill.work import MAX_REASONS, Counts, ObjectEvaluator
from processor.app import App, get_app
from processor.deliver.timing import remaining_seconds
from processor.errors import ConfigError
from processor.models import Alert, Status

log = logging.getLogger("trailalert")

RUNS_TABLE_ENV = "BACKFILL_TABLE_NAME"
MAX_RECEIVES_ENV = "BACKFILL_MAX_RECEIVE_COUNT"
DEFAULT_MAX_RECEIVES = 3
DOWNLOAD_THREADS = 32  # objects downloading ahead of the one being read (docs/scale.md: S3 latency)
RESERVE_SECONDS = 30.0  # an object is not started with less time left: its message is retried
MAX_ALERTS_LISTED = 100  # per object, in its item (DynamoDB items hold 400 KB); all are counted
MAX_FIELD = 256  # characters of an event's field kept in an alert's entry
MAX_REASON = 1000  # characters of a reason (an error, an example) kept in an item


@dataclass
class ObjectOutcome:
    ref: ObjectRef
    send: bool
    window: TimeWindow = field(default_factory=TimeWindow)
    counts: Counts = field(default_factory=Counts)
    alerts: list[Alert] = field(default_factory=list)
    undecodable: list[str] = field(default_factory=list)
    rule_errors: list[str] = field(default_factory=list)
    rule_failures: list[Any] = field(default_factory=list)
    error: str | None = None  # cannot be read, for good: recorded as failed
    retry: str | None = None  # worth another attempt
    deliveries: Counter[str] = field(default_factory=Counter)


class Worker:
    """Built once per container; `handle` once per invocation."""

    def __init__(self, app: App, runs: RunsTable, s3: Any, *, max_receives: int) -> None:
        self._app = app
        self._runs = runs
        self._s3 = s3
        self._max_receives = max_receives
        self._rules = run_configuration(app.rules, TimeWindow(), frozenset(), frozenset(), send=False)[
            "rules"
        ]

    def handle(self, event: dict[str, Any], remaining: Callable[[], float]) -> dict[str, Any]:
        """`{"batchItemFailures": [...]}`: the messages with an object to retry."""
        failed: list[str] = []
        pending: list[tuple[str, int, Work, list[ObjectOutcome], dict[str, dict[str, Any]]]] = []
        counts: Counter[str] = Counter()
        for record in event.get("Records", ()):
            message_id = str(record.get("messageId", ""))
            try:
                work = parse_message(str(record.get("body", "")))
                states = self._runs.states(work.run, [ref.url for ref in work.objects])
            except Exception as exc:  # a bad message, or no runs table: retried, then dead-lettered
                log.error(
                    "backfill message not processed", extra={"message_id": message_id, "reason": _text(exc)}
                )
                failed.append(message_id)
                continue
            outcomes = []
            for ref in work.objects:
                if states.get(ref.url, {}).get("status") == DONE:  # a redelivered message: counted once
                    counts["skipped_done"] += 1
                else:
                    outcomes.append(ObjectOutcome(ref, work.send, work.window))
            pending.append((message_id, _receives(record), work, outcomes, states))
        self._read_all([o for entry in pending for o in entry[3]], remaining)
        self._deliver([o for entry in pending for o in entry[3]], remaining)
        results: list[tuple[str, str, dict[str, Any]]] = []
        for message_id, receives, work, outcomes, states in pending:
            try:
                results += self._results(work.run, outcomes, states, receives, counts)
            except Exception as exc:  # an attempt could not be recorded: retried all the same
                log.error(
                    "backfill attempt not recorded", extra={"message_id": message_id, "reason": _text(exc)}
                )
            if any(o.retry is not None for o in outcomes):
                failed.append(message_id)
        try:
            self._runs.put_results(results)
        except Exception as exc:  # the results are not recorded: every message is tried again
            log.error("backfill results not recorded", extra={"reason": _text(exc)})
            failed += [entry[0] for entry in pending]
        log.info("backfill batch processed", extra={**counts, "messages_to_retry": len(failed)})
        return {"batchItemFailures": [{"itemIdentifier": item} for item in dict.fromkeys(failed)]}

    def _read_all(self, outcomes: list[ObjectOutcome], remaining: Callable[[], float]) -> None:
        """Reads the objects in order, DOWNLOAD_THREADS downloads ahead (the local backfill's
        Prefetcher): a GET's latency is hidden behind the CPU work of the objects before it. An
        object not started while RESERVE_SECONDS were left is retried."""
        waiting: dict[ObjectRef, list[ObjectOutcome]] = {}
        for outcome in outcomes:
            waiting.setdefault(outcome.ref, []).append(outcome)
        download_failed: set[str] = set()

        def refs() -> Iterator[ObjectRef]:
            for outcome in outcomes:
                if remaining() < RESERVE_SECONDS:
                    return
                yield outcome.ref

        def opener(ref: ObjectRef) -> Iterator[bytes]:
            return self._chunks(ref, download_failed)

        prefetcher = Prefetcher(refs(), opener, threads=DOWNLOAD_THREADS)
        try:
            for ref, stream in prefetcher:
                outcome = waiting[ref].pop(0)
                try:
                    self._evaluate(outcome, stream, download_failed)
                finally:
                    stream.close()
        finally:
            prefetcher.close()
        for left in waiting.values():
            for outcome in left:
                outcome.retry = "no time left in the invocation"

    def _evaluate(self, outcome: ObjectOutcome, chunks: Iterable[bytes], download_failed: set[str]) -> None:
        url = outcome.ref.url
        evaluator = ObjectEvaluator(
            self._app.rules,
            self._app.router,
            outcome.window.event_filter(),
            as_lines=False,
            fast=self._app.fast,
        )
        for batch in evaluator.run(url, chunks):
            outcome.counts.add(batch.counts)
            outcome.alerts.extend(batch.alerts)
            outcome.rule_failures.extend(batch.rule_failures)
            for failure in batch.rule_failures:
                if len(outcome.rule_errors) < MAX_REASONS:
                    outcome.rule_errors.append(
                        f"{failure.rule.id}: {failure.error} (event {failure.event_id})"
                    )
            outcome.undecodable.extend(f"{url}: {reason}" for reason in batch.reasons)
            if batch.error is not None:
                if url in download_failed:  # S3 said no, or broke off: another attempt may succeed
                    outcome.retry = batch.error
                else:  # not a log file, or damaged: reported, as a local run reports it
                    outcome.error = batch.error

    def _chunks(self, ref: ObjectRef, download_failed: set[str]) -> Iterator[bytes]:
        try:
            yield from open_chunks(ref, self._s3)
        except Exception:  # botocore: access denied, no such key, a timeout... (the Prefetcher names it)
            download_failed.add(ref.url)
            raise

    def _deliver(self, outcomes: list[ObjectOutcome], remaining: Callable[[], float]) -> None:
        """Every alert of the invocation's --send objects in one Dispatcher call, through the ledger."""
        sending = [o for o in outcomes if o.send and o.retry is None]
        by_url = {o.ref.url: o for o in sending}
        for outcome in sending:
            if outcome.rule_failures:
                self._app.error_reporter.report(tuple(outcome.rule_failures), "backfill", remaining)
        alerts = [alert for o in sending for alert in o.alerts]
        if not alerts:
            return
        for result in self._app.dispatcher.deliver(alerts, remaining):
            outcome = by_url[result.alert.record.item_id]
            outcome.deliveries[result.status.value] += 1
            if result.status is Status.FAILED and outcome.retry is None:
                outcome.retry = f"delivery failed: {result.destination.key}: {result.detail}"

    def _results(
        self,
        run: str,
        outcomes: list[ObjectOutcome],
        states: dict[str, dict[str, Any]],
        receives: int,
        counts: Counter[str],
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """The items to write for a message's objects; an object to retry is recorded as an attempt,
        or, on the message's last receive, as given up (its message then goes to the dead-letter queue)."""
        results = []
        for outcome in outcomes:
            url = outcome.ref.url
            attempts = int(states.get(url, {}).get("attempts", 0)) + 1
            if outcome.retry is None:
                results.append((run, url, {**self._result(outcome), "attempts": attempts}))
                counts["failed" if outcome.error else "done"] += 1
                continue
            log.warning("backfill object to retry", extra={"object": url, "reason": outcome.retry})
            if receives >= self._max_receives:
                reason = (
                    f"given up after {receives} attempt(s), its message goes to the dead-letter queue: "
                    f"{outcome.retry}"
                )
                failed = {
                    "status": FAILED,
                    "error": _cut(reason, MAX_REASON),
                    "gave_up": True,
                    "attempts": attempts,
                }
                results.append((run, url, failed))
                counts["given_up"] += 1
            else:
                self._runs.record_attempt_failed(run, url, _cut(outcome.retry, MAX_REASON))
                counts["to_retry"] += 1
        return results

    def _result(self, outcome: ObjectOutcome) -> dict[str, Any]:
        c = outcome.counts
        deliveries = outcome.deliveries
        return {
            "status": FAILED if outcome.error else DONE,
            "error": _cut(outcome.error, MAX_REASON) if outcome.error else None,
            "events": c.events,
            "outside_window": c.outside_window,
            "ignored": c.ignored,
            "unmatched": c.unmatched,
            "undecodable": c.undecodable,
            "rule_errors": c.rule_errors,
            "unrouted": c.unrouted,
            "alerts": c.alerts,
            "per_rule": dict(c.per_rule),
            "alert_list": [_alert_entry(alert) for alert in outcome.alerts[:MAX_ALERTS_LISTED]],
            "undecodable_examples": [
                _cut(reason, MAX_REASON) for reason in outcome.undecodable[:MAX_REASONS]
            ],
            "rule_error_examples": [_cut(reason, MAX_REASON) for reason in outcome.rule_errors],
            "delivered": deliveries[Status.DELIVERED.value],
            "duplicates": deliveries[Status.DUPLICATE.value],
            "suppressed": deliveries[Status.SUPPRESSED.value],
            "delivery_failed": deliveries[Status.FAILED.value],
            "rules": self._rules,
            "send": outcome.send,
        }


def _alert_entry(alert: Alert) -> dict[str, Any]:
    """What `status --alerts` prints: the fields of a local dry run's line but the payloads. Event
    fields are the attacker's: each is cut to MAX_FIELD, so an item stays within DynamoDB's 400 KB."""
    event = alert.record.event
    return {
        "eventID": _cut(alert.event_id),
        "eventName": _cut(event.get("eventName", "")),
        "eventTime": _cut(event.get("eventTime", "")),
        "account": _cut(alert.account_id),
        "rule": alert.rule.id,
        "severity": alert.rule.severity,
        "index": alert.record.index,
    }


def _cut(value: Any, limit: int = 0) -> str:
    text = str(value)
    limit = limit or MAX_FIELD
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _receives(record: dict[str, Any]) -> int:
    try:
        return int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        return 1


# --- The Lambda entry point: one Worker per container -------------------------------------------

_worker: Worker | None = None


def get_worker() -> Worker:
    global _worker
    if _worker is None:
        import boto3

        table = os.environ.get(RUNS_TABLE_ENV, "")
        if not table:
            raise ConfigError(RUNS_TABLE_ENV, "the runs table's name is needed (the stack sets it)")
        try:
            max_receives = int(os.environ.get(MAX_RECEIVES_ENV, DEFAULT_MAX_RECEIVES))
        except ValueError:
            raise ConfigError(
                MAX_RECEIVES_ENV, "must be a whole number (the queue's maxReceiveCount)"
            ) from None
        s3 = boto3.client("s3", config=client_config(DOWNLOAD_THREADS, DEFAULT_TIMEOUT_SECONDS))
        _worker = Worker(get_app(), RunsTable.named(table), s3, max_receives=max_receives)
    return _worker


def reset() -> None:
    """Forget the cached Worker (tests change the environment between runs)."""
    global _worker
    _worker = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return get_worker().handle(event, remaining_seconds(context))
