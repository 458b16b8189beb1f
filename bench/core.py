"""Figure 1: the backfill core on log files, against the reference algorithm and the parse floor.

All three read the same gzipped files from memory (disk is not what is measured):

* project:   `backfill.work.ObjectEvaluator` per file, fed 256 KiB chunks as the CLI feeds them:
             streaming gunzip, record splitting, orjson, the window filter, the compiled rules,
             routing and rendering of every alert (preview destinations: Slack and SNS); the
             delivery itself is left out.
* reference: gunzip + json.loads + flatten + `eval()` of every rule string (bench/reference.py).
* floor:     gunzip + orjson.loads of every file, nothing else.

The reference is slow, so its throughput is measured on the first files of the corpus (the
project is timed on the same files for that ratio); its decisions on the whole corpus are checked
with the rule strings compiled once, which decides identically.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from backfill.config import load_backfill_settings
from backfill.window import TimeWindow
from backfill.work import ObjectEvaluator, build_evaluator
from bench import userrules
from bench.reference import Decisions, precompiled, run_reference
from bench.report import Row
from bench.timing import interleaved, interleaved_parts
from processor.app import build_rules

CHUNK = 256 * 1024

USER_RULES_ENV: Mapping[str, str] = {
    "RULES": userrules.rules_setting(),
    "IGNORE_RULES": userrules.ignore_setting(),
    "RULES_SEPARATOR": userrules.SEPARATOR,
}


@dataclass(frozen=True)
class Config:
    """A rule configuration: a name for the table and the environment a deployment would set."""

    name: str
    environ: Mapping[str, str]


DEFAULTS = Config("default rules", {})
WITH_USER_RULES = Config(f"default + {len(userrules.USER_RULES)} user rules", USER_RULES_ENV)


def evaluator(config: Config, *, full: bool = False) -> tuple[ObjectEvaluator, Any]:
    """The backfill's evaluator for `config`, with its fast path or with the full decode."""
    settings, preview = load_backfill_settings(config.environ, {}, send=False)
    # send=True keeps Alert objects in the batches (a dry run turns them into lines): the bench needs
    # them to compare decisions. Routing and rendering run either way; delivery is not measured.
    window = TimeWindow().event_filter()
    found = build_evaluator(settings, preview, window, send=True)
    if full:
        found = ObjectEvaluator(found._rules, found._router, window, as_lines=False)
    return found, build_rules(settings)


# Targets in floor time (issue 16).
TARGETS = {DEFAULTS.name: 0.75, WITH_USER_RULES.name: 1.0}
REFERENCE_TARGET = 25  # times the reference algorithm's speed


def run_project(
    evaluator: ObjectEvaluator, chunked: Sequence[Sequence[bytes]], first: int = 0
) -> tuple[int, Decisions]:
    """(events, decisions) through the backfill's per-object evaluator; file n is named f"{n}"
    (numbered from `first`)."""
    events = 0
    decisions: Decisions = {}
    for number, chunks in enumerate(chunked, start=first):
        for batch in evaluator.run(str(number), chunks):
            events += batch.counts.events
            for alert in batch.alerts:
                decisions[int(alert.record.item_id), alert.record.index] = ("matched", alert.rule.id)
    return events, decisions


def run_floor(files: Sequence[bytes]) -> int:
    events = 0
    for data in files:
        events += len(orjson.loads(gzip.decompress(data))["Records"])
    return events


