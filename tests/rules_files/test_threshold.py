"""A rule with a threshold alerts on the Nth match in its window, per group, in event time."""

from __future__ import annotations

from pathlib import Path

from tests.rules_files.helpers import ruleset, write

BURST = """\
rules:
  - id: secrets-burst
    title: Many secrets read
    description: d
    severity: high
    condition: event.get("eventName") == "GetSecretValue"
    threshold: {count: 3, window_seconds: 60}
    group_by: [userIdentity.arn]
  - id: any-secret-read
    title: A secret read
    description: d
    severity: info
    condition: event.get("eventName") == "GetSecretValue" and event.get("x") == 1
"""


def _read(second: int, who: str = "alice", **extra: object) -> dict[str, object]:
    return {
        "eventName": "GetSecretValue",
        "eventTime": f"2024-08-01T12:{second // 60:02d}:{second % 60:02d}Z",
        "userIdentity": {"arn": f"arn:aws:iam::111122223333:user/{who}"},
        **extra,
    }


def _matches(tmp_path: Path, events: list[dict[str, object]]) -> list[str | None]:
    rules = ruleset(rules_file=str(write(tmp_path, "r.yml", BURST)))
    return [getattr(rules.evaluate(event).matched, "id", None) for event in events]


def test_the_third_read_within_the_window_alerts_once(tmp_path: Path) -> None:
    assert _matches(tmp_path, [_read(0), _read(10), _read(20), _read(30)]) == [
        None,
        None,
        "secrets-burst",
        None,
    ]


def test_reads_outside_the_window_do_not_add_up(tmp_path: Path) -> None:
    assert _matches(tmp_path, [_read(0), _read(50), _read(120), _read(170)]) == [None, None, None, None]


def test_groups_count_separately(tmp_path: Path) -> None:
    events = [_read(0, "alice"), _read(1, "bob"), _read(2, "alice"), _read(3, "bob"), _read(4, "alice")]
    assert _matches(tmp_path, events) == [None, None, None, None, "secrets-burst"]


def test_below_the_threshold_the_next_rules_still_run(tmp_path: Path) -> None:
    assert _matches(tmp_path, [_read(0, x=1), _read(1, x=1), _read(2, x=1)]) == [
        "any-secret-read",
        "any-secret-read",
        "secrets-burst",
    ]


NAMES_BURST = """\
id: parameters-burst
title: Many parameters read
description: d
severity: high
condition: event.get("eventName") == "GetParameters"
threshold: {count: 20, window_seconds: 300, count_values: requestParameters.names}
group_by: [userIdentity.arn]
"""


def _names(second: int, count: int) -> dict[str, object]:
    return {**_read(second), "eventName": "GetParameters", "requestParameters": {"names": ["/p"] * count}}


def test_count_values_counts_the_items_of_a_list_not_the_calls(tmp_path: Path) -> None:
    """Stratus Red Team reads its parameters ten at a time: the third call of ten is the 20th read."""
    rules = ruleset(rules_file=str(write(tmp_path, "r.yml", NAMES_BURST)))
    matched = [getattr(rules.evaluate(e).matched, "id", None) for e in (_names(0, 10), _names(1, 9))]
    assert matched == [None, None]
    assert rules.evaluate(_names(2, 1)).matched.id == "parameters-burst"
    # a match without the list counts once; an attacker's huge list counts at most one burst
    assert [rules.evaluate({**_read(3), "eventName": "GetParameters"}).matched for _ in range(19)] == [
        None
    ] * 19
    assert rules.evaluate(_names(4, 10**6)).matched.id == "parameters-burst"
