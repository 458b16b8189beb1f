"""Which destinations an alert goes to: by the AWS account the event happened in, plus the rule's
own destinations (rule files) and those of SEVERITY_ROUTING for its severity. Extra destinations
only add: an alert always still reaches its account's channel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from processor.accounts import AccountNames
from processor.models import Destination, DestinationKind, RuleRef, severity_rank
from processor.settings import AccountRoute, Settings, SeverityRoute


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
    """Maps an account to its destinations (and its name); built once per container from Settings."""

    def __init__(self, settings: Settings, account_names: AccountNames | None = None) -> None:
        self.account_names = account_names or AccountNames(
            dict(settings.account_names), from_organizations=settings.account_names_from_organizations
        )
        self._channels = _by_account(settings.slack_app_configuration) if settings.uses_slack_app else {}
        self._default_channel = settings.default_slack_channel_id if settings.uses_slack_app else None
        self._hooks = _by_account(settings.configuration) if settings.uses_webhook else {}
        self._default_hook = settings.hook_url if settings.uses_webhook else None
        self._topics = _by_account(settings.sns_configuration)
        self._default_topic = settings.default_sns_topic_arn
        self._severity_routes = tuple((severity_rank(r.min_severity), r) for r in settings.severity_routing)
        self._cache: dict[str, tuple[Destination, ...]] = {}

    def for_alert(self, account: str, rule: RuleRef) -> tuple[Destination, ...]:
        """The account's destinations, then the rule's, then SEVERITY_ROUTING's; each target once."""
        base = self.destinations(account)
        extra = [*rule.destinations, *self._by_severity(rule.severity)]
        if not extra:
            return base
        seen = set(base)
        found = list(base)
        for destination in extra:
            if destination not in seen:
                seen.add(destination)
                found.append(destination)
        return tuple(found)

    def _by_severity(self, severity: str) -> Iterable[Destination]:
        rank = severity_rank(severity)
        for minimum, route in self._severity_routes:
            if rank >= minimum:
                yield from _severity_destinations(route)

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


def _severity_destinations(route: SeverityRoute) -> Iterable[Destination]:
    if route.slack_channel_id:
        yield Destination(DestinationKind.SLACK_APP, route.slack_channel_id)
    if route.sns_topic_arn:
        yield Destination(DestinationKind.SNS, route.sns_topic_arn)


def _by_account(routes: tuple[AccountRoute, ...]) -> dict[str, str]:
    """First route naming an account wins, as in the reference's `next(...)` lookup."""
    table: dict[str, str] = {}
    for route in routes:
        for account in route.accounts:
            table.setdefault(account, route.target)
    return table
