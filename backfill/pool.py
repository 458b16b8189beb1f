"""`--workers N`: N processes do the CPU work (inflate, parse, match, render); the parent does the rest.

The parent keeps listing, downloading, output, delivery and the state file, so pacing and
idempotency stay in one place. A feeder thread per worker streams one object at a time into that
worker's bounded queue; workers put their batches on one bounded result queue. Every queue is
bounded, so a slow consumer (Slack's rate limits) slows the producers instead of filling memory.
A worker that stops reading an object early (it is not a log file, or corrupt) says so through a
shared number, and the feeder stops downloading that object instead of sending the rest of it.
Processes are forked on Linux when the parent has no other thread yet (the pool starts before
the download threads): a forked worker starts in milliseconds with everything imported, where a
spawned one re-imports the whole package (~0.35 s each, most of a 100,000-event run's gain).
Anywhere else, or with threads already running (forking those is unsafe), they are spawned.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator
from typing import Any

from backfill.errors import BackfillError, ObjectUnreadable
from backfill.fetch import ChunkStream
from backfill.queues import put_unless
from backfill.sources import ObjectRef
from backfill.window import EventFilter
from backfill.work import Batch, Counts, ObjectEvaluator, build_evaluator
from processor.settings import Settings

INPUT_CHUNKS = 8
RESULT_BATCHES = 64
_POLL_SECONDS = 0.5


def local_batches(
    objects: Iterable[tuple[ObjectRef, ChunkStream]], evaluator: ObjectEvaluator
) -> Iterator[Batch]:
    """`--workers 1`: the same work in this process, with no pickling at all.

    Each stream is closed once its object is evaluated: if the evaluation stopped early, that
    releases the object's download (see fetch.py).
    """
    for ref, chunks in objects:
        try:
            yield from evaluator.run(ref.url, chunks)
        finally:
            chunks.close()


class WorkerPool:
    """Start with `with`, iterate `batches(objects)` once; leaving the block stops every process."""

    def __init__(
        self, count: int, settings: Settings, preview: bool, in_window: EventFilter, *, send: bool
    ) -> None:
        context = multiprocessing.get_context(start_method())
        self._results: Any = context.Queue(maxsize=RESULT_BATCHES)
        self._inputs: list[Any] = [context.Queue(maxsize=INPUT_CHUNKS) for _ in range(count)]
        # Per worker: the number of the last object it stopped reading early (-1: none yet).
        self._abandoned: list[Any] = [context.Value("q", -1, lock=False) for _ in range(count)]
        self._processes = [
            context.Process(
                target=_worker_main,
                args=(inputs, abandoned, self._results, settings, preview, in_window, send),
                name=f"backfill-worker-{i}",
                daemon=True,
            )
            for i, (inputs, abandoned) in enumerate(zip(self._inputs, self._abandoned, strict=True))
        ]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._feed_error: BaseException | None = None

    def __enter__(self) -> WorkerPool:
        for process in self._processes:
            process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for process in self._processes:
            if process.is_alive():
                process.terminate()
            process.join(timeout=5)

    def batches(self, objects: Iterator[tuple[ObjectRef, ChunkStream]]) -> Iterator[Batch]:
        feeders = [
            threading.Thread(
                target=self._feed, args=(objects, inputs, abandoned), daemon=True, name=f"feed-{i}"
            )
            for i, (inputs, abandoned) in enumerate(zip(self._inputs, self._abandoned, strict=True))
        ]
        for feeder in feeders:
            feeder.start()
        running = len(self._processes)
        while running:
            try:
                kind, payload = self._results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                self._check_alive()
                continue
            if kind == "batch":
                yield payload
            elif kind == "exit":
                running -= 1
        if self._feed_error is not None:
            raise self._feed_error

    def _feed(self, objects: Iterator[tuple[ObjectRef, ChunkStream]], inputs: Any, abandoned: Any) -> None:
        number = 0
        try:
            while not self._stop.is_set():
                with self._lock:
                    item = next(objects, None)
                if item is None:
                    break
                ref, chunks = item
                try:
                    self._feed_object(ref.url, chunks, number, inputs, abandoned)
                finally:
                    chunks.close()  # releases the download if we left before its end
                number += 1
        except BaseException as exc:  # the listing failed: report it once every worker is done
            self._feed_error = exc
        finally:
            self._put(inputs, ("stop", None))

    def _feed_object(self, url: str, chunks: ChunkStream, number: int, inputs: Any, abandoned: Any) -> None:
        """One object's chunks to the worker, until its end or until the worker stops reading it."""
        if not self._put(inputs, ("begin", (url, number))):
            return
        try:
            for chunk in chunks:
                if abandoned.value == number:
                    break
                if not self._put(inputs, ("chunk", chunk)):
                    return
        except ObjectUnreadable as exc:
            self._put(inputs, ("fail", str(exc)))
            return
        self._put(inputs, ("end", None))

    def _put(self, target: Any, message: tuple[str, Any]) -> bool:
        return put_unless(target, message, self._stop.is_set, _POLL_SECONDS)

    def _check_alive(self) -> None:
        for process in self._processes:
            if process.exitcode not in (None, 0):
                raise BackfillError(f"{process.name} died (exit code {process.exitcode}); rerun with --state")


def start_method() -> str:
    """ "fork" where it is safe and available (Linux, no thread but this one), else "spawn"."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _worker_main(
    inputs: Any,
    abandoned: Any,
    results: Any,
    settings: Settings,
    preview: bool,
    in_window: EventFilter,
    send: bool,
) -> None:
    """A worker: Ctrl-C is the parent's to handle, so the worker ignores it and is stopped by it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    evaluator = build_evaluator(settings, preview, in_window, send=send)
    while True:
        kind, payload = inputs.get()
        if kind == "stop":
            results.put(("exit", None))
            return
        url, number = payload
        stream = _ChunkStream(inputs)
        try:
            for batch in evaluator.run(url, stream):
                results.put(("batch", batch))
        except Exception:  # a bug must not take the other objects down: fail this object, say why
            detail = traceback.format_exc(limit=3).strip().replace("\n", " | ")
            results.put(("batch", Batch(url, (), Counts(), done=True, error=f"internal error: {detail}")))
        if not stream.ended:
            abandoned.value = number  # the feeder stops sending this object's chunks
            stream.drain()


class _ChunkStream:
    """One object's chunks as the feeder sent them; `drain` skips what an early failure left unread."""

    def __init__(self, inputs: Any) -> None:
        self._inputs = inputs
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    def __iter__(self) -> Iterator[bytes]:
        while not self._ended:
            kind, payload = self._inputs.get()
            if kind == "chunk":
                yield payload
                continue
            self._ended = True
            if kind == "fail":
                raise ObjectUnreadable(payload)

    def drain(self) -> None:
        while not self._ended:
            kind, _ = self._inputs.get()
            self._ended = kind != "chunk"
