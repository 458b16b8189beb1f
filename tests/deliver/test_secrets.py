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


@pytest.mark.parametrize(
    "env, setting",
    [
        ({"HOOK_URL": "https://hooks.slack.com/services/T1/B1/hook SECRETpart"}, "HOOK_URL"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1111-SECRET\n-TOKEN", "DEFAULT_SLACK_CHANNEL_ID": "C1"},
            "SLACK_BOT_TOKEN",
        ),
        (
            {
                "HOOK_URL": "https://hooks.slack.com/services/T1/B1/ok",
                "CONFIGURATION": '[{"accounts": ["1"], "slack_hook_url": "https://h/T/B/x\\ty-SECRET"}]',
            },
            "CONFIGURATION",
        ),
    ],
)
def test_a_secret_with_whitespace_inside_fails_at_start_without_quoting_it(
    env: dict[str, str], setting: str
) -> None:
    """Such a value fails every send, and urllib/http.client would quote it in their errors."""
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert error.value.setting == setting
    assert "SECRET" not in str(error.value)


def test_a_secret_trailing_newline_is_tolerated() -> None:
    """`aws ssm put-parameter --value file://token.txt` keeps the file's last newline: it works."""
    load_settings({"SLACK_BOT_TOKEN": "xoxb-1111-token\n", "DEFAULT_SLACK_CHANNEL_ID": "C1"})


def test_a_send_error_that_quotes_the_url_or_token_never_reaches_logs_or_outcomes(
    slack: SlackStandIn, clock: FakeClock, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    """Dispatchers built from unvalidated Settings (as a library user may): http.client's and
    urllib's errors quote the Authorization header and the URL's path, and the SDKs log them."""
    from processor.app import build_dispatcher
    from processor.log import configure_logging
    from processor.models import Alert, Destination, DestinationKind, Record, RuleRef, SlackMessage, Status
    from processor.settings import Settings

    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    app = Settings(
        slack_bot_token="xoxb-SECRET\nTOKEN", default_slack_channel_id="CSEC", slack_api_url=slack.api_url
    )
    hook_url = slack.webhook_url("T1/B1/hook SECRETpart")
    webhook = Settings(hook_url=hook_url)
    outcomes = []
    for settings, destination in [
        (app, Destination(DestinationKind.SLACK_APP, "CSEC")),
        (webhook, Destination(DestinationKind.SLACK_WEBHOOK, hook_url)),
    ]:
        alert = Alert(
            Record({"eventID": "evt-1"}, "seq-1"),
            RuleRef("r", "True", "RULES"),
            "1",
            (destination,),
            SlackMessage(text="x", blocks=()),
            None,
            event_id="evt-1",
        )
        outcomes += build_dispatcher(settings, timing=clock.timing).deliver([alert])

    assert [o.status for o in outcomes] == [Status.FAILED, Status.FAILED]
    assert slack.requests == []  # nothing could be sent, and nothing was retried as if it might
    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text + " ".join(o.detail for o in outcomes)
    assert "SECRET" not in everything
