"""Figure 3: what importing the handler adds to a cold start, in fresh interpreters.

Each sample is a new `python -c` process timing its own imports in CPU time (the files are in
the page cache, so importing is CPU work; CPU time is far less disturbed than wall time by other
processes on the same cores), and the interpreter's start-up (the same for both) is left out. Baseline: boto3 + slack_sdk + orjson.
Project: the same three, then `processor.handler` (what the Lambda runtime imports); the
difference is the handler's own cost. The handler alone is reported too: it imports boto3
lazily, so a Slack-only deployment pays less than the baseline. Median of the samples,
project and baseline alternating.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.report import Row

DEPS = "import boto3, slack_sdk, orjson"
SNIPPETS = {
    "deps": DEPS,
    "deps+handler": DEPS + "; import processor.handler",
    "handler": "import processor.handler",
    # The fast path's modules (msgspec) are imported when the App is built, at the first
    # invocation: still part of a cold start, so measured on top of the handler.
    "deps+handler+fast-path": DEPS + "; import processor.handler, processor.fastpath",
}
_PROGRAM = "import time; t = time.process_time(); {}; print(time.process_time() - t)"


def _environ(cwd: Path) -> dict[str, str]:
    """Bytecode cached for everyone alike: a private cache (written by the warm-up run), even
    where PYTHONDONTWRITEBYTECODE is set, so neither side pays for compiling its sources."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cwd / "build" / "bench" / "pycache")
    return env


def _sample(code: str, cwd: Path) -> float:
    out = subprocess.run(  # noqa: S603 - our own interpreter and snippets
        [sys.executable, "-c", _PROGRAM.format(code)],
        cwd=cwd,
        env=_environ(cwd),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def measure_coldstart(cwd: Path, samples: int) -> tuple[list[Row], dict[str, float]]:
    for code in SNIPPETS.values():  # warm the OS page cache and __pycache__ once
        _sample(code, cwd)
    times: dict[str, list[float]] = {name: [] for name in SNIPPETS}
    for _ in range(samples):
        for name, code in SNIPPETS.items():
            times[name].append(_sample(code, cwd))
    median = {name: statistics.median(values) * 1000 for name, values in times.items()}
    added = median["deps+handler"] - median["deps"]
    rows = [
        Row(
            figure="cold start: import processor.handler on top of the dependencies",
            unit="ms",
            project=median["deps+handler"],
            baseline=median["deps"],
            ratio=added,
            ratio_note="ms added",
            target="<= 50 ms added",
            met=added <= 50,
            notes=f"median of {samples} fresh processes",
        ),
        Row(
            figure="cold start: handler + the fast path (msgspec) on top of the dependencies",
            unit="ms",
            project=median["deps+handler+fast-path"],
            baseline=median["deps"],
            ratio=median["deps+handler+fast-path"] - median["deps"],
            ratio_note="ms added",
            target="<= 50 ms added",
            met=median["deps+handler+fast-path"] - median["deps"] <= 50,
            notes="the decoders are imported when the App is built, at the first invocation",
        ),
        Row(
            figure="cold start: import processor.handler alone",
            unit="ms",
            project=median["handler"],
            baseline=median["deps"],
            ratio=median["handler"] / median["deps"],
            ratio_note="x baseline",
            notes="boto3 is imported lazily, only when AWS destinations or *_SECRET are used",
        ),
    ]
    return rows, median
