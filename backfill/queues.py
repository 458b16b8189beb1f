"""A put into a bounded queue that gives up when the run (or the item's consumer) has stopped.

A plain blocking put would wait for ever for room in a queue nobody reads any more; this one
wakes up every `POLL_SECONDS` to ask.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

POLL_SECONDS = 0.2


def put_unless(target: Any, item: object, stopped: Callable[[], bool], poll: float = POLL_SECONDS) -> bool:
    """Puts `item` (a queue.Queue or a multiprocessing queue); False, without putting, once `stopped()`."""
    while not stopped():
        try:
            target.put(item, timeout=poll)
            return True
        except queue.Full:
            continue
    return False
