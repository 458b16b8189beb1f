"""The bench's output: one row per figure, printed as a table and written as JSON with the machine."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One figure. `ratio` is project/baseline or baseline/project, whichever `ratio_note` says."""

    figure: str
    unit: str
    project: float | None
    baseline: float | None = None
    floor: float | None = None
    ratio: float | None = None
    ratio_note: str = ""
    target: str = ""
    met: bool | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(rows: list[Row]) -> str:
    """A Markdown table (pastes into the README as is)."""
    head = ["figure", "unit", "project", "baseline", "floor", "ratio", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        met = "-" if row.met is None else ("yes" if row.met else "**no**")
        ratio = f"{_fmt(row.ratio)} {row.ratio_note}".strip() if row.ratio is not None else "-"
        cells = [row.figure, row.unit, _fmt(row.project), _fmt(row.baseline), _fmt(row.floor), ratio]
        lines.append("| " + " | ".join([*cells, row.target or "-", met]) + " |")
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], settings: dict[str, Any], checks: dict[str, Any]) -> None:
    document = {
        "machine": machine(),
        "settings": settings,
        "checks": checks,
        "rows": [asdict(row) for row in rows],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
