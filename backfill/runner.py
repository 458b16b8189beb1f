"""One backfill run: list, download, evaluate (here or in workers), output or deliver, checkpoint.

The parent process owns every side effect (stdout, delivery, the state file) and handles batches
in the order they arrive, so an object is marked finished only after all its alerts were printed or
delivered, and deliveries go through one Dispatcher with one ledger, as in the Lambda.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from backfill.fetch import Prefetcher
from backfill.pool import WorkerPool, local_batches
from backfill.s3listing import S3Lister
from backfill.sources import (
    LocalSource,
    ObjectRef,
    S3Source,
    Selection,
    Source,
    Unreadable,
    local_objects,
    open_chunks,
)
from backfill.state import StateFile
from backfill.summary import Summary
from backfill.window import TimeWindow
from backfill.work import Batch, build_evaluator
from processor.deliver.dispatcher import Dispatcher, delivery_key
from processor.models import Alert, Destination, Status
from processor.settings import Settings

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Options:
    sources: tuple[Source, ...]
    window: TimeWindow = TimeWindow()
    accounts: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    send: bool = False
    workers: int = 1
    download_threads: int = 8
    state: Path | None = None


@dataclass
class _Tally:
    """One object's progress in the parent, until its last batch arrives."""

    events: int = 0
    alerts: int = 0
    failed_deliveries: int = 0


