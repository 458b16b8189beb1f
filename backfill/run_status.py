"""`trailalert backfill status RUN_ID`: a run on Lambda, summed up from the runs table.

The summary is the local backfill's own (summary.py), so a run on Lambda reads like a local one:
objects processed and failed (with the reason: a dead-lettered object says so), events, alerts per
rule, deliveries. While objects are still to go, a progress line says how many of the total are
finished, the rate and an ETA, and the objects not finished yet that were retried are named with
their last error. The queue and dead-letter queue depths are shown when SQS answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from backfill.runs import DONE, FAILED, MANIFEST, RunsTable
from backfill.summary import Summary
from backfill.work import MAX_REASONS

MAX_PENDING_NAMED = 20
STALL_SECONDS = 300.0  # an empty queue and no result for this long: the run is stalled


@dataclass
class RunStatus:
    run: str
    summary: Summary
    listed: int | None  # None while the fan-out is still listing
    finished: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)  # objects without a result yet
    alerts: list[dict[str, Any]] = field(default_factory=list)
    alerts_not_listed: int = 0
    created_at: float = 0.0
    last_activity: float = 0.0  # the latest result or listing, for telling a stalled run
    queue_url: str = ""

    @property
    def complete(self) -> bool:
        return self.listed is not None and not self.pending

    def progress_line(self, now: float | None = None) -> str:
        elapsed = max((now or time.time()) - self.created_at, 1e-9)
        events = self.summary.counts.events
        rate = f"{events / elapsed:,.0f} events/s"
        if self.listed is None:
            return f"run {self.run}: still listing; {self.finished:,} objects finished, {events:,} events, {rate}"
        share = self.finished / max(self.listed, 1)
        eta = "-"
        if self.finished and not self.complete:
            seconds = round((self.listed - self.finished) * elapsed / self.finished)
            eta = f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        return (
            f"run {self.run}: {self.finished:,}/{self.listed:,} objects finished ({share:.0%}), "
            f"{events:,} events, {rate}, ETA {eta}"
        )


def load_status(runs: RunsTable, run: str) -> RunStatus | None:
    """None when the table has no such run."""
    items = runs.items(run)
    manifest = next(items, None)
    if manifest is None or manifest.get("object") != MANIFEST:
        return None
    summary = Summary(mode="send" if manifest.get("send") else "dry-run", workers=0, place="on Lambda")
    complete_listing = bool(manifest.get("listing_complete"))
    status = RunStatus(
        run,
        summary,
        int(manifest.get("listed", 0)) if complete_listing else None,
        created_at=float(manifest.get("created_at", time.time())),
        queue_url=str(manifest.get("queue_url", "")),
    )
    summary.skipped_digests = int(manifest.get("skipped_digests", 0))
    summary.skipped_filtered = int(manifest.get("skipped_filtered", 0))
    summary.skipped_not_logs = int(manifest.get("skipped_not_logs", 0))
    summary.objects_failed.extend((source, reason) for source, reason in manifest.get("listing_failures", ()))
    summary.notes.extend(manifest.get("notes", ()))
    last = status.created_at
    rules: set[str] = set()
    for item in items:
        if item.get("status") in (DONE, FAILED):
            status.finished += 1
            last = max(last, float(item.get("finished_at", last)))
            _add_result(status, item)
            if item.get("rules"):
                rules.add(item["rules"])
        else:
            status.pending.append(item)
    summary.seconds = last - status.created_at
    status.last_activity = max(last, status.created_at + float(manifest.get("fanout_seconds", 0)))
    summary.running = not status.complete
    if len(rules) > 1:
        summary.notes.append(
            f"objects were read with {len(rules)} different rule sets (the function was redeployed during the run)"
        )
    if status.pending:
        retried = sum(1 for item in status.pending if item.get("attempts"))
        summary.notes.append(
            f"{len(status.pending):,} object(s) not finished yet ({retried:,} retried so far)"
        )
    if status.alerts_not_listed:
        summary.notes.append(
            f"{status.alerts_not_listed:,} alert(s) counted but not listed (at most 100 are kept per object)"
        )
    return status


def _add_result(status: RunStatus, item: dict[str, Any]) -> None:
    s = status.summary
    url = str(item.get("url", item.get("object")))
    if item.get("status") == FAILED:
        s.objects_failed.append((url, str(item.get("error") or "failed")))
    else:
        s.objects_done += 1
    c = s.counts
    for name in (
        "events",
        "outside_window",
        "ignored",
        "unmatched",
        "undecodable",
        "rule_errors",
        "unrouted",
        "alerts",
    ):
        setattr(c, name, getattr(c, name) + int(item.get(name, 0)))
    c.per_rule.update({rule: int(n) for rule, n in item.get("per_rule", {}).items()})
    s.delivered += int(item.get("delivered", 0))
    s.duplicates += int(item.get("duplicates", 0))
    s.suppressed += int(item.get("suppressed", 0))
    s.delivery_failed += int(item.get("delivery_failed", 0))
    for reason in item.get("undecodable_examples", ()):
        if len(s.undecodable_examples) < MAX_REASONS:
            s.undecodable_examples.append(reason)
    for reason in item.get("rule_error_examples", ()):
        if len(s.rule_error_examples) < MAX_REASONS:
            s.rule_error_examples.append(reason)
    listed = item.get("alert_list", [])
    status.alerts_not_listed += max(int(item.get("alerts", 0)) - len(listed), 0)
    for entry in listed:
        index = entry.pop("index", 0)
        status.alerts.append({**entry, "source": {"object": url, "index": index}})


def pending_lines(status: RunStatus) -> list[str]:
    """The objects still to go that were retried, with their last error (the others are just waiting)."""
    retried = [item for item in status.pending if item.get("attempts")]
    lines = [
        f"  retrying {item.get('url', item.get('object'))} ({int(item['attempts'])} attempt(s)): "
        f"{item.get('last_error', '')}"
        for item in retried[:MAX_PENDING_NAMED]
    ]
    if len(retried) > MAX_PENDING_NAMED:
        lines.append(f"  ... and {len(retried) - MAX_PENDING_NAMED:,} more retried")
    return lines


def stalled(status: RunStatus, sqs: Any, now: float | None = None) -> bool:
    """Objects without a result, an empty queue and nothing finished for STALL_SECONDS: their
    messages went to the dead-letter queue without a result (a worker that died on the last
    receive) or were lost. Nothing will finish them until the messages are moved back."""
    if status.complete or status.listed is None or not status.queue_url:
        return False
    if (now or time.time()) - status.last_activity < STALL_SECONDS:
        return False
    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=status.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    except Exception:  # not known: not stalled as far as we can tell
        return False
    return (
        int(attributes["ApproximateNumberOfMessages"])
        + int(attributes["ApproximateNumberOfMessagesNotVisible"])
        == 0
    )


def stalled_lines(status: RunStatus) -> list[str]:
    lines = [
        f"  no result for {item.get('url', item.get('object'))}"
        + (
            f" ({int(item['attempts'])} attempt(s)): {item.get('last_error', '')}"
            if item.get("attempts")
            else ""
        )
        for item in status.pending[:MAX_PENDING_NAMED]
    ]
    if len(status.pending) > MAX_PENDING_NAMED:
        lines.append(f"  ... and {len(status.pending) - MAX_PENDING_NAMED:,} more")
    return lines


def queue_lines(sqs: Any, queue_url: str) -> list[str]:
    """Messages waiting and in flight in the queue and its dead-letter queue, when SQS answers."""
    if not queue_url:
        return []
    try:
        lines = [_depth(sqs, queue_url, "queue")]
        policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
        redrive = policy.get("Attributes", {}).get("RedrivePolicy")
        if redrive:
            import json

            name = json.loads(redrive)["deadLetterTargetArn"].rsplit(":", 1)[-1]
            lines.append(_depth(sqs, sqs.get_queue_url(QueueName=name)["QueueUrl"], "dead-letter queue"))
        return lines
    except Exception as exc:  # no sqs:GetQueueAttributes, or the queue is gone: the rest still stands
        return [f"  queue: not known ({type(exc).__name__}: {exc})"]


def _depth(sqs: Any, url: str, label: str) -> str:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return (
        f"  {label}: {int(attributes['ApproximateNumberOfMessages']):,} message(s) waiting, "
        f"{int(attributes['ApproximateNumberOfMessagesNotVisible']):,} in flight (all runs)"
    )
