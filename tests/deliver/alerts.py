"""Alerts built the way the pipeline builds them (render included), for dispatcher-level tests."""

from __future__ import annotations

from collections.abc import Mapping

from processor.app import build_dispatcher
from processor.deliver.dispatcher import Dispatcher
from processor.models import Alert, Destination, DestinationKind, Record, RuleRef
from processor.pipeline import Router, build_alert
from processor.settings import load_settings
from tests.deliver.fakes import FakeClock, cloudtrail_event

RULE = RuleRef(id="RULES[0]", expression='event["eventName"] == "StopLogging"', origin="RULES")


def app_settings(slack_api_url: str, **extra: str) -> Mapping[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "DEFAULT_SLACK_CHANNEL_ID": "CSEC",
        "SLACK_API_URL": slack_api_url,
        **extra,
    }


def dispatcher_for(env: Mapping[str, str], clock: FakeClock) -> tuple[Dispatcher, Router]:
    settings = load_settings(env)
    return build_dispatcher(settings, timing=clock.timing), Router(settings)


def alert(router: Router, event_id: str, **event: object) -> Alert:
    record = Record(event=cloudtrail_event(event_id, **event), item_id=f"seq-{event_id}")  # type: ignore[arg-type]
    return build_alert(record, RULE, router)


def slack_channel(channel: str = "CSEC") -> Destination:
    return Destination(DestinationKind.SLACK_APP, channel)
