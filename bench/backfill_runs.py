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
    small: Path, large: Path, many: Path, sizes: Mapping[str, int], environ: Mapping[str, str], cwd: Path
) -> tuple[list[Row], dict[str, float]]:
    """Peak RSS over one small file, one huge file and the whole corpus, `--workers 1`."""
    runs = {
        name: backfill(path, 1, environ, cwd)
        for name, path in (("small", small), ("large", large), ("many", many))
    }
    peak = {name: run.peak_rss_mb for name, run in runs.items()}
    rows = []
    for name, label in (("large", "one huge log file"), ("many", "the whole corpus")):
        ratio = peak[name] / peak["small"]
        rows.append(
            Row(
                figure=f"backfill peak RSS, {label} ({sizes[name] / 2**20:,.0f} MB uncompressed)",
                unit="MB",
                project=peak[name],
                baseline=peak["small"],
                ratio=ratio,
                ratio_note=f"x one small file ({sizes['small'] / 2**20:.1f} MB)",
                target="bounded: <= 1.5x",
                met=ratio <= 1.5,
            )
        )
    return rows, peak


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
