"""The CPU work of one object: chunks in, batches of alerts and counts out, through the shared core.

The same code runs in the CLI's process (`--workers 1`) and in worker processes; it does no I/O
besides consuming chunks, so its results are identical wherever it runs. Records go through
`processor.pipeline.evaluate` (match, route, render) in batches, which keeps memory bounded while
a huge file streams by.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from backfill.config import PreviewRouter
from backfill.errors import ObjectUnreadable
from backfill.output import alert_line
from backfill.window import EventFilter
from processor.errors import DecodeError
from processor.fastpath import FastPath, decode_mode
from processor.logfiles import Counted, LogFileReader
from processor.models import Alert, Record, RuleFailure
from processor.pipeline import Router, Rules, evaluate
from processor.settings import Settings

BATCH_RECORDS = 2000
MAX_REASONS = 5  # undecodable elements and rule errors named per object; the rest are counted


@dataclass
class Counts:
    """What happened to the events of one batch (or, summed, of a whole run)."""

    events: int = 0
    outside_window: int = 0
    ignored: int = 0
    unmatched: int = 0
    undecodable: int = 0
    rule_errors: int = 0
    unrouted: int = 0
    alerts: int = 0
    per_rule: Counter[str] = field(default_factory=Counter)

    def add(self, other: Counts) -> None:
        for name in ("events", "outside_window", "ignored", "unmatched", "undecodable"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rule_errors += other.rule_errors
        self.unrouted += other.unrouted
        self.alerts += other.alerts
        self.per_rule.update(other.per_rule)


@dataclass(frozen=True)
class Batch:
    """Part of one object's results. The last batch of an object has `done`, and `error` when the
    object could not be read to its end (its earlier batches still count: those events were real)."""

    url: str
    alerts: tuple[Alert, ...]
    counts: Counts
    rule_failures: tuple[RuleFailure, ...] = ()
    reasons: tuple[str, ...] = ()
    done: bool = False
    error: str | None = None
    lines: tuple[str, ...] = ()  # a dry run's output, rendered where the alerts were made


class ObjectEvaluator:
    """Rules and router are built once per process; `run` is called once per object."""

    def __init__(
        self,
        rules: Rules,
        router: Router,
        in_window: EventFilter,
        *,
        as_lines: bool,
        fast: FastPath | None = None,
    ) -> None:
        self._rules = rules
        self._router = router
        self._in_window = in_window
        self._as_lines = as_lines
        self._fast = fast  # the records no rule can match are only counted (processor/fastpath.py)

    def run(self, url: str, chunks: Iterable[bytes]) -> Iterator[Batch]:
        """The object's batches; the last one has `done` (and `error` if it broke off: the
        records read before that point are evaluated all the same)."""
        bounded = self._in_window.start is not None or self._in_window.end is not None
        reader = LogFileReader(url, fast=self._fast, in_window=self._in_window if bounded else None)
        records = reader.records(chunks)
        seen = _Seen()
        error: str | None = None
        while True:
            batch: list[Record] = []
            try:
                _fill(batch, records, reader)
            except DecodeError as exc:
                error = str(exc)
            except ObjectUnreadable as exc:  # the download or file read failed or broke off
                error = f"could not be read: {exc}"
            if batch or reader.counted.total > seen.counted.total:
                yield self._evaluate(url, batch, reader, seen)
            if error is not None or not batch:
                break
        counts = Counts()
        self._add_reader_counts(counts, reader, seen)
        reasons = tuple(f.reason for f in reader.failures[:MAX_REASONS])
        yield Batch(url, (), counts, reasons=reasons, done=True, error=error)

    def _evaluate(self, url: str, records: list[Record], reader: LogFileReader, seen: _Seen) -> Batch:
        kept = [record for record in records if self._in_window(record.event)]
        evaluation = evaluate(kept, self._rules, self._router)
        counts = Counts(
            events=len(records),
            outside_window=len(records) - len(kept),
            ignored=evaluation.ignored,
            unmatched=evaluation.unmatched,
            rule_errors=len(evaluation.rule_failures),
            unrouted=len(evaluation.unrouted),
            alerts=len(evaluation.alerts),
            per_rule=evaluation.alerts_per_rule,
        )
        self._add_reader_counts(counts, reader, seen)
        if self._as_lines:  # a dry run: workers format, so the parent only writes (nothing is pickled twice)
            lines = tuple(alert_line(alert) for alert in evaluation.alerts)
            return Batch(url, (), counts, evaluation.rule_failures[:MAX_REASONS], lines=lines)
        return Batch(url, evaluation.alerts, counts, evaluation.rule_failures[:MAX_REASONS])

    @staticmethod
    def _add_reader_counts(counts: Counts, reader: LogFileReader, seen: _Seen) -> None:
        """What the reader reported since the last batch: undecodable elements, and the records
        the fast path counted instead of returning."""
        counts.undecodable += len(reader.failures) - seen.failures
        seen.failures = len(reader.failures)
        now, before = reader.counted, seen.counted
        unmatched, outside, ignored = (
            now.unmatched - before.unmatched,
            now.outside - before.outside,
            now.ignored - before.ignored,
        )
        counts.events += unmatched + outside + ignored
        counts.unmatched += unmatched
        counts.outside_window += outside
        counts.ignored += ignored
        seen.counted = Counted(now.unmatched, now.ignored, now.outside)


@dataclass
class _Seen:
    """What the reader had reported when the last batch was made."""

    failures: int = 0
    counted: Counted = field(default_factory=Counted)


def _fill(batch: list[Record], records: Iterator[Record], reader: LogFileReader) -> None:
    """Add up to BATCH_RECORDS records to `batch`, ending early once as many were read, counted
    ones included (most records are only counted: a batch of 2,000 kept records could span
    30,000 read, delaying progress and the state file as long). Records added before an error
    stay in `batch`: they were real and are evaluated."""
    start = reader.counted.total
    for record in records:
        batch.append(record)
        if len(batch) + reader.counted.total - start >= BATCH_RECORDS:
            return


def build_evaluator(
    settings: Settings, preview: bool, in_window: EventFilter, *, send: bool
) -> ObjectEvaluator:
    """What each process builds once: the same rules and router the Lambda builds from Settings."""
    from processor.app import build_rules

    router = PreviewRouter(settings) if preview else Router(settings)
    rules = build_rules(settings)
    fast, _ = decode_mode(rules, settings.decode)
    return ObjectEvaluator(rules, router, in_window, as_lines=not send, fast=fast)
