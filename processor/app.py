"""Wires Settings into a ready-to-run App: rules, router, senders, ledger. Built once per container."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from processor.decode.kinesis import decode_kinesis_event
from processor.deliver.dispatcher import Dispatcher
from processor.deliver.ledger import MemoryLedger
from processor.deliver.senders import SLACK_TIMEOUT_SECONDS, SlackAppSender, SnsSender, WebhookSender
from processor.models import DeliveryOutcome, DestinationKind, RuleFailure, Status
from processor.pipeline import Evaluation, evaluate
from processor.render.slack import render_rule_failure
from processor.routing import Router
from processor.rules.ruleset import RuleSet, build_ruleset
from processor.settings import Settings

log = logging.getLogger("trailalert")

ERROR_REPORT_INTERVAL_SECONDS = 3600.0


def build_rules(settings: Settings) -> RuleSet:
    return build_ruleset(
        rules=settings.rules,
        ignore_rules=settings.ignore_rules,
        separator=settings.rules_separator,
        use_default_rules=settings.use_default_rules,
        events_to_track=settings.events_to_track,
        function_name=settings.function_name,
    )


def build_dispatcher(
    settings: Settings, *, sns_client_factory: Callable[[str], Any] | None = None
) -> Dispatcher:
    """Clients are created here, once; boto3 is imported lazily so Slack-only setups never pay for it."""
    senders: dict[DestinationKind, Any] = {}
    if settings.uses_slack_app:
        from slack_sdk import WebClient

        client = WebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT_SECONDS
        )
        senders[DestinationKind.SLACK_APP] = SlackAppSender(client)
    if settings.uses_webhook:
        senders[DestinationKind.SLACK_WEBHOOK] = WebhookSender()
    if settings.uses_sns:
        senders[DestinationKind.SNS] = SnsSender(sns_client_factory or _boto3_sns_client)
    return Dispatcher(senders, MemoryLedger())


def _boto3_sns_client(region: str) -> Any:
    import boto3

    return boto3.client("sns", region_name=region)


@dataclass
class RuleErrorReporter:
    """Tells Slack a rule is failing, at most once per rule per interval, not once per event."""

    dispatcher: Dispatcher
    router: Router
    enabled: bool
    interval: float = ERROR_REPORT_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _last_sent: dict[str, float] = field(default_factory=dict)
    _pending: dict[str, int] = field(default_factory=dict)

    def report(self, failures: tuple[RuleFailure, ...], source: str) -> None:
        by_rule: dict[str, list[RuleFailure]] = {}
        for failure in failures:
            log.error(
                "rule evaluation failed",
                extra={"rule_id": failure.rule.id, "error": failure.error, "event_id": failure.event_id},
            )
            by_rule.setdefault(failure.rule.id, []).append(failure)
        if not self.enabled:
            return
        now = self.clock()
        for rule_id, group in by_rule.items():
            self._pending[rule_id] = self._pending.get(rule_id, 0) + len(group)
            last = self._last_sent.get(rule_id)
            if last is not None and now - last < self.interval:
                continue
            self._send(render_rule_failure(group[0], count=self._pending[rule_id], source=source))
            self._last_sent[rule_id] = now
            self._pending[rule_id] = 0

    def _send(self, message: Any) -> None:
        for destination in self.router.destinations(""):
            sender = self.dispatcher.sender(destination.kind)
            if destination.kind is DestinationKind.SNS or sender is None:
                continue
            try:
                sender.post(destination.target, message)
            except Exception as exc:  # a notice about an error must never fail the batch
                log.warning("could not post rule error notice", extra={"reason": str(exc)})


@dataclass
class App:
    """Everything a container needs, built once at cold start."""

    settings: Settings
    rules: RuleSet
    router: Router
    dispatcher: Dispatcher
    error_reporter: RuleErrorReporter

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> App:
        rules = build_rules(settings)
        router = Router(settings)
        dispatcher = build_dispatcher(settings, **kwargs)
        reporter = RuleErrorReporter(dispatcher, router, settings.rule_evaluation_errors_to_slack)
        return cls(settings, rules, router, dispatcher, reporter)

    def process_kinesis(
        self, event: dict[str, Any], remaining_seconds: Callable[[], float]
    ) -> dict[str, Any]:
        """Decode and match the whole batch first, then deliver; return the partial batch response."""
        batch = decode_kinesis_event(event)
        for failure in batch.failures:
            log.error(
                "undecodable record skipped",
                extra={"sequence_number": failure.item_id, "reason": failure.reason},
            )
        evaluation = evaluate(batch.records, self.rules, self.router)
        self.error_reporter.report(evaluation.rule_failures, source="kinesis")
        outcomes = self.dispatcher.deliver(evaluation.alerts, remaining_seconds)
        failed = {o.alert.record.item_id for o in outcomes if o.status is Status.FAILED}
        self._log_batch(evaluation, outcomes, len(batch.failures), batch.skipped)
        return {
            "batchItemFailures": [
                {"itemIdentifier": sequence} for sequence in batch.sequence_numbers if sequence in failed
            ]
        }

    def _log_batch(
        self, evaluation: Evaluation, outcomes: list[DeliveryOutcome], undecodable: int, skipped: int
    ) -> None:
        for record in evaluation.unrouted:
            log.warning(
                "alert has no destination for its account", extra={"event_id": record.event.get("eventID")}
            )
        log.info(
            "batch processed",
            extra={
                "records": evaluation.records,
                "undecodable": undecodable,
                "skipped": skipped,
                "alerts": len(evaluation.alerts),
                "ignored": evaluation.ignored,
                "rule_errors": len(evaluation.rule_failures),
                "delivered": sum(o.status is Status.DELIVERED for o in outcomes),
                "duplicates": sum(o.status is Status.DUPLICATE for o in outcomes),
                "failed": sum(o.status is Status.FAILED for o in outcomes),
                "alerts_per_rule": dict(evaluation.alerts_per_rule),
            },
        )
