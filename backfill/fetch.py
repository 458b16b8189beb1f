"""Concurrent downloads with bounded memory: threads stream objects ahead of the CPU work.

Each download thread takes the next object from the listing, announces it, and streams its chunks
into a small queue of its own (a `ChunkStream`); a consumer reads one object's stream at a time.
Small objects (the usual CloudTrail file) are fully fetched ahead while earlier ones are parsed; a
big one holds at most `QUEUE_CHUNKS` chunks in memory while its consumer catches up.

A consumer that stops reading an object early (the file turned out not to be a log file, or is
corrupt) must `close()` its stream: the download thread then stops fetching that object, closes
the file or S3 body, and goes on to the next one. Without that it would wait for ever for room in
a queue nobody reads, and the run with it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass

from backfill.errors import ObjectUnreadable
from backfill.queues import put_unless
from backfill.sources import ObjectRef

QUEUE_CHUNKS = 4


@dataclass(frozen=True, slots=True)
class _Failed:
    error: Exception


_END = object()


class ChunkStream:
    """One object's chunks, in order; iterating raises the download's error, if any.

    `close()` abandons the object: chunks still queued are dropped and the download stops. It is
    safe to call at any time and more than once (after a complete read it does nothing).
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        while not self._closed.is_set():
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._closed.set()
        while True:  # make room, so a download waiting to put wakes up and sees the stream closed
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def put(self, item: object, stop: threading.Event) -> bool:
        """For the download thread: False, without putting, once `stop` is set or the stream closed."""
        return put_unless(self._queue, item, lambda: stop.is_set() or self._closed.is_set())


class Prefetcher:
    """Iterate to get `(ref, stream)` pairs, in the order downloads started; close each stream."""

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

    def __iter__(self) -> Iterator[tuple[ObjectRef, ChunkStream]]:
        while True:
            item = self._ready.get()
            if item is _END:
                if self._listing_error is not None:
                    raise self._listing_error
                return
            yield item  # type: ignore[misc]

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
                stream = ChunkStream()
                if not self._put((ref, stream)):
                    return
                self._fetch(ref, stream)
        finally:
            with self._lock:
                self._running -= 1
                last = self._running == 0
            if last:
                self._put(_END)

    def _fetch(self, ref: ObjectRef, stream: ChunkStream) -> None:
        """Streams one object; returns early when the run stops or the consumer closed the stream."""
        try:
            with closing(self._opener(ref)) as chunks:  # closes the file or S3 body however we leave
                for chunk in chunks:
                    if not stream.put(chunk, self._stop):
                        return
        except Exception as exc:  # S3 or file errors belong to this object alone
            stream.put(_Failed(ObjectUnreadable(f"{type(exc).__name__}: {exc}")), self._stop)
            return
        stream.put(_END, self._stop)

    def _put(self, item: object) -> bool:
        return put_unless(self._ready, item, self._stop.is_set)
