"""The end-of-run summary: stderr for people, `--summary-json` for scripts. Every object and every
event ends up in exactly one of its counters, so nothing is lost without a number saying so."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backfill.work import Counts

MAX_NAMED = 20  # unreadable entries skipped, listed by name on stderr; all are counted and in the JSON


@dataclass
class Summary:
    mode: str  # "dry-run", "preview" (dry run without destinations) or "send"
    workers: int
    objects_done: int = 0
    objects_failed: list[tuple[str, str]] = field(default_factory=list)
    skipped_finished: int = 0
    skipped_digests: int = 0
    skipped_filtered: int = 0
    skipped_not_logs: int = 0
    skipped_unreadable: list[tuple[str, str]] = field(default_factory=list)  # not regular files, loops
    counts: Counts = field(default_factory=Counts)
    undecodable_examples: list[str] = field(default_factory=list)
    rule_error_examples: list[str] = field(default_factory=list)
    delivered: int = 0
    duplicates: int = 0
    suppressed: int = 0  # held back by a snooze or mute from Slack (docs/slack.md)
    sent_before_resume: int = 0
    delivery_failures: list[str] = field(default_factory=list)
    delivery_failed: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    bytes_read: int = 0
    running: bool = False  # a run on Lambda with objects still to go (`backfill status`)
    place: str = ""  # where it ran, when not in worker processes here ("on Lambda")

    @property
    def ok(self) -> bool:
        return not self.objects_failed and not self.delivery_failed and not self.interrupted

    def nothing_read(self) -> str | None:
        """Why no object was read, or None if one was (or every one was finished before, per --state)."""
        if self.objects_done or self.objects_failed or self.skipped_finished or self.interrupted:
            return None
        found = (
            (self.skipped_not_logs, "file(s) not named like a CloudTrail log file (*.json.gz, *.json)"),
            (self.skipped_digests, "digest file(s), which hold no events"),
            (self.skipped_filtered, "log file(s) outside --start/--end/--account/--region"),
            (len(self.skipped_unreadable), "entries that are not readable files"),
        )
        parts = [f"{count:,} {what}" for count, what in found if count]
        return "found only " + ", ".join(parts) if parts else "found no file at all"

    def to_json(self) -> dict[str, Any]:
        counts = self.counts
        return {
            "mode": self.mode,
            "workers": self.workers,
            "interrupted": self.interrupted,
            "objects": {
                "processed": self.objects_done,
                "failed": [{"object": url, "reason": reason} for url, reason in self.objects_failed],
                "skipped_finished_before": self.skipped_finished,
                "skipped_digest": self.skipped_digests,
                "skipped_outside_filters": self.skipped_filtered,
                "skipped_not_log_files": self.skipped_not_logs,
                "skipped_unreadable": [
                    {"object": url, "reason": reason} for url, reason in self.skipped_unreadable
                ],
            },
            "events": {
                "read": counts.events,
                "outside_window": counts.outside_window,
                "ignored": counts.ignored,
                "unmatched": counts.unmatched,
                "undecodable": counts.undecodable,
                "rule_errors": counts.rule_errors,
                "unrouted": counts.unrouted,
            },
            "alerts": {"total": counts.alerts, "per_rule": dict(sorted(counts.per_rule.items()))},
            "deliveries": {
                "delivered": self.delivered,
                "duplicate": self.duplicates,
                "suppressed": self.suppressed,
                "sent_before_resume": self.sent_before_resume,
                "failed": self.delivery_failed,
            },
            "examples": {
                "undecodable": self.undecodable_examples,
                "rule_errors": self.rule_error_examples,
                "delivery_failures": self.delivery_failures,
            },
            "nothing_read": self.nothing_read(),
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(counts.events / self.seconds) if self.seconds > 0 else None,
        }

    def lines(self) -> list[str]:
        c = self.counts
        rate = f"{c.events / self.seconds:,.0f} events/s" if self.seconds > 0 else "-"
        state = "interrupted" if self.interrupted else ("running" if self.running else "done")
        where = self.place or f"{self.workers} worker(s)"
        out = [
            f"backfill {state} ({self.mode}, {where}) in {self.seconds:.1f}s, {rate}",
            f"  objects: {self.objects_done:,} processed, {len(self.objects_failed):,} failed, "
            f"{self.skipped_finished:,} finished before (state), {self.skipped_digests:,} digests skipped, "
            f"{self.skipped_filtered:,} outside the filters, {self.skipped_not_logs:,} not log files, "
            f"{len(self.skipped_unreadable):,} unreadable entries skipped",
            f"  events: {c.events:,} read, {c.outside_window:,} outside the time window, "
            f"{c.ignored:,} ignored, {c.unmatched:,} unmatched, {c.undecodable:,} undecodable, "
            f"{c.rule_errors:,} rule errors",
            f"  alerts: {c.alerts:,}"
            + "".join(f"\n    {rule}: {n:,}" for rule, n in sorted(c.per_rule.items())),
        ]
        if self.mode == "send":
            out.append(
                f"  deliveries: {self.delivered:,} delivered, {self.duplicates:,} duplicates not sent, "
                f"{self.suppressed:,} suppressed (snoozed or muted), "
                f"{self.sent_before_resume:,} sent before the resume, {self.delivery_failed:,} failed"
            )
            out.extend(f"    failed: {reason}" for reason in self.delivery_failures)
        out.extend(f"  could not read {url}: {reason}" for url, reason in self.objects_failed)
        out.extend(f"  skipped {url}: {reason}" for url, reason in self.skipped_unreadable[:MAX_NAMED])
        if len(self.skipped_unreadable) > MAX_NAMED:
            out.append(f"  skipped {len(self.skipped_unreadable) - MAX_NAMED:,} more (see --summary-json)")
        out.extend(f"  undecodable: {reason}" for reason in self.undecodable_examples)
        out.extend(f"  rule error: {reason}" for reason in self.rule_error_examples)
        out.extend(f"  note: {note}" for note in self.notes)
        return out
