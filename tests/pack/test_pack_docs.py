"""docs/pack.md is what `trailalert rules pack-table` prints from the rule files: never out of date."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from processor.cli import main
from processor.rules.files import load_rule_files

DOC = Path(__file__).resolve().parents[2] / "docs" / "pack.md"


def test_docs_pack_md_is_the_generated_table() -> None:
    result = CliRunner().invoke(main, ["rules", "pack-table"], env={})
    assert result.exit_code == 0, result.output
    assert DOC.read_text(encoding="utf-8") == result.output, (
        "docs/pack.md is out of date: run `trailalert rules pack-table > docs/pack.md`"
    )


def test_every_pack_rule_has_a_row_with_what_it_needs_forwarded() -> None:
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| `pack.")]
    ids = [rule.ref.id for rule in load_rule_files(None, use_pack=True).rules]
    assert [row.split("`")[1] for row in rows] == ids
    assert all("every event" not in row for row in rows), (
        "a pack rule would make real time forward everything"
    )
    insights = next(row for row in rows if "cloudtrail-insight-api-call-rate" in row)
    assert insights.endswith("| `eventType` `AwsCloudTrailInsight` |")


def test_every_pack_rule_has_a_runbook_and_an_attack_technique() -> None:
    for rule in load_rule_files(None, use_pack=True).rules:
        assert len(rule.ref.runbook) > 40, rule.ref.id
        assert any(ref.startswith("T1") for ref in rule.ref.references), rule.ref.id
