"""Figures 4 and 5: the real `trailalert backfill` CLI (dry run) in subprocesses: memory and scaling.

Peak RSS comes from a small wrapper (bench/rss.py) that reports its children's high-water mark,
so each run is measured on its own and not polluted by the bench's own memory. Scaling is judged
on the throughput the CLI reports (events / its run time, which includes starting the workers but
not the interpreter's own start and imports, the same for any --workers); the wall time of whole
runs, start-up included, is reported beside it, as a user sees it.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.report import Row


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float
    alerts: int
    events_per_second: float  # as the CLI's summary reports it


def backfill(source: Path, workers: int, environ: Mapping[str, str], cwd: Path) -> Run:
    """One dry run; alerts are counted from its JSON lines (one per alert on stdout)."""
    cli = [sys.executable, "-c", "from processor.cli import main; main()"]  # `trailalert`, from this tree
    command = [sys.executable, "-m", "bench.rss", *cli, "backfill"]
    command += [str(source), "--workers", str(workers)]
    env = {**os.environ, **environ}
    started = time.perf_counter()
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen(command, cwd=cwd, env=env, **pipes) as child:  # noqa: S603 - our own command
        # Read stdout while it runs: it may be large.
        assert child.stdout is not None and child.stderr is not None
        alerts = sum(1 for _ in child.stdout)
        errors = child.stderr.read()
        child.wait()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"backfill failed ({child.returncode}): {errors.decode()[-2000:]}")
    peak = re.search(rb"bench.rss peak_kib=(\d+)", errors)
    rate = re.search(rb"backfill done .* in [0-9.]+s, ([0-9,]+) events/s", errors)
    return Run(
        seconds,
        int(peak.group(1)) / 1024 if peak else float("nan"),
        alerts,
        float(rate.group(1).replace(b",", b"")) if rate else float("nan"),
    )


def measure_memory(
    pairs: Mapping[str, tuple[Path, int, Path, int]], environ: Mapping[str, str], cwd: Path
) -> tuple[list[Row], dict[str, float]]:
    """Peak RSS, `--workers 1`, of a smaller and a 10x larger input of the same kind.

    `pairs` maps a label to (small path, its raw bytes, large path, its raw bytes). Bounded memory
    means the larger input peaks where the smaller one does, not ten times higher.
    """
    rows, peaks = [], {}
    for label, (small, small_raw, large, large_raw) in pairs.items():
        low = backfill(small, 1, environ, cwd).peak_rss_mb
        high = backfill(large, 1, environ, cwd).peak_rss_mb
        peaks[f"{label}: {small_raw / 2**20:.0f} MB"] = low
        peaks[f"{label}: {large_raw / 2**20:.0f} MB"] = high
        ratio = high / low
        rows.append(
            Row(
                figure=f"backfill peak RSS, {label}: {large_raw / 2**20:,.0f} MB vs {small_raw / 2**20:,.0f} MB",
                unit="MB",
                project=high,
                baseline=low,
                ratio=ratio,
                ratio_note=f"x for {large_raw / small_raw:.0f}x the input",
                target="independent of size: <= 1.25x",
                met=ratio <= 1.25,
                notes="sizes uncompressed",
            )
        )
    return rows, peaks


def measure_scaling(
    source: Path, events: int, environ: Mapping[str, str], cwd: Path, repeats: int
) -> list[Row]:
    """`--workers 1` vs `--workers 2`, alternating: the median of each round's ratio."""
    rounds: list[dict[int, Run]] = []
    for repeat in range(repeats):
        runs: dict[int, Run] = {}
        for workers in (1, 2) if repeat % 2 == 0 else (2, 1):
            runs[workers] = backfill(source, workers, environ, cwd)
        rounds.append(runs)
    speedup = statistics.median(r[2].events_per_second / r[1].events_per_second for r in rounds)
    wall = statistics.median(r[1].seconds / r[2].seconds for r in rounds)
    alerts = {workers: rounds[-1][workers].alerts for workers in (1, 2)}
    rates = {workers: max(r[workers].events_per_second for r in rounds) for workers in (1, 2)}
    seconds = {workers: min(r[workers].seconds for r in rounds) for workers in (1, 2)}
    return [
        Row(
            figure="backfill CLI dry run, --workers 2 vs --workers 1 (the CLI's events/s)",
            unit="events/s",
            project=rates[2],
            baseline=rates[1],
            ratio=speedup,
            ratio_note="x speed-up",
            target=">= 1.7x",
            met=speedup >= 1.7,
            notes=f"{events} events; alerts printed: {alerts}",
            extra={"rounds": [{w: round(r[w].events_per_second) for w in (1, 2)} for r in rounds]},
        ),
        Row(
            figure="backfill CLI dry run, --workers 2 vs --workers 1 (wall time incl. interpreter start-up)",
            unit="events/s",
            project=events / seconds[2],
            baseline=events / seconds[1],
            ratio=wall,
            ratio_note="x speed-up",
            notes="the interpreter's start and imports (~0.3 s) are serial, whatever --workers",
            extra={"seconds": seconds},
        ),
    ]
