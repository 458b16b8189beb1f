"""One backfill run: list, download, evaluate (here or in workers), output or deliver, checkpoint.

The parent process owns every side effect (stdout, delivery, the state file) and handles batches
in the order they arrive, so an object is marked finished only after all its alerts were printed or
delivered, and deliveries go through one Dispatcher with one ledger, as in the Lambda. With --send,
alerts are delivered in groups that span objects (delivery.py), so a storm is collapsed run-wide.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from backfill.delivery import GroupedDelivery
from backfill.fetch import Prefetcher
from backfill.listing import Listing
from backfill.pool import WorkerPool, local_batches
from backfill.s3listing import DEFAULT_TIMEOUT_SECONDS, S3Lister, case_warning, describe_error
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
from processor.deliver.dispatcher import Dispatcher
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
    s3_timeout: float = DEFAULT_TIMEOUT_SECONDS


@dataclass
class _Tally:
    """One object's counts in the parent, until its last batch arrives."""

    events: int = 0
    alerts: int = 0


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
    state: StateFile | None = None
    summary: Summary = field(init=False)

    def __post_init__(self) -> None:
        mode = "send" if self.options.send else ("preview" if self.preview else "dry-run")
        self.summary = Summary(mode=mode, workers=self.options.workers)
        self._selection = Selection(self.options.window, self.options.accounts, self.options.regions)
        self._tallies: dict[str, _Tally] = {}
        self._handled = 0  # objects whose last batch arrived
        self._s3: Any = None
        self._delivery = (
            GroupedDelivery(self.dispatcher, self.state, self.summary)
            if self.dispatcher is not None
            else None
        )

    def run(self) -> Summary:
        started = time.monotonic()
        self._warn_at_start()
        in_window = self.options.window.event_filter()
        listing: Listing | None = None
        prefetcher: Prefetcher | None = None
        try:
            if self.options.workers > 1:
                # The workers start before the listing and download threads, so they can be forked.
                with WorkerPool(
                    self.options.workers, self.settings, self.preview, in_window, send=self.options.send
                ) as pool:
                    listing, prefetcher = self._start()
                    for batch in pool.batches(iter(prefetcher)):
                        self._handle(batch)
            else:
                evaluator = build_evaluator(self.settings, self.preview, in_window, send=self.options.send)
                listing, prefetcher = self._start()
                for batch in local_batches(prefetcher, evaluator):
                    self._handle(batch)
            if self._delivery is not None:
                self._delivery.deliver()  # what is still held, then the objects waiting on it
        except KeyboardInterrupt:
            self.summary.interrupted = True
            if self._delivery is not None and self._delivery.held:
                self.summary.notes.append(
                    f"{self._delivery.held:,} alert(s) read but not delivered yet when interrupted; "
                    "their objects are not finished"
                )
        finally:
            for stoppable in (prefetcher, listing):
                if stoppable is not None:
                    stoppable.close()
            if self.state is not None:
                self.state.close()
            self.progress.close()
            self._finish_summary(time.monotonic() - started)
        return self.summary

    def _start(self) -> tuple[Listing, Prefetcher]:
        listing = Listing(self._objects(), self.progress.listed)
        return listing, Prefetcher(iter(listing), self._open, threads=self.options.download_threads)

    def _warn_at_start(self) -> None:
        if self.state is not None and (skipped := self.state.unparsable):
            named = ", ".join(str(number) for number in skipped[:MAX_EXAMPLES])
            if len(skipped) > MAX_EXAMPLES:
                named += f" and {len(skipped) - MAX_EXAMPLES:,} more"
            self._warn(
                f"--state {self.state.path}: line(s) {named} could not be parsed (cut short by a crash?) "
                "and were ignored"
            )
        for source in self.options.sources:
            if isinstance(source, S3Source) and (warning := case_warning(source)) is not None:
                self._warn(warning)

    def _warn(self, message: str) -> None:
        self.summary.notes.append(message)
        self.progress.warn(message)

    def _objects(self) -> Iterator[ObjectRef]:
        """Runs in the listing thread (listing.py)."""
        seen: set[str] = set()
        for source in self.options.sources:
            found = 0
            self.progress.listing(str(source), found)
            try:
                for ref in self._list(source):
                    if isinstance(ref, Unreadable):
                        self._unreadable(ref)
                        continue
                    if ref.url in seen:
                        continue
                    seen.add(ref.url)
                    if self.state is not None and self.state.is_finished(ref.url):
                        self.summary.skipped_finished += 1
                        continue
                    found += 1
                    self.progress.listing(str(source), found)
                    yield ref
            except Exception as exc:  # botocore errors: a missing bucket, access denied, a timeout...
                self.summary.objects_failed.append(
                    (str(source), f"listing failed: {describe_error(exc, self.options.s3_timeout)}")
                )

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
        if batch.rule_failures and self.report_rule_failures is not None:
            self.report_rule_failures(batch.rule_failures)
        if self._delivery is None:
            if batch.done:
                self._finish_object(batch, self._tallies.pop(batch.url), failed_deliveries=0)
            return
        if batch.alerts:
            self._delivery.add(batch.url, batch.alerts)
        if batch.done:
            tally = self._tallies.pop(batch.url)
            self._delivery.finish_when_delivered(
                batch.url, lambda failed: self._finish_object(batch, tally, failed_deliveries=failed)
            )
        self._delivery.deliver_if_due()

    def _finish_object(self, batch: Batch, tally: _Tally, *, failed_deliveries: int) -> None:
        """The object was read to its end (or failed) and every alert it raised was handled."""
        if batch.error is not None:
            self.summary.objects_failed.append((batch.url, batch.error))
        elif failed_deliveries == 0 and self.state is not None:
            self.state.mark_finished(batch.url, tally.events, tally.alerts)
        if batch.error is None:
            self.summary.objects_done += 1
        self._handled += 1
        c = self.summary.counts
        self.progress.update(self._handled, c.events, c.alerts)

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
