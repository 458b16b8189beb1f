"""Figure 3: what importing the handler adds to a cold start, in fresh interpreters.

Each sample is a new `python -c` process timing its own imports in CPU time (the files are in
the page cache, so importing is CPU work; CPU time is far less disturbed than wall time by other
processes on the same cores), and the interpreter's start-up (the same for both) is left out. Baseline: boto3 + slack_sdk + orjson.
Project: the same three, then `processor.handler` (what the Lambda runtime imports), timed apart
in the same process: the handler's own cost is that second time, not the difference of two
processes' totals (the dependencies' ~150 ms vary by more from one process to the next than the
handler costs). The handler alone is reported too: it imports boto3 lazily, so a Slack-only
deployment pays less than the baseline. Median of the samples, the snippets alternating.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.report import Row

DEPS = "import boto3, slack_sdk, orjson"
# name: (imports timed first, imports timed after them); each sample prints both CPU times.
SNIPPETS = {
    "deps+handler": (DEPS, "import processor.handler"),
    "handler": ("import processor.handler", "pass"),
    # The fast path's modules (msgspec) are needed when the App is built, at the first
    # invocation: still part of a cold start, so measured on top of the handler.
    "deps+handler+fast-path": (DEPS, "import processor.handler, processor.fastpath"),
}
_PROGRAM = (
    "import time; t = time.process_time(); {}; u = time.process_time(); {}; "
    "print(u - t, time.process_time() - u)"
)


def _environ(cwd: Path) -> dict[str, str]:
    """Bytecode cached for everyone alike: a private cache (written by the warm-up run), even
    where PYTHONDONTWRITEBYTECODE is set, so neither side pays for compiling its sources."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cwd / "build" / "bench" / "pycache")
    return env


def _sample(first: str, then: str, cwd: Path) -> tuple[float, float]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and snippets
        [sys.executable, "-c", _PROGRAM.format(first, then)],
        cwd=cwd,
        env=_environ(cwd),
        capture_output=True,
        text=True,
        check=True,
    )
    before, after = out.stdout.split()
    return float(before), float(after)


def measure_coldstart(cwd: Path, samples: int) -> tuple[list[Row], dict[str, float]]:
    for first, then in SNIPPETS.values():  # warm the OS page cache and __pycache__ once
        _sample(first, then, cwd)
    times: dict[str, list[float]] = {name: [] for name in ("deps", "added", "handler", "added+fast-path")}
    for _ in range(samples):
        deps, added = _sample(*SNIPPETS["deps+handler"], cwd)
        times["deps"].append(deps)
        times["added"].append(added)
        times["handler"].append(_sample(*SNIPPETS["handler"], cwd)[0])
        deps, added = _sample(*SNIPPETS["deps+handler+fast-path"], cwd)
        times["deps"].append(deps)
        times["added+fast-path"].append(added)
    median = {name: statistics.median(values) * 1000 for name, values in times.items()}
    added = median["added"]
    added_fast = median["added+fast-path"]
    rows = [
        Row(
            figure="cold start: import processor.handler on top of the dependencies",
            unit="ms",
            project=median["deps"] + added,
            baseline=median["deps"],
            ratio=added,
            ratio_note="ms added",
            target="<= 50 ms added",
            met=added <= 50,
            notes=f"median of {samples} fresh processes, the handler timed apart from the dependencies",
        ),
        Row(
            figure="cold start: handler + the fast path (msgspec) on top of the dependencies",
            unit="ms",
            project=median["deps"] + added_fast,
            baseline=median["deps"],
            ratio=added_fast,
            ratio_note="ms added",
            target="<= 50 ms added",
            met=added_fast <= 50,
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
