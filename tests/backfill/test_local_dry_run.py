"""Local folders, the dry-run output, and unreadable objects among good ones."""

from __future__ import annotations

import gzip
import json

import orjson
import pytest
from click.testing import CliRunner

from processor.cli import main
from tests.backfill.trails import DEV, PROD, day, digest, log_file, write_folder


def test_dry_run_prints_one_json_line_per_alert_with_exact_payloads(tmp_path, backfill):
    files = [log_file(PROD, "eu-west-1", day(1), alerts=2), log_file(DEV, "us-east-1", day(2))]
    write_folder(tmp_path, files)

    run = backfill(str(tmp_path))

    assert run.exit_code == 0, run.stderr
    assert len(run.alerts) == 3
    first = run.alerts[0]
    assert set(first) >= {"eventID", "eventName", "eventTime", "account", "rule", "destinations", "source"}
    assert first["eventName"] == "CreateUser" and first["rule"] == "RULES[0]"
    assert first["destinations"] == []  # preview: nothing is configured, nothing would be sent
    assert first["slack"]["blocks"] and first["slack"]["text"]
    assert first["sns"]["event_id"] == first["eventID"]
    assert first["source"] == {"object": str(tmp_path / files[0].key), "index": 0}
    assert "alerts: 3" in run.stderr


def test_configured_destinations_are_named_without_secrets(tmp_path, backfill, monkeypatch):
    hook = "https://hooks.slack.com/services/T000/B000/very-secret"
    monkeypatch.setenv("HOOK_URL", hook)
    monkeypatch.setenv("DEFAULT_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:alerts")
    write_folder(tmp_path, [log_file(PROD, "eu-west-1", day(1))])

    run = backfill(str(tmp_path))

    (alert,) = run.alerts
    assert alert["destinations"][0].startswith("slack_webhook:")
    assert alert["destinations"][1] == "sns:arn:aws:sns:us-east-1:111122223333:alerts"
    assert "very-secret" not in run.result.stdout


def test_send_without_destinations_fails_naming_the_setting(tmp_path, backfill):
    write_folder(tmp_path, [log_file(PROD, "eu-west-1", day(1))])

    run = backfill(str(tmp_path), "--send")

    assert run.exit_code == 2
    assert "no destination configured" in run.stderr


def test_unreadable_objects_are_named_and_the_others_processed(tmp_path, backfill):
    good = [log_file(PROD, "eu-west-1", day(1)), log_file(PROD, "eu-west-1", day(3))]
    folder = f"AWSLogs/{PROD}/CloudTrail/eu-west-1/2026/11/02/"
    digest_key, digest_body = digest(PROD, "eu-west-1", day(2))
    extra = {
        folder + f"{PROD}_CloudTrail_eu-west-1_20261102T1200Z_corrupt.json.gz": gzip.compress(
            b'{"Records": ['
        )[:-6],
        folder + f"{PROD}_CloudTrail_eu-west-1_20261102T1300Z_other.json.gz": gzip.compress(
            b'{"hello": "world"}'
        ),
        folder + f"{PROD}_CloudTrail_eu-west-1_20261102T1400Z_plain.json": orjson.dumps(
            {"Records": list(log_file(PROD, "eu-west-1", day(2)).events) + [{"not": "cloudtrail"}]}
        ),
        digest_key: digest_body,
        "README.txt": b"not a log file",
    }
    write_folder(tmp_path, good, extra=extra)
    summary_path = tmp_path / "summary.json"

    run = backfill(str(tmp_path), "--summary-json", str(summary_path))

    assert run.exit_code == 1
    assert len(run.alerts) == 3  # both good files and the plain .json one
    summary = json.loads(summary_path.read_text())
    failed = {entry["object"].rsplit("_", 1)[-1]: entry["reason"] for entry in summary["objects"]["failed"]}
    assert failed == {
        "corrupt.json.gz": failed["corrupt.json.gz"],
        "other.json.gz": "JSON object has no 'Records' array: it is not a CloudTrail log file",
    }
    assert failed["corrupt.json.gz"].startswith("gzip data is truncated")
    assert summary["objects"]["processed"] == 3
    assert summary["objects"]["skipped_digest"] == 1
    assert summary["objects"]["skipped_not_log_files"] == 1
    assert summary["events"]["undecodable"] == 1
    assert "corrupt.json.gz: gzip data is truncated" in run.stderr
    assert "other.json.gz: JSON object has no 'Records' array" in run.stderr


def test_a_single_file_can_be_given(tmp_path, backfill):
    (f,) = write_folder(tmp_path, [log_file(PROD, "eu-west-1", day(1))]).glob("**/*.json.gz")

    run = backfill(str(f), "--rules", "event['eventName'] == 'DescribeInstances'")

    assert [a["eventName"] for a in run.alerts] == ["DescribeInstances", "DescribeInstances"]


def test_bad_flags_are_usage_errors(tmp_path, backfill):
    assert backfill(str(tmp_path), "--start", "yesterday").exit_code == 2
    assert backfill(str(tmp_path), "--start", "2026-11-02", "--end", "2026-11-01").exit_code == 2
    assert backfill("s3://").exit_code == 2
    assert backfill(str(tmp_path / "missing")).exit_code == 2


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_bad_rule_is_a_configuration_error_naming_the_setting(tmp_path, backfill, workers):
    """Exit 2 with the setting and the reason, like any bad setting: no traceback, no dead worker."""
    write_folder(tmp_path, [log_file(PROD, "eu-west-1", day(1))])

    result = CliRunner().invoke(
        main, ["backfill", str(tmp_path), "--rules", "event[", "--workers", workers], catch_exceptions=True
    )

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "RULES: rule 'event[' rejected" in result.stderr
    assert "Traceback" not in result.stderr and "died" not in result.stderr
