"""Interleaved repetitions: other processes share the cores, so contenders alternate.

Running A, B, A, B, ... (rotating who goes first) exposes every contender to the same background
load. In-process figures use CPU time of this process (single-threaded, input already in
memory), which a busy neighbour disturbs less than wall time; wall time is kept for the record.

Ratios are the median, over rounds, of the ratio within a round (`ratio`): on a shared virtual
machine the speed of the whole machine drifts by up to 50% between seconds, so the best time of
A and the best time of B may come from differently fast moments; two runs of the same round
are seconds apart, and the median drops the rounds a burst disturbed. Best times stay as the
absolute figures (events/s).

A contender that takes seconds (the backfill core over the whole corpus) still spans several
such moments within one round: `interleaved_parts` runs every contender on one part of the input
after another, so the times paired in a ratio are a fraction of a second apart.
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
    timed = interleaved_parts({name: _whole(run) for name, run in contenders.items()}, 1, repeats)
    for entry in timed.values():
        entry.result = entry.result[0]
    return timed


def _whole(run: Callable[[], Any]) -> Callable[[int], Any]:
    return lambda part: run()


def interleaved_parts(
    contenders: dict[str, Callable[[int], Any]], parts: int, repeats: int
) -> dict[str, Timed]:
    """`interleaved` over the parts of an input: each round runs every contender on part 0, then
    on part 1, and so on. `runs` holds one time per round and part (so `ratio` pairs the times of
    one part), `cpu`/`wall` the best whole round, `result` the last round's results, per part."""
    timed = {name: Timed() for name in contenders}
    names = list(contenders)
    for repeat in range(repeats):
        cpus = dict.fromkeys(names, 0.0)
        walls = dict.fromkeys(names, 0.0)
        results: dict[str, list[Any]] = {name: [] for name in names}
        for part in range(parts):
            turn = repeat * parts + part
            for name in names[turn % len(names) :] + names[: turn % len(names)]:
                gc.collect()
                wall, cpu = time.perf_counter(), time.process_time()
                results[name].append(contenders[name](part))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                timed[name].runs.append(cpu)
                cpus[name] += cpu
                walls[name] += wall
        for name in names:
            entry = timed[name]
            entry.cpu, entry.wall, entry.result = (
                min(entry.cpu, cpus[name]),
                min(entry.wall, walls[name]),
                results[name],
            )
    return timed
