"""Triage settings fail at start naming the setting; each function reads only its own secrets;
account names are shown beside account ids."""

from __future__ import annotations

import boto3
import pytest

from processor import interactions
from processor.errors import ConfigError
from processor.settings import load_interaction_settings, load_settings
from tests.triage.conftest import CHANNEL, TRIAGE_KEY, Triage, similar

SLACK = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "DEFAULT_SLACK_CHANNEL_ID": "C1",
    "DYNAMODB_TABLE_NAME": "t",
    "SLACK_SIGNING_SECRET": "s",
    "TRIAGE_SIGNING_KEY": TRIAGE_KEY,
}


@pytest.mark.parametrize(
    "change, setting",
    [
        ({"TRIAGE_SIGNING_KEY": ""}, "TRIAGE_SIGNING_KEY"),
        ({"TRIAGE_SIGNING_KEY": "short"}, "TRIAGE_SIGNING_KEY"),
        ({"DYNAMODB_TABLE_NAME": ""}, "DYNAMODB_TABLE_NAME"),
        ({"TRIAGE_ALLOWED_USERS": "U0LEAD,alice"}, "TRIAGE_ALLOWED_USERS"),
        ({"SLACK_SIGNING_SECRET": "", "TRIAGE_ALLOWED_USERS": "U0LEAD"}, "TRIAGE_ALLOWED_USERS"),
        ({"ACCOUNT_NAMES": '{"1111": "prod"}'}, "ACCOUNT_NAMES"),
        ({"ACCOUNT_NAMES": '[["111122223333", "prod"]]'}, "ACCOUNT_NAMES"),
        ({"ACCOUNT_NAMES_FROM_ORGANIZATIONS": "sometimes"}, "ACCOUNT_NAMES_FROM_ORGANIZATIONS"),
    ],
)
def test_bad_triage_settings_name_the_setting(change: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({**SLACK, **change})
    assert error.value.setting == setting


def test_the_processor_reads_the_signing_key_but_never_the_slack_signing_secret() -> None:
    read: list[str] = []

    def resolve(setting: str, reference: str) -> str:
        read.append(setting)
        return {"SLACK_BOT_TOKEN_SECRET": "xoxb-1", "TRIAGE_SIGNING_KEY_SECRET": TRIAGE_KEY}[setting]

    env = {
        "SLACK_BOT_TOKEN_SECRET": "/ta/bot",
        "DEFAULT_SLACK_CHANNEL_ID": "C1",
        "DYNAMODB_TABLE_NAME": "t",
        "SLACK_SIGNING_SECRET_SECRET": "/ta/signing",
        "TRIAGE_SIGNING_KEY_SECRET": "arn:aws:secretsmanager:us-east-1:111122223333:secret:ta-key-AbCdEf",
    }
    settings = load_settings(env, resolve_secret=resolve)
    assert settings.triage_enabled and settings.triage_signing_key == TRIAGE_KEY
    assert sorted(read) == ["SLACK_BOT_TOKEN_SECRET", "TRIAGE_SIGNING_KEY_SECRET"]
    assert TRIAGE_KEY not in repr(settings)


def test_the_interactions_function_reads_its_own_secrets_only() -> None:
    read: list[str] = []

    def resolve(setting: str, reference: str) -> str:
        read.append(setting)
        return TRIAGE_KEY

    env = {
        "SLACK_BOT_TOKEN_SECRET": "/ta/bot",
        "SLACK_SIGNING_SECRET_SECRET": "/ta/signing",
        "TRIAGE_SIGNING_KEY_SECRET": "/ta/key",
        "HOOK_URL_SECRET": "/ta/hook",  # not the interactions function's: never read
        "DYNAMODB_TABLE_NAME": "t",
        "TRIAGE_ALLOWED_USERS": "U0LEAD W0ONCALL",
    }
    settings = load_interaction_settings(env, resolve_secret=resolve)
    assert sorted(read) == [
        "SLACK_BOT_TOKEN_SECRET",
        "SLACK_SIGNING_SECRET_SECRET",
        "TRIAGE_SIGNING_KEY_SECRET",
    ]
    assert settings.triage_allowed_users == {"U0LEAD", "W0ONCALL"}
    assert TRIAGE_KEY not in repr(settings)
    with pytest.raises(ConfigError) as error:
        load_interaction_settings({**env, "SLACK_SIGNING_SECRET_SECRET": ""}, resolve_secret=resolve)
    assert error.value.setting == "SLACK_SIGNING_SECRET"
    assert "SLACK_SIGNING_SECRET_SECRET" in str(error.value)


def test_a_bad_configuration_fails_the_interactions_functions_first_request(monkeypatch) -> None:
    for name in ("SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET_SECRET", "TRIAGE_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    interactions.reset()
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        interactions.handler({"headers": {}, "body": ""}, None)
    interactions.reset()


@pytest.mark.parametrize("triage", [{"ACCOUNT_NAMES": '{"111122223333": "prod <core>"}'}], indirect=True)
def test_account_names_are_shown_beside_the_account_id(triage: Triage) -> None:
    triage.deliver(similar("evt-1"))
    post = triage.alert("evt-1")
    (facts,) = [b for b in post.payload["blocks"] if "fields" in b]
    assert "*Account*\n111122223333 (prod &lt;core&gt;)" in [f["text"] for f in facts["fields"]]
    assert "in 111122223333 (prod &lt;core&gt;)" in post.payload["text"]
    triage.slack.click(CHANNEL, post.ts, "triage.snooze.1h")
    (opened,) = triage.slack.views
    fields = [f["text"] for block in opened.view["blocks"] for f in block.get("fields", [])]
    assert "*Account*\n`111122223333 (prod &lt;core&gt;)`" in fields


@pytest.mark.parametrize("triage", [{"ACCOUNT_NAMES_FROM_ORGANIZATIONS": "true"}], indirect=True)
def test_account_names_from_aws_organizations(triage: Triage) -> None:
    organizations = boto3.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    created = organizations.create_account(Email="sec@example.com", AccountName="security-prod")
    account = created["CreateAccountStatus"]["AccountId"]
    triage.deliver(similar("evt-1", account=account), similar("evt-2", account="999999999999"))
    assert f"in {account} (security-prod)" in triage.alert("evt-1").payload["text"]
    assert "in 999999999999 (rule" in triage.alert("evt-2").payload["text"]  # unknown: the id alone


@pytest.mark.parametrize("triage", [{"ACCOUNT_NAMES_FROM_ORGANIZATIONS": "true"}], indirect=True)
def test_without_organizations_access_alerts_show_the_id(triage: Triage) -> None:
    triage.deliver(similar("evt-1"), similar("evt-2", account="444455556666"))  # no organization exists
    assert "in 111122223333 (rule" in triage.alert("evt-1").payload["text"]
    assert "in 444455556666 (rule" in triage.alert("evt-2").payload["text"]


def test_a_bot_token_with_a_space_fails_the_interactions_function_without_quoting_it() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-secret part",
        "SLACK_SIGNING_SECRET": "s",
        "TRIAGE_SIGNING_KEY": TRIAGE_KEY,
        "DYNAMODB_TABLE_NAME": "t",
    }
    with pytest.raises(ConfigError) as error:
        load_interaction_settings(env)
    assert error.value.setting == "SLACK_BOT_TOKEN" and "xoxb-secret" not in str(error.value)
