"""Fixture loading and the reference engine (flatten + eval) the tests compare against."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
FUNCTION_NAME = "acme-trailalert"


def load(name: str) -> dict[str, Any]:
    """One fixture record by scenario name (file name without .json); a fresh copy each time."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def all_fixtures() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))}


def flatten_json(record: Any) -> dict[str, Any]:
    """The reference flattening: keys joined by ".", list items by index, leaves only."""
    out: dict[str, Any] = {}

    def walk(value: Any, name: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, name + key + ".")
        elif isinstance(value, list):
            for position, child in enumerate(value):
                walk(child, name + str(position) + ".")
        else:
            out[name[:-1]] = value

    walk(record, "")
    return out


def reference_verdict(
    event: dict[str, Any], rules: list[tuple[str, str]], ignore_rules: list[tuple[str, str]] = ()
) -> tuple[str | None, str | None, list[tuple[str, str]]]:
    """(ignored_by id, matched id, [(rule id, error)]) exactly as the reference decides them."""
    flat = flatten_json(event)
    failures: list[tuple[str, str]] = []
    for rule_id, text in ignore_rules:
        try:
            if eval(text, {}, {"event": flat}) is True:
                return rule_id, None, failures
        except Exception as exc:
            failures.append((rule_id, f"{type(exc).__name__}: {exc}"))
    for rule_id, text in rules:
        try:
            if eval(text, {}, {"event": flat}) is True:
                return None, rule_id, failures
        except Exception as exc:
            failures.append((rule_id, f"{type(exc).__name__}: {exc}"))
    return None, None, failures


def summarize(verdict: Any) -> tuple[str | None, str | None, list[tuple[str, str]]]:
    """A Verdict in the shape reference_verdict returns."""
    return (
        verdict.ignored_by.id if verdict.ignored_by else None,
        verdict.matched.id if verdict.matched else None,
        [(failure.rule.id, failure.error) for failure in verdict.failures],
    )


def variants(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The record plus damaged copies: missing/null/odd-typed fields the rules must survive."""
    yield event
    for key, value in (
        ("eventName", None),
        ("eventSource", None),
        ("errorCode", None),
        ("eventName", 7),
        ("userIdentity", "null"),
        ("userIdentity", None),
        ("userIdentity", {}),
        ("userIdentity", []),
        ("requestParameters", {"a.b": 1, "a": {"b": 2}}),
        ("eventName", ["ConsoleLogin"]),
        ("eventSource", "cloudtrail.amazonaws.com"),
        ("eventName", "StopLogging"),
    ):
        damaged = copy.deepcopy(event)
        damaged[key] = value
        yield damaged
    for key in ("eventName", "eventSource", "userIdentity", "errorCode", "responseElements"):
        if key in event:
            damaged = copy.deepcopy(event)
            del damaged[key]
            yield damaged
