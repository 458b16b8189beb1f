"""The listing runs ahead of the downloads in a thread of its own, so the total is known early.

Without it the listing would advance only as fast as objects are downloaded, and the number of
objects to read (hence a percentage and an ETA) would be known only at the very end. It holds at
most `LIST_AHEAD` objects not yet taken (a few hundred bytes each): for a bigger run the total is
known once the listing is that close to its end.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

from backfill.queues import POLL_SECONDS, put_unless
from backfill.sources import ObjectRef

LIST_AHEAD = 100_000
_END = object()


class Listing:
    """Iterate once for the objects; `on_complete(total)` is called (from the listing thread) once
    the listing has ended. A listing error is raised to the iterating side after the objects."""

    def __init__(
        self,
        refs: Iterator[ObjectRef],
        on_complete: Callable[[int], None],
        *,
        ahead: int = LIST_AHEAD,
    ) -> None:
        self._refs = refs
        self._on_complete = on_complete
        self._queue: queue.Queue[object] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._list, name="backfill-listing", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[ObjectRef]:
        while True:
            try:
                item = self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop listing: the thread exits at its next object (or when its current request ends)."""
        self._stop.set()

    def _list(self) -> None:
        """Holds each object back until the next one is listed, so that the total is announced
        before the last object can be read: the last progress line always has it."""
        total = 0
        held: ObjectRef | None = None
        try:
            for ref in self._refs:
                if held is not None and not self._put(held):
                    return
                held = ref
                total += 1
        except Exception as exc:  # a bug or an error the sources did not handle: not lost
            self._error = exc
        else:
            self._on_complete(total)
        if held is not None and not self._put(held):
            return
        self._put(_END)

    def _put(self, item: object) -> bool:
        return put_unless(self._queue, item, self._stop.is_set)