@dataclass
class Backfill:
    """Build with the Settings and the side-effect endpoints; `run` once."""

    options: Options
    settings: Settings
    preview: bool
    emit: Callable[[str], None]
    progress: Any
    s3_client: Callable[[], Any]
    dispatcher: Dispatcher | None = None
    report_rule_failures: Callable[[tuple[Any, ...]], None] | None = None
    summary: Summary = field(init=False)

    def __post_init__(self) -> None:
        mode = "send" if self.options.send else ("preview" if self.preview else "dry-run")
        self.summary = Summary(mode=mode, workers=self.options.workers)
        self._selection = Selection(self.options.window, self.options.accounts, self.options.regions)
        self._state = StateFile(self.options.state) if self.options.state else None
        self._tallies: dict[str, _Tally] = {}
        self._s3: Any = None

    def run(self) -> Summary:
        started = time.monotonic()
        in_window = self.options.window.event_filter()
        prefetcher: Prefetcher | None = None
        try:
            if self.options.workers > 1:
                # The workers start before the download threads, so they can be forked (pool.py).
                with WorkerPool(
                    self.options.workers, self.settings, self.preview, in_window, send=self.options.send
                ) as pool:
                    prefetcher = self._prefetcher()
                    for batch in pool.batches(iter(prefetcher)):
                        self._handle(batch)
            else:
                evaluator = build_evaluator(self.settings, self.preview, in_window, send=self.options.send)
                prefetcher = self._prefetcher()
                for batch in local_batches(prefetcher, evaluator):
                    self._handle(batch)
        except KeyboardInterrupt:
            self.summary.interrupted = True
        finally:
            if prefetcher is not None:
                prefetcher.close()
            if self._state is not None:
                self._state.close()
            self.progress.close()
            self._finish_summary(time.monotonic() - started)
        return self.summary

    def _prefetcher(self) -> Prefetcher:
        return Prefetcher(self._objects(), self._open, threads=self.options.download_threads)

    def _objects(self) -> Iterator[ObjectRef]:
        seen: set[str] = set()
        for source in self.options.sources:
            try:
                for ref in self._list(source):
                    if isinstance(ref, Unreadable):
                        self._unreadable(ref)
                        continue
                    if ref.url in seen:
                        continue
                    seen.add(ref.url)
                    if self._state is not None and self._state.is_finished(ref.url):
                        self.summary.skipped_finished += 1
                        continue
                    yield ref
            except Exception as exc:  # botocore errors: a missing bucket, access denied, ...
                reason = f"listing failed: {type(exc).__name__}: {exc}"
                self.summary.objects_failed.append((str(source), reason))

    def _unreadable(self, entry: Unreadable) -> None:
        if entry.wanted:
            self.summary.objects_failed.append((entry.url, entry.reason))
        else:
            self.summary.skipped_unreadable.append((entry.url, entry.reason))

    def _list(self, source: Source) -> Iterator[ObjectRef | Unreadable]:
        if isinstance(source, LocalSource):
            return local_objects(source, self._selection)
        assert isinstance(source, S3Source)
        lister = S3Lister(self._client(), self._selection, self.summary.notes)
        return lister.objects(source)

    def _client(self) -> Any:
        if self._s3 is None:
            self._s3 = self.s3_client()
        return self._s3

    def _open(self, ref: ObjectRef) -> Iterator[bytes]:
        return open_chunks(ref, self._client() if ref.bucket else None)

    def _handle(self, batch: Batch) -> None:
        tally = self._tallies.setdefault(batch.url, _Tally())
        tally.events += batch.counts.events
        tally.alerts += batch.counts.alerts
        self.summary.counts.add(batch.counts)
        self._examples(batch)
        for line in batch.lines:
            self.emit(line)
        if batch.alerts:
            self._deliver(batch.url, batch.alerts, tally)
        if batch.rule_failures and self.report_rule_failures is not None:
            self.report_rule_failures(batch.rule_failures)
        if batch.done:
            self._finish_object(batch, self._tallies.pop(batch.url))

    def _finish_object(self, batch: Batch, tally: _Tally) -> None:
        if batch.error is not None:
            self.summary.objects_failed.append((batch.url, batch.error))
        elif tally.failed_deliveries == 0 and self._state is not None:
            self._state.mark_finished(batch.url, tally.events, tally.alerts)
        if batch.error is None:
            self.summary.objects_done += 1
        c = self.summary.counts
        self.progress.update(self.summary.objects_done + len(self.summary.objects_failed), c.events, c.alerts)

    def _deliver(self, url: str, alerts: tuple[Alert, ...], tally: _Tally) -> None:
        assert self.dispatcher is not None
        sent = self._state.delivered(url) if self._state is not None else frozenset()
        todo: list[Alert] = []
        for alert in alerts:
            remaining = tuple(d for d in alert.destinations if delivery_key(alert, d) not in sent)
            self.summary.sent_before_resume += len(alert.destinations) - len(remaining)
            if len(remaining) == len(alert.destinations):
                todo.append(alert)
            elif remaining:
                todo.append(replace(alert, destinations=remaining))

        def checkpoint(alert: Alert, destination: Destination) -> None:
            if self._state is not None:  # as each is accepted: a Ctrl-C mid-batch loses none
                self._state.record_delivered(url, delivery_key(alert, destination))

        for outcome in self.dispatcher.deliver(todo, on_accepted=checkpoint):
            if outcome.status is Status.FAILED:
                tally.failed_deliveries += 1
                self.summary.delivery_failed += 1
                if len(self.summary.delivery_failures) < MAX_EXAMPLES * 4:
                    self.summary.delivery_failures.append(
                        f"{outcome.alert.event_id} to {outcome.destination.key}: {outcome.detail}"
                    )
                continue
            if outcome.status is Status.DELIVERED:
                self.summary.delivered += 1
            else:
                self.summary.duplicates += 1
                checkpoint(outcome.alert, outcome.destination)

    def _examples(self, batch: Batch) -> None:
        s = self.summary
        for reason in batch.reasons:
            if len(s.undecodable_examples) < MAX_EXAMPLES:
                s.undecodable_examples.append(f"{batch.url}: {reason}")
        for failure in batch.rule_failures:
            if len(s.rule_error_examples) < MAX_EXAMPLES:
                s.rule_error_examples.append(f"{failure.rule.id}: {failure.error} (event {failure.event_id})")

    def _finish_summary(self, seconds: float) -> None:
        s = self.summary
        s.seconds = seconds
        s.skipped_digests = self._selection.digests
        s.skipped_filtered = self._selection.filtered
        s.skipped_not_logs = self._selection.not_logs
