"""Writing rule files for tests, and building rule sets from them the way the Lambda does."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from processor.rules import RulesReport, build_ruleset, check_rules
from processor.rules.ruleset import RuleSet

RULE = """\
id: acme.s3-bucket-deleted
title: S3 bucket deleted
description: Someone deleted a bucket.
severity: high
condition: >-
  event.get("eventName") == "DeleteBucket"
  and event.get("eventSource") == "s3.amazonaws.com"
tests:
  - name: bucket deleted
    alert: true
    event: {eventSource: s3.amazonaws.com, eventName: DeleteBucket}
  - name: bucket created
    alert: false
    event: {eventSource: s3.amazonaws.com, eventName: CreateBucket}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def options(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "rules": None,
        "ignore_rules": None,
        "events_to_track": None,
        "function_name": "trailalert",
        "use_default_rules": False,
    }
    values.update(overrides)
    return values


def report(**overrides: Any) -> RulesReport:
    return check_rules(**options(**overrides))


def ruleset(**overrides: Any) -> RuleSet:
    return build_ruleset(**options(**overrides))


def messages(report: RulesReport) -> list[str]:
    return [str(problem) for problem in report.problems]
