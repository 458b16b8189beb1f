"""`make bench QUICK=1`: a row that misses its target is printed with the target and why a quick
run may miss it, for every row the bench can print with a target."""

from __future__ import annotations

import ast
from pathlib import Path

from bench.report import Row
from bench.run import QUICK_REASONS, quick_note

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _targeted_figures() -> list[str]:
    """The literal start of every `Row(figure=..., target=...)` the bench builds."""
    starts = []
    for path in sorted(BENCH.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Row"):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if "target" not in keywords or "figure" not in keywords:
                continue
            figure = keywords["figure"]
            first = figure.values[0] if isinstance(figure, ast.JoinedStr) else figure
            assert isinstance(first, ast.Constant), f"{path.name}: a figure should start with text"
            starts.append(first.value)
    return starts


def test_every_row_with_a_target_has_a_reason_a_quick_run_may_miss_it() -> None:
    starts = _targeted_figures()
    assert len(starts) >= 6
    assert [s for s in starts if not any(s.startswith(key) for key in QUICK_REASONS)] == []


def test_the_note_names_each_missed_row_its_target_and_the_reason() -> None:
    rows = [
        Row(
            "cold start: import processor.handler on top of the dependencies",
            "ms",
            260,
            target="<= 50 ms added",
        ),
        Row(
            "backfill CLI dry run, --workers 2 vs --workers 1 (the CLI's events/s)",
            "events/s",
            1,
            target=">= 1.7x",
        ),
    ]
    note = quick_note(rows)
    lines = [line for line in note.splitlines() if line.startswith("  - ")]
    assert lines[0].startswith(
        "  - cold start: import processor.handler on top of the dependencies: target <= 50 ms"
    )
    assert QUICK_REASONS["cold start"] in lines[0]
    assert "target >= 1.7x; two workers need two idle CPUs" in lines[1]
    assert "run `make bench`" in note
