"""Secrets by reference (SSM parameter, Secrets Manager ARN), read once per container, never logged."""

from __future__ import annotations

import logging
from typing import Any

import boto3
import orjson
import pytest

from processor import handler
from processor.deliver.secrets import SecretResolver
from processor.devtools.slack_standin import SlackStandIn
from processor.errors import ConfigError
from processor.settings import load_settings
from tests.deliver.conftest import set_env
from tests.deliver.fakes import FakeClock, LambdaContext, cloudtrail_event, kinesis_batch

pytestmark = pytest.mark.usefixtures("fresh_container")
TOKEN = "xoxb-1111-SECRET-TOKEN-VALUE"
RULES = 'event["eventName"] == "StopLogging"'


def _ssm_parameter(name: str, value: str) -> None:
    boto3.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString")


def _secret(name: str, value: str) -> str:
    return boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]


def test_bot_token_from_an_ssm_parameter(
    aws: str, slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ssm_parameter("/trailalert/slack-bot-token", TOKEN)
    set_env(
        monkeypatch,
        SLACK_BOT_TOKEN_SECRET="/trailalert/slack-bot-token",
        DEFAULT_SLACK_CHANNEL_ID="CSEC",
        SLACK_API_URL=slack.api_url,
        RULES=RULES,
    )
    handler.reset(timing=clock.timing)
    assert handler.handler(kinesis_batch([cloudtrail_event("evt-1")]), LambdaContext(clock)) == {
        "batchItemFailures": []
    }
    assert handler.get_app().settings.slack_bot_token == TOKEN
    assert len(slack.posts_to("CSEC")) == 1


def test_hook_urls_from_secrets_manager_including_per_account_configuration(
    aws: str, slack: SlackStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    default_arn = _secret("trailalert/hook", slack.webhook_url("T1/B1/defaulthooksecret"))
    routes = [{"accounts": ["444455556666"], "slack_hook_url": slack.webhook_url("T1/B2/devhooksecret")}]
    config_arn = _secret("trailalert/configuration", orjson.dumps(routes).decode())
    set_env(monkeypatch, HOOK_URL_SECRET=default_arn, CONFIGURATION_SECRET=config_arn, RULES=RULES)
    handler.reset(timing=clock.timing)
    events = [cloudtrail_event("evt-1"), cloudtrail_event("evt-2", account="444455556666")]
    assert handler.handler(kinesis_batch(events), LambdaContext(clock)) == {"batchItemFailures": []}
    assert sorted(p.channel for p in slack.posts) == ["T1/B1/defaulthooksecret", "T1/B2/devhooksecret"]


def test_a_secret_is_read_once_per_container(aws: str) -> None:
    _ssm_parameter("/trailalert/token", TOKEN)
    calls: list[str] = []

    def factory(service: str, region: str | None) -> Any:
        calls.append(service)
        return boto3.client(service)

    resolver = SecretResolver(factory)
    env = {"SLACK_BOT_TOKEN_SECRET": "/trailalert/token", "DEFAULT_SLACK_CHANNEL_ID": "C1"}
    for _ in range(3):
        assert load_settings(env, resolve_secret=resolver).slack_bot_token == TOKEN
    assert calls == ["ssm"]


def test_both_direct_value_and_reference_is_a_config_error() -> None:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_BOT_TOKEN_SECRET": "/x", "DEFAULT_SLACK_CHANNEL_ID": "C1"}
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN_SECRET"):
        load_settings(env, resolve_secret=lambda setting, ref: "unused")


def test_an_unreadable_secret_names_the_setting_not_the_value(aws: str) -> None:
    env = {"HOOK_URL_SECRET": "/trailalert/missing"}
    with pytest.raises(ConfigError, match="HOOK_URL_SECRET") as error:
        load_settings(env, resolve_secret=SecretResolver())
    assert "ParameterNotFound" in str(error.value)


def test_secrets_never_reach_the_logs(
    aws: str,
    slack: SlackStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Failures included, at DEBUG, for every logger (slack_sdk and botocore too)."""
    hook = slack.webhook_url("T9/B9/hookSECRETpart")
    _ssm_parameter("/trailalert/token", TOKEN)
    set_env(
        monkeypatch,
        SLACK_BOT_TOKEN_SECRET="/trailalert/token",
        DEFAULT_SLACK_CHANNEL_ID="CSEC",
        SLACK_API_URL=slack.api_url,
        HOOK_URL_SECRET=_secret("hook", hook),
        RULES=RULES,
        LOG_LEVEL="DEBUG",
    )
    caplog.set_level(logging.DEBUG)
    handler.reset(timing=clock.timing)
    slack.fail_next(500, times=10)
    handler.handler(kinesis_batch([cloudtrail_event("evt-1")]), LambdaContext(clock))
    slack.clear_faults()
    handler.handler(kinesis_batch([cloudtrail_event("evt-1")]), LambdaContext(clock))
    assert slack.posts  # it did work in the end
    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text + repr(handler.get_app().settings)
    assert TOKEN not in everything and "SECRET-TOKEN" not in everything
    assert "hookSECRETpart" not in everything


def test_webhook_urls_never_reach_the_logs(
    aws: str,
    slack: SlackStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = slack.webhook_url("T9/B9/hookSECRETpart")
    set_env(monkeypatch, HOOK_URL_SECRET=_secret("hook", hook), RULES=RULES, LOG_LEVEL="DEBUG")
    caplog.set_level(logging.DEBUG)
    handler.reset(timing=clock.timing)
    slack.fail_next(404, body=b"no_service")
    handler.handler(kinesis_batch([cloudtrail_event("evt-1")]), LambdaContext(clock))
    handler.handler(kinesis_batch([cloudtrail_event("evt-1")]), LambdaContext(clock))
    assert slack.posts
    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text + repr(handler.get_app().settings)
    assert "hookSECRETpart" not in everything