def reference_rules(ruleset: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The deployment's rules in evaluation order, as (id, text) pairs for the reference."""
    rules = [(rule.ref.id, rule.ref.expression) for rule in ruleset.rules]
    ignore = [(rule.ref.id, rule.ref.expression) for rule in ruleset.ignore_rules]
    return rules, ignore


def _matched(decisions: Decisions) -> set[tuple[int, int, str]]:
    return {(f, i, rule) for (f, i), (kind, rule) in decisions.items() if kind == "matched"}


def measure_core(files: list[bytes], repeats: int, reference_events: int) -> tuple[list[Row], dict[str, Any]]:
    """Rows for both rule configurations, and the agreement checks."""
    chunked = [[data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] for data in files]
    subset = _prefix_with(files, reference_events)
    rows: list[Row] = []
    checks: dict[str, Any] = {}
    evaluators = {config.name: evaluator(config) for config in (DEFAULTS, WITH_USER_RULES)}
    full_name = f"{WITH_USER_RULES.name}, full decode"
    evaluators[full_name] = evaluator(WITH_USER_RULES, full=True)
    # Each round runs every contender on one part of the corpus after another (see timing.py).
    bounds = _parts(len(files), PARTS)
    contenders: dict[str, Any] = {"floor": lambda part: run_floor(files[slice(*bounds[part])])}
    for name, (object_evaluator, _) in evaluators.items():
        contenders[name] = lambda part, e=object_evaluator: run_project(
            e, chunked[slice(*bounds[part])], bounds[part][0]
        )
    timed = interleaved_parts(contenders, len(bounds), repeats)
    for name, entry in timed.items():
        entry.result = sum(entry.result) if name == "floor" else _joined(entry.result)
    floor = timed["floor"]
    events = floor.result
    for name in (DEFAULTS.name, WITH_USER_RULES.name, full_name):
        project = timed[name]
        ratio = project.ratio(floor)
        target = TARGETS.get(name)
        rows.append(
            Row(
                figure=f"backfill core, {name}",
                unit="events/s",
                project=events / project.cpu,
                floor=events / floor.cpu,
                ratio=ratio,
                ratio_note="x floor time",
                target=f"<= {target}x floor" if target else "",
                met=ratio <= target if target else None,
                extra={
                    "events": events,
                    "cpu_s": project.cpu,
                    "floor_cpu_s": floor.cpu,
                    "runs": [round(run, 4) for run in project.runs],
                    "floor_runs": [round(run, 4) for run in floor.runs],
                },
            )
        )
    checks["fast_path_equals_full_decode"] = _matched(timed[full_name].result[1]) == _matched(
        timed[WITH_USER_RULES.name].result[1]
    )

    # Against the reference: throughput on a prefix of the corpus, decisions on all of it.
    object_evaluator, ruleset = evaluators[WITH_USER_RULES.name]
    rules, ignore = reference_rules(ruleset)
    sub_chunked = chunked[: len(subset)]
    ref_timed = interleaved(
        {
            "reference": lambda: run_reference(subset, rules, ignore),
            "project": lambda: run_project(object_evaluator, sub_chunked),
            "floor": lambda: run_floor(subset),
        },
        repeats=1 if reference_events < 20_000 else 1,
    )
    sub_events = ref_timed["floor"].result
    speedup = ref_timed["reference"].ratio(ref_timed["project"])
    rows.append(
        Row(
            figure=f"backfill core vs reference, {WITH_USER_RULES.name}",
            unit="events/s",
            project=sub_events / ref_timed["project"].cpu,
            baseline=sub_events / ref_timed["reference"].cpu,
            floor=sub_events / ref_timed["floor"].cpu,
            ratio=speedup,
            ratio_note="x reference speed",
            target=f">= {REFERENCE_TARGET}x reference",
            met=speedup >= REFERENCE_TARGET,
            notes=f"first {len(subset)} files ({sub_events} events)",
        )
    )
    checks["reference_subset_mismatches"] = len(
        _matched(ref_timed["reference"].result[1]) ^ _matched(ref_timed["project"].result[1])
    )
    full_reference = run_reference(files, precompiled(rules), precompiled(ignore))
    project_full = timed[WITH_USER_RULES.name].result
    checks["events"] = {"floor": events, "project": project_full[0], "reference": full_reference[0]}
    checks["alerts"] = {"project": len(project_full[1]), "reference": len(_matched(full_reference[1]))}
    checks["alert_mismatches"] = len(_matched(full_reference[1]) ^ _matched(project_full[1]))
    checks["alerts_default_rules"] = len(timed[DEFAULTS.name].result[1])
    checks["ignored_by_reference"] = sum(1 for kind, _ in full_reference[1].values() if kind == "ignored")
    return rows, checks


# Parts of the corpus per round: each a few tenths of a second of the slowest contender.
PARTS = 10


def _parts(count: int, parts: int) -> list[tuple[int, int]]:
    """(start, end) of `parts` consecutive runs of `count` files, as even as they divide."""
    edges = [count * part // parts for part in range(parts + 1)]
    return [(start, end) for start, end in zip(edges, edges[1:], strict=False) if end > start]


def _joined(results: list[tuple[int, Decisions]]) -> tuple[int, Decisions]:
    """The (events, decisions) of the parts together."""
    decisions: Decisions = {}
    for _, found in results:
        decisions.update(found)
    return sum(events for events, _ in results), decisions


def _prefix_with(files: list[bytes], events: int) -> list[bytes]:
    """The first files holding at least `events` events (all of them if the corpus is smaller)."""
    total = 0
    for count, data in enumerate(files, start=1):
        total += len(orjson.loads(gzip.decompress(data))["Records"])
        if total >= events:
            return files[:count]
    return files
