"""Every problem in a rule file names the file and the line to fix, and all of them are reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rules_files.helpers import RULE, messages, report, write


def test_a_valid_file_compiles_with_its_metadata(tmp_path: Path) -> None:
    path = write(tmp_path, "rules.yml", RULE)
    result = report(rules_file=str(path))
    assert result.ok, messages(result)
    (check,) = result.checks
    assert check.ref.id == "acme.s3-bucket-deleted"
    assert check.ref.severity == "high" and check.ref.title == "S3 bucket deleted"
    assert check.ref.origin == f"RULES_FILE {path}:1"
    assert check.expression is not None
    assert [guard.key for guard in check.expression.guards] == ["eventName", "eventSource"]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("id: a\ntitle: t\ndescription: d\nseverity: urgent\ncondition: 'True'\n", 4, "severity 'urgent'"),
        ("id: a\ntitle: t\ndescription: d\nseverity: low\n", 1, "missing required key 'condition'"),
        (
            "id: a\ntitle: t\ndescription: d\nseverity: low\nconditon: 'True'\ncondition: 'True'\n",
            5,
            "unknown key 'conditon'",
        ),
        ("id: a b\ntitle: t\ndescription: d\nseverity: low\ncondition: 'True'\n", 1, "id 'a b'"),
        (
            "id: a\ntitle: t\ndescription: d\nseverity: low\ncondition: 'True'\ntitle: again\n",
            6,
            "duplicate key 'title'",
        ),
        ("id: a\ntitle: [unclosed\n", 3, "invalid YAML"),
        ("- just\n- a list\n", 1, "expected a rule"),
        (
            "id: a\ntitle: t\ndescription: d\nseverity: low\ncondition: 'True'\nthreshold: {count: 0}\n",
            6,
            "threshold count",
        ),
        (
            "id: a\ntitle: t\ndescription: d\nseverity: low\ncondition: 'True'\nthreshold: {count: 2, count_values: [x]}\n",
            6,
            "count_values must be a key",
        ),
        (
            "id: a\ntitle: t\ndescription: d\nseverity: low\ncondition: 'True'\nrunbook: ''\n",
            6,
            "'runbook' must be",
        ),
        (
            "id: a\ntitle: t\ndescription: d\nseverity: low\ncondition: 'True'\ndestinations: {pager: x}\n",
            6,
            "unknown destination 'pager'",
        ),
        (
            "id: a\ntitle: t\ndescription: d\nseverity: low\ncondition: 'True'\ntests:\n  - name: x\n    alert: maybe\n    event: {}\n",
            8,
            "alert must be true or false",
        ),
    ],
)
def test_schema_errors_point_at_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = write(tmp_path, "bad.yml", text)
    result = report(rules_file=str(path))
    assert not result.ok
    found = [m for m in messages(result) if f"{path}:{line}:" in m]
    assert found, messages(result)
    assert fragment in found[0] and found[0].startswith("RULES_FILE: ")


def test_an_unsafe_condition_points_at_the_condition_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "unsafe.yml",
        """\
        rules:
          - id: ok-rule
            title: t
            description: d
            severity: low
            condition: event.get("eventName") == "A"
          - id: evil
            title: t
            description: d
            severity: low
            condition: __import__("os").system("id")
        """,
    )
    result = report(rules_file=str(path))
    (problem,) = messages(result)
    assert f"{path}:11: rule 'evil':" in problem and "not allowed" in problem
    assert [c.ok for c in result.checks] == [True, False]


def test_every_bad_file_of_a_folder_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a/one.yml", "id: x\n")
    write(tmp_path, "b/two.yaml", "id: y\ntitle: [\n")
    write(tmp_path, "b/notes.txt", "not a rule file")
    result = report(rules_file=str(tmp_path))
    text = "\n".join(messages(result))
    assert f"{tmp_path}/a/one.yml:1" in text and f"{tmp_path}/b/two.yaml:" in text
    assert "notes.txt" not in text


def test_missing_path_and_empty_folder_are_errors(tmp_path: Path) -> None:
    assert "no such file or folder" in messages(report(rules_file=str(tmp_path / "nope.yml")))[0]
    assert "no .yml or .yaml files" in messages(report(rules_file=str(tmp_path)))[0]


def test_yaml_dates_stay_strings_like_cloudtrail_json(tmp_path: Path) -> None:
    from processor.rules.files import load_rule_files

    write(
        tmp_path,
        "r.yml",
        RULE.replace(
            "{eventSource: s3.amazonaws.com, eventName: DeleteBucket}",
            "{eventName: DeleteBucket, eventTime: 2024-08-01T12:00:00Z}",
        ),
    )
    (rule,) = load_rule_files(str(tmp_path / "r.yml")).rules
    assert rule.tests[0].event == {"eventName": "DeleteBucket", "eventTime": "2024-08-01T12:00:00Z"}
