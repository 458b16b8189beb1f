"""Concurrent downloads with bounded memory: threads stream objects ahead of the CPU work.

Each download thread takes the next object from the listing, announces it, and streams its chunks
into a small queue of its own; a consumer drains one object's queue at a time. Small objects
(the usual CloudTrail file) are fully fetched ahead while earlier ones are parsed; a big one holds
at most `QUEUE_CHUNKS` chunks in memory while its consumer catches up.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from backfill.errors import ObjectUnreadable
from backfill.sources import ObjectRef

QUEUE_CHUNKS = 4
_POLL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class _Failed:
    error: Exception


_END = object()


class Prefetcher:
    """Iterate to get `(ref, chunks)` pairs; `chunks` raises the download's error, if any."""

    def __init__(
        self,
        refs: Iterator[ObjectRef],
        opener: Callable[[ObjectRef], Iterator[bytes]],
        *,
        threads: int = 8,
    ) -> None:
        self._refs = refs
        self._opener = opener
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready: queue.Queue[object] = queue.Queue(maxsize=threads)
        self._listing_error: Exception | None = None
        self._exhausted = False
        self._threads = [
            threading.Thread(target=self._download, name=f"backfill-download-{i}", daemon=True)
            for i in range(max(1, threads))
        ]
        self._running = len(self._threads)
        for thread in self._threads:
            thread.start()

    def __iter__(self) -> Iterator[tuple[ObjectRef, Iterator[bytes]]]:
        while True:
            item = self._ready.get()
            if item is _END:
                if self._listing_error is not None:
                    raise self._listing_error
                return
            ref, chunks = item  # type: ignore[misc]
            yield ref, _drain(chunks)

    def close(self) -> None:
        """Stop downloading (Ctrl-C or an error): threads notice within a poll interval and exit."""
        self._stop.set()

    def _next_ref(self) -> ObjectRef | None:
        with self._lock:
            if self._stop.is_set() or self._exhausted:
                return None
            try:
                return next(self._refs)
            except StopIteration:
                self._exhausted = True
            except Exception as exc:  # the listing failed: the consumer raises it after the others
                self._listing_error = exc
                self._exhausted = True
            return None

    def _download(self) -> None:
        try:
            while (ref := self._next_ref()) is not None:
                chunks: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)
                if not self._put(self._ready, (ref, chunks)):
                    return
                try:
                    for chunk in self._opener(ref):
                        if not self._put(chunks, chunk):
                            return
                except Exception as exc:  # S3 or file errors belong to this object alone
                    self._put(chunks, _Failed(ObjectUnreadable(f"{type(exc).__name__}: {exc}")))
                    continue
                self._put(chunks, _END)
        finally:
            with self._lock:
                self._running -= 1
                last = self._running == 0
            if last:
                self._put(self._ready, _END)

    def _put(self, target: queue.Queue[object], item: object) -> bool:
        while not self._stop.is_set():
            try:
                target.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False


def _drain(chunks: queue.Queue[object]) -> Iterator[bytes]:
    while True:
        item = chunks.get()
        if item is _END:
            return
        if isinstance(item, _Failed):
            raise item.error
        yield item  # type: ignore[misc]
