"""`make bench` / `python -m bench`: generate (or reuse) the corpus, measure, print, write JSON.

Corpora are cached under build/bench/ (git-ignored), keyed by size and seed, so only the first
run pays for generating them.
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path
from typing import Any

import orjson

from bench.backfill_runs import measure_memory, measure_scaling
from bench.coldstart import measure_coldstart
from bench.core import USER_RULES_ENV, measure_core
from bench.corpus import corpus_files, read_manifest, write_corpus, write_large_file
from bench.lambda_path import measure_lambda
from bench.report import Row, machine, table, write_json

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "bench"

FULL = {"events": 100_000, "reference_events": 8_000, "large_mb": 400, "repeats": 5, "cold": 7}
QUICK = {"events": 10_000, "reference_events": 1_500, "large_mb": 40, "repeats": 2, "cold": 3}
# Why a quick run may miss each row's target (rows by the start of their figure).
QUICK_REASONS = {
    "backfill core": "a tenth of the corpus: the selector's memos, filled by the first record of each "
    "distinct value, and the rule set's set-up are a larger share of the run",
    "Lambda batch": "each batch timed twice instead of five times: one slow round on a busy machine "
    "moves the median",
    "cold start": "three fresh interpreters instead of seven: on a shared machine an import's time "
    "moves by tens of ms, and a median of three absorbs less of it",
    "backfill peak RSS": "4 and 40 MB inputs instead of 40 and 400: the interpreter's fixed memory is a "
    "larger share, so small changes look like growth",
    "backfill CLI dry run": "two workers need two idle CPUs, and on 10,000 events starting a worker "
    "process and importing the package is a large share of the run",
}
QUICK_NOTE = """
A quick run missed these targets (the target, then why a quick run may miss it):
{rows}
The targets are set for the full run (`make bench`): a quick run's corpus is a tenth of the size and
each figure is timed fewer times, so what does not grow with the input weighs more, and ratios move by
10-20% between two quick runs on a shared machine. A "no" here is a reason to run `make bench`, not a
regression in itself; docs/performance.md says what each row measures.{load}"""


def quick_note(missed: list[Row]) -> str:
    """The note a quick run prints under its table: each missed row's target and why it may be missed."""
    lines = []
    for row in missed:
        reason = next((why for start, why in QUICK_REASONS.items() if row.figure.startswith(start)), "")
        lines.append(f"  - {row.figure}: target {row.target}" + (f"; {reason}" if reason else ""))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    cpus = os.cpu_count() or 1
    busy = (
        f"\nThis machine was busy (load average {load:.1f} on {cpus} CPUs): its timings are not reliable."
        if load > cpus * 0.75
        else ""
    )
    return QUICK_NOTE.format(rows="\n".join(lines), load=busy)


def corpus(events: int, seed: int) -> Path:
    out = CACHE / f"corpus-{events}-{seed}"
    info = read_manifest(out)
    if info is None or info.events != events or info.seed != seed:
        print(f"writing a {events}-event corpus to {out} ...", flush=True)
        write_corpus(out, events, seed)
    return out


def large_file(megabytes: int, seed: int) -> tuple[Path, int]:
    folder = CACHE / f"large-{megabytes}-{seed}"
    path = (
        folder
        / "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/11/111122223333_CloudTrail_eu-west-1_20240311T0000Z_LARGE.json.gz"
    )
    size_file = folder / "raw_bytes"
    if not size_file.exists():
        print(f"writing one {megabytes} MB log file to {folder} ...", flush=True)
        info = write_large_file(path, megabytes, seed)
        size_file.write_text(str(info.raw_bytes))
    return path, int(size_file.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus: under a minute")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--events", type=int, help="override the corpus size")
    parser.add_argument("--only", nargs="*", choices=("core", "lambda", "cold", "memory", "scaling"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args(argv)
    plan: dict[str, Any] = dict(QUICK if args.quick else FULL)
    if args.events:
        plan["events"] = args.events
    wanted = set(args.only or ("core", "lambda", "cold", "memory", "scaling"))
    started = time.perf_counter()

    root = corpus(plan["events"], args.seed)
    paths = corpus_files(root)
    files = [path.read_bytes() for path in paths]
    raw_bytes = sum(len(gzip.decompress(data)) for data in files)
    rows: list[Row] = []
    checks: dict[str, Any] = {}

    if "core" in wanted:
        print("measuring the backfill core ...", flush=True)
        core_rows, core_checks = measure_core(files, plan["repeats"], plan["reference_events"])
        rows += core_rows
        checks.update(core_checks)
    if "lambda" in wanted:
        print("measuring the Lambda path ...", flush=True)
        records = [r for data in files[:10] for r in orjson.loads(gzip.decompress(data))["Records"]]
        lambda_rows, lambda_checks = measure_lambda(records, plan["repeats"])
        rows += lambda_rows
        checks.update(lambda_checks)
    if "cold" in wanted:
        print("measuring cold start ...", flush=True)
        cold_rows, _ = measure_coldstart(ROOT, plan["cold"])
        rows += cold_rows
    if "memory" in wanted:
        print("measuring backfill memory ...", flush=True)
        large, large_raw = large_file(plan["large_mb"], args.seed)
        medium, medium_raw = large_file(plan["large_mb"] // 10, args.seed)
        tenth = root / "tenth"  # a tenth of the corpus's files, linked, for the many-files pair
        if not tenth.exists():
            for path in paths[: max(1, len(paths) // 10)]:
                link = tenth / path.relative_to(root)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(path)
        tenth_raw = sum(len(gzip.decompress(p.read_bytes())) for p in corpus_files(tenth))
        pairs = {
            "one log file": (medium, medium_raw, large, large_raw),
            "many log files": (tenth, tenth_raw, root / "AWSLogs", raw_bytes),
        }
        memory_rows, peaks = measure_memory(pairs, USER_RULES_ENV, ROOT)
        rows += memory_rows
        checks["peak_rss_mb"] = peaks
    if "scaling" in wanted:
        print("measuring --workers scaling ...", flush=True)
        rows += measure_scaling(
            root / "AWSLogs", plan["events"], USER_RULES_ENV, ROOT, max(2, plan["repeats"] - 1)
        )

    settings = {
        **plan,
        "quick": args.quick,
        "seed": args.seed,
        "corpus": {"files": len(files), "compressed_bytes": sum(map(len, files)), "raw_bytes": raw_bytes},
        "seconds": round(time.perf_counter() - started, 1),
    }
    print()
    print(table(rows))
    print()
    info = machine()
    print(
        f"{info['cpu']} ({info['cpus']} CPUs), Python {info['python']}; corpus {plan['events']} events "
        f"in {len(files)} files ({raw_bytes / 2**20:,.0f} MB uncompressed); {settings['seconds']} s"
    )
    print("checks:", orjson.dumps(checks).decode())
    missed = [row for row in rows if row.met is False]
    if args.quick and missed:
        print(quick_note(missed))
    write_json(args.out, rows, settings, checks)
    print(f"written to {args.out}")
