"""Interleaved repetitions: other processes share the cores, so contenders alternate and keep their best.

Running A, B, A, B, ... (rotating who goes first) exposes every contender to the same background
load; the best (minimum) time of each is the least disturbed one, so ratios stay fair. In-process
figures use CPU time of this process (single-threaded, input already in memory), which a busy
neighbour disturbs far less than wall time; wall time is kept alongside for the record.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Timed:
    """Best CPU and wall seconds over the repetitions, and the last result (for checks)."""

    cpu: float = float("inf")
    wall: float = float("inf")
    result: Any = None
    runs: list[float] = field(default_factory=list)


def interleaved(contenders: dict[str, Callable[[], Any]], repeats: int) -> dict[str, Timed]:
    """Run each contender `repeats` times, alternating, with the GC collected before each run."""
    timed = {name: Timed() for name in contenders}
    names = list(contenders)
    for repeat in range(repeats):
        order = names[repeat % len(names) :] + names[: repeat % len(names)]
        for name in order:
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            result = contenders[name]()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            entry = timed[name]
            entry.cpu, entry.wall, entry.result = min(entry.cpu, cpu), min(entry.wall, wall), result
            entry.runs.append(round(cpu, 4))
    return timed
