"""The rule file schema: YAML values in, RuleDefinitions out, every problem with its file and line.

A file holds one rule (a mapping with `id`) or several (`rules: [...]`). Each rule:

    id, title, description, severity (info/low/medium/high/critical), condition   (required)
    references: [ids or URLs]          group_by: [flat keys]          runbook: what to check first
    threshold: {count: N, window_seconds: S[, count_values: key of a list whose items each count]}
    destinations: {slack_channel_id: C…, sns_topic_arn: arn:…}
    tests: [{name, event: {partial CloudTrail record}, alert: true|false}]

Unknown keys are errors, so a typo (`serverity`) never silently drops a setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from processor.models import SEVERITIES, Destination, DestinationKind, RuleRef, Threshold
from processor.rules.files.errors import RuleFileError
from processor.rules.files.yamlload import LineDict, LineList, plain

ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
MAX_WINDOW_SECONDS: Final[int] = 86_400
_REQUIRED: Final = ("id", "title", "description", "severity", "condition")
_OPTIONAL: Final = ("references", "threshold", "group_by", "destinations", "tests", "runbook")
_TEST_KEYS: Final = frozenset({"name", "event", "alert"})
_DESTINATION_KEYS: Final = {
    "slack_channel_id": DestinationKind.SLACK_APP,
    "sns_topic_arn": DestinationKind.SNS,
}


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: a file name (as the user gave it) and a 1-based line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class RuleTest:
    """An inline test: this (partial) event must, or must not, make the rule alert."""

    name: str
    event: dict[str, Any]
    alert: bool
    location: Location


@dataclass(frozen=True, slots=True)
class RuleDefinition:
    """One rule as written in a file, not yet compiled. `condition_location` is where errors point."""

    ref: RuleRef
    condition: str
    tests: tuple[RuleTest, ...]
    location: Location
    condition_location: Location
    setting: str  # RULES_FILE or USE_DETECTION_PACK: what a user changes to drop the file


def parse_document(
    document: Any, *, setting: str, path: str
) -> tuple[list[RuleDefinition], list[RuleFileError]]:
    """Every valid rule of one parsed file, and a problem for every invalid one (not only the first)."""

    def problem(line: int, message: str) -> RuleFileError:
        return RuleFileError(setting, path, line, message)

    if document is None:
        return [], [problem(0, "the file is empty")]
    if not isinstance(document, LineDict):
        return [], [
            problem(getattr(document, "line", 1), "expected a rule (a mapping with id) or rules: [...]")
        ]
    if "id" in document:
        items, lines = [document], [document.line]
    elif set(document) == {"rules"} and isinstance(document["rules"], LineList):
        items, lines = list(document["rules"]), document["rules"].item_lines
    else:
        return [], [
            problem(document.line, "expected a rule (a mapping with id) or only the key rules: [...]")
        ]
    rules: list[RuleDefinition] = []
    problems: list[RuleFileError] = []
    for item, line in zip(items, lines, strict=True):
        try:
            rules.append(_rule(item, line, setting, path))
        except RuleFileError as exc:
            problems.append(exc)
    return rules, problems


def _rule(item: Any, line: int, setting: str, path: str) -> RuleDefinition:
    def fail(at: int, message: str) -> RuleFileError:
        return RuleFileError(setting, path, at, message)

    if not isinstance(item, LineDict):
        raise fail(line, "a rule must be a mapping")
    label = f"rule {item['id']!r}" if isinstance(item.get("id"), str) else "rule"
    unknown = [key for key in item if key not in _REQUIRED and key not in _OPTIONAL]
    if unknown:
        raise fail(
            item.line_of(unknown[0]),
            f"{label}: unknown key {unknown[0]!r} (allowed: {', '.join(_REQUIRED + _OPTIONAL)})",
        )
    for key in _REQUIRED:
        if key not in item:
            raise fail(item.line, f"{label}: missing required key {key!r}")
    for key in (*_REQUIRED, "runbook"):
        if key in item and (not isinstance(item[key], str) or not item[key].strip()):
            raise fail(item.line_of(key), f"{label}: {key!r} must be a non-empty string")
    rule_id = item["id"].strip()
    if not ID_PATTERN.fullmatch(rule_id):
        raise fail(item.line_of("id"), f"id {rule_id!r} must be letters, digits and . _ : - (at most 128)")
    severity = item["severity"].strip().lower()
    if severity not in SEVERITIES:
        raise fail(
            item.line_of("severity"),
            f"{label}: severity {item['severity']!r} is not one of {', '.join(SEVERITIES)}",
        )
    location = Location(path, item.line)
    ref = RuleRef(
        id=rule_id,
        expression=item["condition"].strip(),
        origin=f"{setting} {location}",
        title=item["title"].strip(),
        severity=severity,
        description=item["description"].strip(),
        references=_strings(item, "references", label, fail),
        destinations=_destinations(item, label, fail),
        threshold=_threshold(item, label, fail),
        group_by=_strings(item, "group_by", label, fail),
        runbook=str(item.get("runbook", "")).strip(),
    )
    return RuleDefinition(
        ref=ref,
        condition=ref.expression,
        tests=_tests(item, label, fail, path),
        location=location,
        condition_location=Location(path, item.line_of("condition")),
        setting=setting,
    )


def _strings(item: LineDict, key: str, label: str, fail: Any) -> tuple[str, ...]:
    value = item.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(item.line_of(key), f"{label}: {key!r} must be a list of strings")
    return tuple(v.strip() for v in value)


def _destinations(item: LineDict, label: str, fail: Any) -> tuple[Destination, ...]:
    value = item.get("destinations")
    if value is None:
        return ()
    if not isinstance(value, LineDict) or not value:
        raise fail(
            item.line_of("destinations"), f"{label}: destinations must map slack_channel_id / sns_topic_arn"
        )
    found = []
    for key, target in value.items():
        kind = _DESTINATION_KEYS.get(key)
        if kind is None:
            raise fail(
                value.line_of(key),
                f"{label}: unknown destination {key!r} (allowed: {', '.join(_DESTINATION_KEYS)})",
            )
        if not isinstance(target, str) or not target.strip():
            raise fail(value.line_of(key), f"{label}: {key!r} must be a non-empty string")
        if kind is DestinationKind.SNS and not (target.startswith("arn:") and target.count(":") >= 5):
            raise fail(value.line_of(key), f"{label}: {target!r} is not an SNS topic ARN")
        found.append(Destination(kind, target.strip()))
    return tuple(found)


def _threshold(item: LineDict, label: str, fail: Any) -> Threshold | None:
    value = item.get("threshold")
    if value is None:
        return None
    where = item.line_of("threshold")
    if (
        not isinstance(value, LineDict)
        or set(value) - {"count", "window_seconds", "count_values"}
        or "count" not in value
    ):
        raise fail(where, f"{label}: threshold must be {{count: N, window_seconds: S[, count_values: key]}}")
    count, window = value["count"], value.get("window_seconds", 300)
    if type(count) is not int or count < 1:
        raise fail(value.line_of("count"), f"{label}: threshold count must be a whole number >= 1")
    if type(window) is not int or not 1 <= window <= MAX_WINDOW_SECONDS:
        raise fail(
            value.line_of("window_seconds"), f"{label}: window_seconds must be 1 to {MAX_WINDOW_SECONDS}"
        )
    count_values = value.get("count_values", "")
    if not isinstance(count_values, str) or ("count_values" in value and not count_values.strip()):
        raise fail(value.line_of("count_values"), f"{label}: count_values must be a key (a.b.c)")
    return Threshold(count=count, window_seconds=window, count_values=count_values.strip())


def _tests(item: LineDict, label: str, fail: Any, path: str) -> tuple[RuleTest, ...]:
    value = item.get("tests")
    if value is None:
        return ()
    if not isinstance(value, LineList):
        raise fail(item.line_of("tests"), f"{label}: tests must be a list")
    tests = []
    for test, line in zip(value, value.item_lines, strict=True):
        if not isinstance(test, LineDict):
            raise fail(line, f"{label}: a test must be a mapping with name, event and alert")
        unknown = set(test) - _TEST_KEYS
        missing = _TEST_KEYS - set(test)
        if unknown or missing:
            what = f"unknown key {sorted(unknown)[0]!r}" if unknown else f"missing {sorted(missing)[0]!r}"
            raise fail(test.line, f"{label}: test {what} (a test has name, event and alert)")
        if not isinstance(test["name"], str) or not test["name"].strip():
            raise fail(test.line_of("name"), f"{label}: test name must be a non-empty string")
        if not isinstance(test["event"], LineDict):
            raise fail(test.line_of("event"), f"{label}: test event must be a mapping (a CloudTrail record)")
        if type(test["alert"]) is not bool:
            raise fail(test.line_of("alert"), f"{label}: test alert must be true or false")
        tests.append(
            RuleTest(test["name"].strip(), plain(test["event"]), test["alert"], Location(path, test.line))
        )
    names = [test.name for test in tests]
    for test in tests:
        if names.count(test.name) > 1:
            raise fail(test.location.line, f"{label}: two tests are named {test.name!r}")
    return tuple(tests)
