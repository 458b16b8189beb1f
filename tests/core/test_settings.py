"""Configuration is read once, with the reference module's names, and bad values fail at start."""

from __future__ import annotations

import orjson
import pytest

from processor.errors import ConfigError
from processor.settings import load_settings

SNS = {"DEFAULT_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:alerts"}


def test_sns_alone_is_a_valid_configuration() -> None:
    settings = load_settings(SNS)
    assert settings.uses_sns and not settings.uses_slack_app and not settings.uses_webhook


def test_reference_defaults_apply_when_unset() -> None:
    settings = load_settings(SNS)
    assert settings.rules_separator == ","
    assert settings.use_default_rules is True
    assert settings.rule_evaluation_errors_to_slack is True
    assert settings.dynamodb_time_to_live == 900
    assert settings.slack_api_url == "https://slack.com/api/"


@pytest.mark.parametrize("raw, expected", [("false", False), ("0", False), ("FALSE", False), ("true", True)])
def test_booleans_accept_terraform_spellings(raw: str, expected: bool) -> None:
    assert load_settings({**SNS, "USE_DEFAULT_RULES": raw}).use_default_rules is expected
    assert (
        load_settings({**SNS, "RULE_EVALUATION_ERRORS_TO_SLACK": raw}).rule_evaluation_errors_to_slack
        is expected
    )


@pytest.mark.parametrize(
    "env, setting",
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "DEFAULT_SLACK_CHANNEL_ID"),
        ({**SNS, "USE_DEFAULT_RULES": "maybe"}, "USE_DEFAULT_RULES"),
        ({**SNS, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({**SNS, "DYNAMODB_TIME_TO_LIVE": "15m"}, "DYNAMODB_TIME_TO_LIVE"),
        ({**SNS, "SLACK_APP_CONFIGURATION": "[{"}, "SLACK_APP_CONFIGURATION"),
        ({**SNS, "SNS_CONFIGURATION": '[{"accounts": "111", "sns_topic_arn": "x"}]'}, "SNS_CONFIGURATION"),
        ({"DEFAULT_SNS_TOPIC_ARN": "alerts"}, "DEFAULT_SNS_TOPIC_ARN"),
        ({"HOOK_URL": "hooks.slack.com/x"}, "HOOK_URL"),
        ({**SNS, "CONFIGURATION": '[{"accounts": ["1"], "slack_hook_url": "https://h"}]'}, "CONFIGURATION"),
        ({**SNS, "SLACK_API_URL": "localhost:8000"}, "SLACK_API_URL"),
        # Whitespace that would fail every send (e.g. a heredoc's trailing newline) fails at start.
        ({"DEFAULT_SNS_TOPIC_ARN": SNS["DEFAULT_SNS_TOPIC_ARN"] + "\n"}, "DEFAULT_SNS_TOPIC_ARN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "DEFAULT_SLACK_CHANNEL_ID": "C123 "}, "DEFAULT_SLACK_CHANNEL_ID"),
        (
            {
                **SNS,
                "SEVERITY_ROUTING": '[{"min_severity": "high", "sns_topic_arn": "arn:aws:sns:us-east-1:1:p\\n"}]',
            },
            "SEVERITY_ROUTING",
        ),
    ],
)
def test_bad_configuration_names_the_setting(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert error.value.setting == setting
    assert setting in str(error.value)


def test_per_account_configuration_uses_reference_json_shape() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "DEFAULT_SLACK_CHANNEL_ID": "CDEFAULT",
        "SLACK_APP_CONFIGURATION": orjson.dumps(
            [{"accounts": ["111122223333", 444455556666], "slack_channel_id": "CPROD"}]
        ).decode(),
    }
    (route,) = load_settings(env).slack_app_configuration
    assert route.accounts == {"111122223333", "444455556666"} and route.target == "CPROD"


def test_secrets_never_appear_in_repr() -> None:
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-secret-token",
            "DEFAULT_SLACK_CHANNEL_ID": "C1",
            "HOOK_URL": "https://hooks.slack.com/services/T/B/secret",
        }
    )
    assert "xoxb-secret-token" not in repr(settings)
    assert "secret" not in repr(settings).replace("slack_bot_token", "")


def test_function_name_defaults_to_the_lambdas_own_name() -> None:
    assert load_settings({**SNS, "AWS_LAMBDA_FUNCTION_NAME": "ct-alerts"}).function_name == "ct-alerts"
    assert load_settings({**SNS, "AWS_LAMBDA_FUNCTION_NAME": "x", "FUNCTION_NAME": "y"}).function_name == "y"


def test_flags_override_the_environment() -> None:
    assert load_settings({**SNS, "RULES": "a"}, rules="b").rules == "b"
