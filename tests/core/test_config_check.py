"""`trailalert config check`: the Lambda's whole configuration, every problem named, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import boto3
from click.testing import CliRunner

from processor.cli import main

SNS = "arn:aws:sns:us-east-1:111122223333:alerts"


def check(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["config", "check", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_a_good_configuration_lists_its_settings_destinations_and_rules():
    code, out, err = check(
        {
            "DEFAULT_SNS_TOPIC_ARN": SNS,
            "USE_DETECTION_PACK": "true",
            "HOOK_URL": "https://hooks.slack.com/x/y",
        }
    )
    assert code == 0, err
    assert "DEFAULT_SNS_TOPIC_ARN" in out and SNS in out
    assert "HOOK_URL" in out and "hooks.slack.com" not in out, "a secret is never printed"
    assert "Slack webhook" in out and "SNS (default topic" in out
    assert "rules: 168 active" in out and "configuration OK" in out


def test_every_problem_is_named_and_the_exit_status_fails_ci():
    code, _, err = check({"DEFAULT_SNS_TOPIC_ARN": SNS, "SNS_CONFIGURATION": "[{", "RULES": "open('x')"})
    assert code == 1
    assert "2 problem(s)" in err
    assert "SNS_CONFIGURATION: is not valid JSON" in err
    assert "RULES: rule \"open('x')\" rejected" in err


def test_no_destination_is_a_problem():
    code, _, err = check({})
    assert code == 1 and "no destination configured" in err


def test_a_rule_file_routing_to_slack_needs_the_slack_app(tmp_path: Path):
    rule = tmp_path / "page.yml"
    rule.write_text(
        "id: acme.page\ntitle: t\ndescription: d\nseverity: high\n"
        'condition: event.get("eventName") == "X"\ndestinations: {slack_channel_id: C0PAGE}\n',
        encoding="utf-8",
    )
    code, _, err = check({"DEFAULT_SNS_TOPIC_ARN": SNS, "RULES_FILE": str(rule)})
    assert code == 1 and "RULES_FILE: rule 'acme.page'" in err and "SLACK_BOT_TOKEN" in err


def test_secret_references_are_read_only_when_asked(aws: str):
    ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=aws)
    ssm.put_parameter(Name="/ta/token", Value="xoxb-1 2", Type="SecureString")  # a copy-paste error
    env = {
        "SLACK_BOT_TOKEN_SECRET": "/ta/token",
        "DEFAULT_SLACK_CHANNEL_ID": "C0123",
        "AWS_ENDPOINT_URL": aws,
    }

    code, out, _ = check(env)
    assert code == 0 and "not read: --resolve-secrets reads it" in out

    code, out, err = check(env, "--resolve-secrets")
    assert code == 1 and "SLACK_BOT_TOKEN: contains whitespace" in err
    assert "xoxb" not in out + err

    ssm.put_parameter(Name="/ta/token", Value="xoxb-1-2", Type="SecureString", Overwrite=True)
    code, out, err = check(env, "--resolve-secrets")
    assert code == 0, err
