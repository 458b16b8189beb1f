"""`trailalert rules test`, `rules list` and `rules check` on rule files."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from processor.cli import main
from tests.rules_files.helpers import RULE, write


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env or {})
    return result.exit_code, result.stdout, result.stderr


def test_rules_test_prints_a_table_and_passes(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", RULE)
    code, out, _ = _run("rules", "test", str(path))
    assert code == 0, out
    assert out.count("PASS") == 2 and "bucket deleted" in out and "2 passed, 0 failed, 1 rules" in out


def test_rules_test_fails_on_a_wrong_expectation_and_says_where(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", RULE.replace("alert: false", "alert: true"))
    code, out, _ = _run("rules", "test", str(path))
    assert code == 1
    assert "FAIL" in out and "expects alert, got no alert" in out and f"({path}:12)" in out


def test_a_rule_that_raises_on_its_test_event_fails(tmp_path: Path) -> None:
    path = write(
        tmp_path, "r.yml", RULE.replace('event.get("eventName") == "DeleteBucket"', 'event["missing"] == 1')
    )
    code, out, _ = _run("rules", "test", str(path))
    assert code == 1 and "KeyError" in out


def test_rules_test_reads_rules_file_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", RULE)
    assert _run("rules", "test", env={"RULES_FILE": str(path)})[0] == 0


def test_rules_test_with_nothing_to_test_is_a_usage_error() -> None:
    code, _, err = _run("rules", "test")
    assert code == 2 and "nothing to test" in err


def test_rules_test_reports_invalid_files(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", "id: x\n")
    code, _, err = _run("rules", "test", str(path))
    assert code == 1 and f"{path}:1" in err


def test_rules_check_validates_files_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "good.yml", RULE)
    bad = write(
        tmp_path,
        "bad.yml",
        RULE.replace("acme.s3-bucket-deleted", "acme.bad").replace("severity: high", "severity: severe"),
    )
    code, out, err = _run("rules", "check", "--rules-file", str(tmp_path))
    assert code == 1
    assert "acme.s3-bucket-deleted" in out
    assert f"{bad}:4: rule 'acme.bad': severity 'severe'" in err


def test_rules_list_shows_id_severity_origin_and_title(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", RULE)
    code, out, _ = _run("rules", "list", "--rules-file", str(path), "--rules", "event.get('a') == 1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "severity", "origin", "title"]
    assert "RULES[0]" in lines[1]
    assert "acme.s3-bucket-deleted" in lines[2] and "high" in lines[2] and f"{path}:1" in lines[2]
    assert "S3 bucket deleted" in lines[2]
    assert any(line.startswith("default.access-denied") for line in lines)
    assert "11 active rules" in out
