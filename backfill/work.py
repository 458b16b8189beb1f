"""The CPU work of one object: chunks in, batches of alerts and counts out, through the shared core.

The same code runs in the CLI's process (`--workers 1`) and in worker processes; it does no I/O
besides consuming chunks, so its results are identical wherever it runs. Records go through
`processor.pipeline.evaluate` (match, route, render) in batches, which keeps memory bounded while
a huge file streams by.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING

from backfill.config import PreviewRouter
from backfill.errors import ObjectUnreadable
from backfill.output import alert_line
from backfill.window import EventFilter
from processor.errors import DecodeError
from processor.logfiles import LogFileReader
from processor.models import Alert, Record, RuleFailure
from processor.partial.mode import decode_mode
from processor.pipeline import Rules, evaluate
from processor.routing import Router
from processor.settings import Settings

if TYPE_CHECKING:
    from processor.partial.phases import Phases
    from processor.partial.skip import Skipper

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
        phases: Phases | None = None,
    ) -> None:
        self._rules = rules
        self._router = router
        self._in_window = in_window
        self._as_lines = as_lines
        self._phases = phases  # two-phase decoding (processor.partial), when exact for these rules
        self._skipper: Skipper | None = None
        if phases is not None and type(in_window) is EventFilter:  # it reads eventTime only
            from processor.partial.skip import Skipper

            self._skipper = Skipper(phases, _time_filter(in_window))

    def run(self, url: str, chunks: Iterable[bytes]) -> Iterator[Batch]:
        reader = LogFileReader(url, phases=self._phases, skipper=self._skipper)
        records = reader.records(chunks)
        reported = 0
        skipped = [0, 0, 0]  # what the reader counted instead of returning, up to the last batch
        try:
            while (batch := _next_batch(records, reader)) or _counted(reader, skipped):
                result = self._evaluate(url, batch)
                reported = self._add_decode_failures(result, reader, reported)
                self._add_skipped(result.counts, reader, skipped)
                yield result
        except DecodeError as exc:
            yield self._final(url, reader, reported, skipped, error=str(exc))
            return
        except ObjectUnreadable as exc:  # the download or file read failed or broke off
            yield self._final(url, reader, reported, skipped, error=f"could not be read: {exc}")
            return
        yield self._final(url, reader, reported, skipped, error=None)

    def _evaluate(self, url: str, records: list[Record]) -> Batch:
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
        if (
            self._as_lines
        ):  # a dry run: workers format, so the parent only writes (and nothing is pickled twice)
            lines = tuple(alert_line(alert) for alert in evaluation.alerts)
            return Batch(url, (), counts, evaluation.rule_failures[:MAX_REASONS], lines=lines)
        return Batch(url, evaluation.alerts, counts, evaluation.rule_failures[:MAX_REASONS])

    @staticmethod
    def _add_decode_failures(batch: Batch, reader: LogFileReader, reported: int) -> int:
        new = reader.failures[reported:]
        batch.counts.undecodable += len(new)
        return reported + len(new)

    @staticmethod
    def _add_skipped(counts: Counts, reader: LogFileReader, skipped: list[int]) -> None:
        """Records the reader counted instead of returning (no rule can match them, or an ignore
        rule is known to) since the last batch."""
        now = [reader.skipped_unmatched, reader.skipped_outside, reader.skipped_ignored]
        new_unmatched, new_outside, new_ignored = (n - before for n, before in zip(now, skipped, strict=True))
        counts.events += new_unmatched + new_outside + new_ignored
        counts.unmatched += new_unmatched
        counts.outside_window += new_outside
        counts.ignored += new_ignored
        skipped[:] = now

    def _final(
        self, url: str, reader: LogFileReader, reported: int, skipped: list[int], *, error: str | None
    ) -> Batch:
        counts = Counts()
        counts.undecodable = len(reader.failures) - reported
        self._add_skipped(counts, reader, skipped)
        reasons = tuple(f.reason for f in reader.failures[:MAX_REASONS])
        return Batch(url, (), counts, reasons=reasons, done=True, error=error)


def _next_batch(records: Iterator[Record], reader: LogFileReader) -> list[Record]:
    """Up to BATCH_RECORDS records, ending early once as many were read, counted ones included.

    With two-phase decoding most records are only counted (processor/partial/skip.py): a batch
    of 2,000 kept records could span 30,000 read, holding their views and bytes meanwhile, and
    delay progress and the state file as long.
    """
    if not reader.counts_in_bulk:
        return list(islice(records, BATCH_RECORDS))
    start = reader.skipped
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) + reader.skipped - start >= BATCH_RECORDS:
            break
    return batch


def _counted(reader: LogFileReader, skipped: list[int]) -> bool:
    """True when the reader counted records since the last batch (they make a batch of their own)."""
    return reader.skipped > sum(skipped)


def _time_filter(in_window: EventFilter) -> Callable[[str], bool] | None:
    """The window as a test of an eventTime string; None when it has no bounds (all kept)."""
    if in_window.start is None and in_window.end is None:
        return None
    return lambda when: in_window({"eventTime": when})


def build_evaluator(
    settings: Settings, preview: bool, in_window: EventFilter, *, send: bool
) -> ObjectEvaluator:
    """What each process builds once: the same rules and router the Lambda builds from Settings."""
    from processor.app import build_rules

    router = PreviewRouter(settings) if preview else Router(settings)
    rules = build_rules(settings)
    phases = decode_mode(rules).phases
    return ObjectEvaluator(rules, router, in_window, as_lines=not send, phases=phases)
