"""The reference module's algorithm (cloudtrail-to-slack), re-implemented as the bench's baseline.

Per log file: gunzip, `json.loads`; per record: flatten the whole record into a dict of dotted
leaf keys, then `eval()` each rule *string* against it, ignore rules first, stopping at the first
that `is True`. Kept deliberately naive: this is what the project is measured against.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from typing import Any

# (file index, record index) -> ("ignored" | "matched", rule id)
Decisions = dict[tuple[int, int], tuple[str, str]]


def flatten_json(record: Any) -> dict[str, Any]:
    """The reference flattening: dict keys joined by ".", list items by index, leaves only."""
    out: dict[str, Any] = {}

    def flatten(value: Any, name: str = "") -> None:
        if type(value) is dict:
            for key in value:
                flatten(value[key], name + key + ".")
        elif type(value) is list:
            for position, item in enumerate(value):
                flatten(item, name + str(position) + ".")
        else:
            out[name[:-1]] = value

    flatten(record)
    return out


def decide(
    flat: dict[str, Any], rules: Sequence[tuple[str, Any]], ignore_rules: Sequence[tuple[str, Any]]
) -> tuple[str, str] | None:
    """("ignored"|"matched", id) or None; each rule is a string (as the reference) or a code object."""
    for rule_id, rule in ignore_rules:
        try:
            if eval(rule, {}, {"event": flat}) is True:  # noqa: S307 - the reference's algorithm, on our own rules
                return "ignored", rule_id
        except Exception:  # noqa: S112 - the reference logs and tries the next rule
            continue
    for rule_id, rule in rules:
        try:
            if eval(rule, {}, {"event": flat}) is True:  # noqa: S307
                return "matched", rule_id
        except Exception:  # noqa: S112
            continue
    return None


def run_reference(
    files: Sequence[bytes],
    rules: Sequence[tuple[str, Any]],
    ignore_rules: Sequence[tuple[str, Any]],
    first_file: int = 0,
) -> tuple[int, Decisions]:
    """(events, decisions) over gzipped log files, exactly as the reference would decide them."""
    decisions: Decisions = {}
    events = 0
    for number, data in enumerate(files, start=first_file):
        for index, record in enumerate(json.loads(gzip.decompress(data))["Records"]):
            events += 1
            decision = decide(flatten_json(record), rules, ignore_rules)
            if decision is not None:
                decisions[number, index] = decision
    return events, decisions


def precompiled(rules: Sequence[tuple[str, str]]) -> list[tuple[str, Any]]:
    """The same rules compiled once: identical decisions, fast enough to check a whole corpus."""
    return [(rule_id, compile(text.lstrip(" \t"), "<rule>", "eval")) for rule_id, text in rules]
