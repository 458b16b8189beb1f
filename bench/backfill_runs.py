"""Figures 4 and 5: the real `trailalert backfill` CLI (dry run) in subprocesses: memory and scaling.

Peak RSS comes from a small wrapper (bench/rss.py) that reports its children's high-water mark,
so each run is measured on its own and not polluted by the bench's own memory. Scaling times whole runs, start-up included, as a user sees it.
"""

from __future__ import annotations

import os
import re
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
    return Run(seconds, int(peak.group(1)) / 1024 if peak else float("nan"), alerts)


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
    """`--workers 1` vs `--workers 2`, alternating, best of `repeats` each."""
    best = {1: float("inf"), 2: float("inf")}
    alerts: dict[int, int] = {}
    for repeat in range(repeats):
        for workers in (1, 2) if repeat % 2 == 0 else (2, 1):
            run = backfill(source, workers, environ, cwd)
            best[workers] = min(best[workers], run.seconds)
            alerts[workers] = run.alerts
    speedup = best[1] / best[2]
    return [
        Row(
            figure="backfill CLI dry run, --workers 2 vs --workers 1",
            unit="events/s",
            project=events / best[2],
            baseline=events / best[1],
            ratio=speedup,
            ratio_note="x speed-up",
            target=">= 1.7x",
            met=speedup >= 1.7,
            notes=f"{events} events, wall time incl. start-up; alerts printed: {alerts}",
            extra={"seconds": best, "alerts": alerts},
        )
    ]
