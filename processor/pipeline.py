"""The core: records in, alerts out. A matched record becomes an alert: routed (who its account is
and where its alerts go) and rendered (render/). The Lambda and the backfill share it as is.

Routing: by the AWS account the event happened in, plus the rule's own destinations (rule files)
and those of SEVERITY_ROUTING for its severity. Extra destinations only add: an alert always still
reaches its account's channel.

Account names shown beside account ids: ACCOUNT_NAMES, else AWS Organizations when allowed: the one
call this module may make. Names are looked up once per account per container (a Lambda container,
a backfill run). With ACCOUNT_NAMES_FROM_ORGANIZATIONS=true, an account not in ACCOUNT_NAMES is
asked of Organizations (organizations:DescribeAccount: from the management account or a delegated
administrator). The call is bounded (one attempt, ORGANIZATIONS_TIMEOUT_SECONDS) and an alert never
waits on it twice: a denied or failed call turns the lookups off for the container, logged once; an
account Organizations does not know is simply shown by its id.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from processor.models import (
    SEVERITY_RANK,
    UNKNOWN_SEVERITY_RANK,
    Alert,
    Destination,
    DestinationKind,
    Record,
    RuleFailure,
    RuleRef,
    Verdict,
)
from processor.render.fields import resolve_actor
from processor.render.slack import render_slack
from processor.render.sns import render_sns
from processor.settings import AccountRoute, Settings, SeverityRoute

_SLACK_KINDS = (DestinationKind.SLACK_APP, DestinationKind.SLACK_WEBHOOK)


class Rules(Protocol):
    def evaluate(self, event: dict) -> Verdict: ...


@dataclass(frozen=True)
class Evaluation:
    """What the rules made of a batch of records."""

    alerts: tuple[Alert, ...]
    records: int
    ignored: int
    unmatched: int
    rule_failures: tuple[RuleFailure, ...]
    unrouted: tuple[Record, ...] = ()
    alerts_per_rule: Counter[str] = field(default_factory=Counter)

    def with_counted(self, unmatched: int, ignored: int = 0) -> Evaluation:
        """This evaluation plus records counted without being evaluated: the fast path counts the
        records no rule can match as unmatched, and those an ignore rule is known to match as
        ignored (see processor/fastpath.py)."""
        if not unmatched and not ignored:
            return self
        return replace(
            self,
            records=self.records + unmatched + ignored,
            unmatched=self.unmatched + unmatched,
            ignored=self.ignored + ignored,
        )


def build_alert(record: Record, rule: RuleRef, router: Router) -> Alert:
    """Route and render one matched record; rendering happens here so a dry run shows the exact payloads."""
    account = account_of(record.event)
    destinations = router.for_alert(account, rule)
    wants_slack = any(d.kind in _SLACK_KINDS for d in destinations)
    wants_sns = any(d.kind is DestinationKind.SNS for d in destinations)
    actor = resolve_actor(record.event) if wants_slack and wants_sns else None  # once for both
    name = router.account_names.name(account) if destinations else ""
    event = record.event
    return Alert(
        record=record,
        rule=rule,
        account_id=account,
        destinations=destinations,
        slack=render_slack(record, rule, account, actor=actor, account_name=name) if wants_slack else None,
        sns=render_sns(record, rule, account, actor=actor, account_name=name) if wants_sns else None,
        account_name=name,
        event_id=str(event.get("eventID") or f"{record.item_id}#{record.index}"),
    )


def evaluate(records: Iterable[Record], rules: Rules, router: Router) -> Evaluation:
    """Match every record, then route and render the ones that matched."""
    alerts: list[Alert] = []
    failures: list[RuleFailure] = []
    unrouted: list[Record] = []
    per_rule: Counter[str] = Counter()
    count = ignored = unmatched = 0
    for record in records:
        count += 1
        verdict = rules.evaluate(record.event)
        if verdict.failures:
            failures.extend(verdict.failures)
        if verdict.ignored_by is not None:
            ignored += 1
            continue
        if verdict.matched is None:
            unmatched += 1
            continue
        alert = build_alert(record, verdict.matched, router)
        per_rule[verdict.matched.id] += 1
        if alert.destinations:
            alerts.append(alert)
        else:
            unrouted.append(record)
    return Evaluation(
        alerts=tuple(alerts),
        records=count,
        ignored=ignored,
        unmatched=unmatched,
        rule_failures=tuple(failures),
        unrouted=tuple(unrouted),
        alerts_per_rule=per_rule,
    )


# --- Routing: who an account is and where its alerts go ---

log = logging.getLogger("trailalert")

ORGANIZATIONS_TIMEOUT_SECONDS = 2.0
_NOT_FOUND = frozenset({"AccountNotFoundException", "InvalidInputException"})

ClientFactory = Callable[[], Any]  # -> a boto3 Organizations client


def _organizations_client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=ORGANIZATIONS_TIMEOUT_SECONDS / 4,
        read_timeout=ORGANIZATIONS_TIMEOUT_SECONDS * 3 / 4,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return boto3.client("organizations", config=config)


class AccountNames:
    """`name(account_id)`: its name, or "" when none is known."""

    def __init__(
        self,
        names: Mapping[str, str] | None = None,
        *,
        from_organizations: bool = False,
        client_factory: ClientFactory = _organizations_client,
    ) -> None:
        self._known: dict[str, str] = dict(names or {})
        self._ask_organizations = from_organizations
        self._client_factory = client_factory
        self._client: Any = None

    def name(self, account_id: str) -> str:
        if account_id in self._known:
            return self._known[account_id]
        name = self._from_organizations(account_id) if self._ask_organizations and account_id else ""
        self._known[account_id] = name
        return name

    def _from_organizations(self, account_id: str) -> str:
        try:
            if self._client is None:
                self._client = self._client_factory()
            account = self._client.describe_account(AccountId=account_id)["Account"]
        except Exception as exc:
            response = getattr(exc, "response", None)
            code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
            if code in _NOT_FOUND:
                return ""
            self._ask_organizations = False
            log.warning(
                "account names from AWS Organizations are off for this container",
                extra={"reason": f"{type(exc).__name__}: {code or exc}"},
            )
            return ""
        name = account.get("Name")
        return name if isinstance(name, str) else ""


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
        self._severity_routes = tuple(
            (SEVERITY_RANK.get(r.min_severity, UNKNOWN_SEVERITY_RANK), tuple(_severity_destinations(r)))
            for r in settings.severity_routing
        )
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
        rank = SEVERITY_RANK.get(severity, UNKNOWN_SEVERITY_RANK)
        for minimum, destinations in self._severity_routes:
            if rank >= minimum:
                yield from destinations

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
