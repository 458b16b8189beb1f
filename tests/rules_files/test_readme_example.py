"""The rule file example in the README is valid and its inline tests pass."""

from __future__ import annotations

from pathlib import Path

from processor.rules.files import parse_sources
from processor.rules.files.inline import run_inline_tests

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_rule_file_example() -> None:
    section = README.read_text().split("## Rule files and the detection pack", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    load = parse_sources([("README.md", example)], setting="RULES_FILE")
    assert load.problems == ()
    assert [rule.ref.id for rule in load.rules] == ["acme.s3-bucket-deleted", "acme.kms-decrypt-burst"]
    results = run_inline_tests(load.rules)
    assert results and all(result.passed for result in results)
