"""Which destinations an alert goes to, decided by the AWS account the event happened in."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from processor.models import Destination, DestinationKind
from processor.settings import AccountRoute, Settings


def account_of(event: dict[str, Any]) -> str:
    """The account the event happened in: `recipientAccountId`, else `userIdentity.accountId`.

    The reference routed on `userIdentity.accountId` (the caller's account). For a cross-account
    call that sends an alert about account B to account A's channel, so we prefer the account that
    received the call and fall back to the caller's only when CloudTrail omits it.
    """
    account = event.get("recipientAccountId")
    if not account:
        identity = event.get("userIdentity")
        account = identity.get("accountId") if isinstance(identity, dict) else None
    return str(account) if account else ""


class Router:
    """Maps an account to its destinations; built once per container from Settings."""

    def __init__(self, settings: Settings) -> None:
        self._channels = _by_account(settings.slack_app_configuration) if settings.uses_slack_app else {}
        self._default_channel = settings.default_slack_channel_id if settings.uses_slack_app else None
        self._hooks = _by_account(settings.configuration) if settings.uses_webhook else {}
        self._default_hook = settings.hook_url if settings.uses_webhook else None
        self._topics = _by_account(settings.sns_configuration)
        self._default_topic = settings.default_sns_topic_arn
        self._cache: dict[str, tuple[Destination, ...]] = {}

    def destinations(self, account: str) -> tuple[Destination, ...]:
        cached = self._cache.get(account)
        if cached is None:
            cached = self._cache[account] = tuple(self._resolve(account))
        return cached

    def _resolve(self, account: str) -> Iterable[Destination]:
        channel = self._channels.get(account, self._default_channel)
        if channel:
            yield Destination(DestinationKind.SLACK_APP, channel)
        hook = self._hooks.get(account, self._default_hook)
        if hook:
            yield Destination(DestinationKind.SLACK_WEBHOOK, hook)
        topic = self._topics.get(account, self._default_topic)
        if topic:
            yield Destination(DestinationKind.SNS, topic)


def _by_account(routes: tuple[AccountRoute, ...]) -> dict[str, str]:
    """First route naming an account wins, as in the reference's `next(...)` lookup."""
    table: dict[str, str] = {}
    for route in routes:
        for account in route.accounts:
            table.setdefault(account, route.target)
    return table
