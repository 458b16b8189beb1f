"""The pure core: records in, alerts out. No I/O, so the Lambda and the backfill share it as is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from processor.models import Alert, DestinationKind, Record, RuleFailure, RuleRef, Verdict
from processor.render.fields import resolve_actor
from processor.render.slack import render_slack
from processor.render.sns import render_sns
from processor.routing import Router, account_of

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
