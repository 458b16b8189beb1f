"""The rule file example of docs/rule-files.md is valid and its inline tests pass."""

from __future__ import annotations

from pathlib import Path

from processor.rules.files import parse_sources
from processor.rules.files.inline import run_inline_tests

RULE_FILES = Path(__file__).resolve().parents[2] / "docs" / "rule-files.md"


def test_rule_file_example() -> None:
    section = RULE_FILES.read_text()
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    load = parse_sources([("docs/rule-files.md", example)], setting="RULES_FILE")
    assert load.problems == ()
    assert [rule.ref.id for rule in load.rules] == ["acme.s3-bucket-deleted", "acme.kms-decrypt-burst"]
    results = run_inline_tests(load.rules)
    assert results and all(result.passed for result in results)
