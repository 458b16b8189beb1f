"""Alerts go to the destinations configured for the account the event happened in."""

from __future__ import annotations

import orjson

from processor.models import DestinationKind
from processor.pipeline import Router, account_of
from processor.settings import load_settings

PROD, DEV, OTHER = "111122223333", "444455556666", "777788889999"


def _router(**env: str) -> Router:
    return Router(load_settings(env))


def test_account_is_the_recipient_account_not_the_callers() -> None:
    event = {"recipientAccountId": PROD, "userIdentity": {"accountId": DEV}}
    assert account_of(event) == PROD


def test_account_falls_back_to_the_callers_account() -> None:
    assert account_of({"userIdentity": {"accountId": DEV}}) == DEV
    assert account_of({"userIdentity": "odd"}) == ""
    assert account_of({}) == ""


def test_slack_app_routes_per_account_with_default_channel() -> None:
    router = _router(
        SLACK_BOT_TOKEN="xoxb-1",
        DEFAULT_SLACK_CHANNEL_ID="CDEFAULT",
        SLACK_APP_CONFIGURATION=orjson.dumps([{"accounts": [DEV], "slack_channel_id": "CDEV"}]).decode(),
    )
    assert [d.target for d in router.destinations(DEV)] == ["CDEV"]
    assert [d.target for d in router.destinations(OTHER)] == ["CDEFAULT"]


def test_webhooks_route_per_account() -> None:
    router = _router(
        HOOK_URL="https://hooks.example/default",
        CONFIGURATION=orjson.dumps(
            [{"accounts": [PROD], "slack_hook_url": "https://hooks.example/prod"}]
        ).decode(),
    )
    assert router.destinations(PROD)[0].target == "https://hooks.example/prod"
    assert router.destinations(DEV)[0].kind is DestinationKind.SLACK_WEBHOOK
    assert router.destinations(DEV)[0].target == "https://hooks.example/default"


def test_slack_app_wins_over_webhook_as_in_the_reference() -> None:
    router = _router(SLACK_BOT_TOKEN="xoxb-1", DEFAULT_SLACK_CHANNEL_ID="C1", HOOK_URL="https://h/x")
    assert [d.kind for d in router.destinations(PROD)] == [DestinationKind.SLACK_APP]


def test_sns_goes_alongside_slack_and_routes_per_account() -> None:
    router = _router(
        SLACK_BOT_TOKEN="xoxb-1",
        DEFAULT_SLACK_CHANNEL_ID="C1",
        DEFAULT_SNS_TOPIC_ARN="arn:aws:sns:us-east-1:111122223333:all",
        SNS_CONFIGURATION=orjson.dumps(
            [{"accounts": [DEV], "sns_topic_arn": "arn:aws:sns:eu-west-1:444455556666:dev"}]
        ).decode(),
    )
    assert [d.target for d in router.destinations(DEV)] == ["C1", "arn:aws:sns:eu-west-1:444455556666:dev"]
    assert [d.target for d in router.destinations(PROD)] == ["C1", "arn:aws:sns:us-east-1:111122223333:all"]


def test_account_without_route_or_default_gets_no_destination() -> None:
    router = _router(
        SNS_CONFIGURATION=orjson.dumps(
            [{"accounts": [DEV], "sns_topic_arn": "arn:aws:sns:us-east-1:1:dev"}]
        ).decode()
    )
    assert router.destinations(PROD) == ()


def test_webhook_destination_key_never_contains_the_url() -> None:
    router = _router(HOOK_URL="https://hooks.slack.com/services/T1/B1/secretpart")
    (destination,) = router.destinations(PROD)
    assert "secretpart" not in destination.key
