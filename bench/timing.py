"""Interleaved repetitions: other processes share the cores, so contenders alternate.

Running A, B, A, B, ... (rotating who goes first) exposes every contender to the same background
load. In-process figures use CPU time of this process (single-threaded, input already in
memory), which a busy neighbour disturbs less than wall time; wall time is kept for the record.

Ratios are the median, over rounds, of the ratio within a round (`ratio`): on a shared virtual
machine the speed of the whole machine drifts by up to 50% between seconds, so the best time of
A and the best time of B may come from differently fast moments; two runs of the same round
are seconds apart, and the median drops the rounds a burst disturbed. Best times stay as the
absolute figures (events/s).
"""

from __future__ import annotations

import gc
import statistics
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

    def ratio(self, other: Timed) -> float:
        """Median over rounds of this contender's CPU time divided by `other`'s in the same round."""
        return statistics.median(mine / theirs for mine, theirs in zip(self.runs, other.runs, strict=True))


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
            entry.runs.append(cpu)
    return timed
