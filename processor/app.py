"""Wires Settings into a ready-to-run App: rules, router, senders, ledger. Built once per container."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from processor.decode.kinesis import DecodeFailure, decode_kinesis_event
from processor.deliver.dispatcher import Dispatcher
from processor.deliver.ledger import DeliveryLedger, MemoryLedger
from processor.deliver.notices import ERROR_REPORT_INTERVAL_SECONDS, NoticeGate
from processor.deliver.retry import RetryPolicy
from processor.deliver.senders import (
    SLACK_SDK_LOG,
    SLACK_TIMEOUT_SECONDS,
    SlackAppSender,
    SnsSender,
    WebhookSender,
)
from processor.deliver.storm import STORM_THRESHOLD
from processor.deliver.timing import (
    FINISH_SECONDS,
    MIN_CALL_SECONDS,
    SYSTEM,
    ChannelPacer,
    Deadline,
    Timing,
    remaining_seconds,
)
from processor.errors import ConfigError
from processor.fastpath import FastPath, decode_mode
from processor.log import (
    BatchCounts,
    DeliveryStats,
    Emit,
    configure_logging,
    emf_line,
    is_access_denied,
    metric_values,
)
from processor.log import stdout_line as _stdout_line
from processor.models import DeliveryOutcome, DestinationKind, RuleFailure, Status
from processor.pipeline import Evaluation, Router, evaluate
from processor.render.slack import render_decode_failure, render_rule_failure
from processor.rules.ruleset import RuleSet, build_ruleset
from processor.settings import Settings, load_settings

log = logging.getLogger("trailalert")


def send_reserve(send_timeout: float) -> float:
    """A send may take up to one client timeout, and its ledger write the shortest DynamoDB call
    after it (processor.deliver.timing): never start a send with less time left than both."""
    return send_timeout + MIN_CALL_SECONDS + FINISH_SECONDS


def build_rules(settings: Settings) -> RuleSet:
    """Environment rules, RULES_FILE and the pack; a rule routing to Slack needs the Slack app."""
    ruleset = build_ruleset(
        rules=settings.rules,
        ignore_rules=settings.ignore_rules,
        separator=settings.rules_separator,
        use_default_rules=settings.use_default_rules,
        events_to_track=settings.events_to_track,
        function_name=settings.function_name,
        rules_file=settings.rules_file,
        use_detection_pack=settings.use_detection_pack,
    )
    for rule in ruleset.rules:
        if not settings.uses_slack_app and any(
            d.kind is DestinationKind.SLACK_APP for d in rule.ref.destinations
        ):
            raise ConfigError(
                "RULES_FILE",
                f"rule {rule.ref.id!r} ({rule.ref.origin}) routes to a Slack channel: set SLACK_BOT_TOKEN",
            )
    return ruleset


def build_dispatcher(
    settings: Settings,
    *,
    sns_client_factory: Callable[[str], Any] | None = None,
    timing: Timing | None = None,
    dynamodb_resource_factory: Callable[[Any], Any] | None = None,
    send_timeout: float = SLACK_TIMEOUT_SECONDS,
) -> Dispatcher:
    """Clients are created here, once; boto3 is imported lazily so Slack-only setups never pay for it.

    The SDKs' own retries are switched off (`retry_handlers=[]`, one botocore attempt): they sleep
    for real and know nothing of the Lambda's remaining time, so the Dispatcher retries instead.
    `dynamodb_resource_factory(config)` makes the DynamoDB resource for a botocore Config, and
    `send_timeout` bounds each Slack and SNS call (tests shorten it to meet hangs quickly).
    """
    timing = timing or SYSTEM
    deadline = Deadline()
    senders: dict[DestinationKind, Any] = {}
    if settings.uses_slack_app:
        from slack_sdk import WebClient

        client = WebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            timeout=send_timeout,
            retry_handlers=[],
            logger=SLACK_SDK_LOG,  # SlackAppSender reports failures itself, without the token
        )
        senders[DestinationKind.SLACK_APP] = SlackAppSender(client)
    if settings.uses_webhook:
        senders[DestinationKind.SLACK_WEBHOOK] = WebhookSender(timeout=send_timeout, retry_handlers=[])
    if settings.uses_sns:
        senders[DestinationKind.SNS] = SnsSender(sns_client_factory or _boto3_sns_client(send_timeout))
    ledger: DeliveryLedger = MemoryLedger(clock=timing.clock)
    threads: Any = None
    suppressions: Any = None
    buttons: Any = None
    if settings.dynamodb_table_name:
        from processor.deliver.dynamo import (
            BoundedTable,
            DynamoDbLedger,
            DynamoDbThreadStore,
            SuppressionStore,
        )
        from processor.deliver.threads import SlackThreads, Suppressions

        table = BoundedTable(settings.dynamodb_table_name, deadline, dynamodb_resource_factory)
        ledger = DynamoDbLedger(table, wall=timing.wall)
        if settings.uses_slack_app:
            threads = SlackThreads(
                DynamoDbThreadStore(table), ttl=settings.dynamodb_time_to_live, timing=timing
            )
        if settings.uses_slack_app or settings.uses_webhook:  # snoozes and mutes hold back Slack posts
            suppressions = Suppressions(SuppressionStore(table), timing=timing)
    if settings.triage_enabled and settings.triage_signing_key:
        from processor.action_values import ActionSigner

        buttons = ActionSigner(settings.triage_signing_key)
    return Dispatcher(
        senders,
        ledger,
        retry=RetryPolicy(),
        pacer=ChannelPacer(clock=timing.clock),
        threads=threads,
        storm_threshold=STORM_THRESHOLD,
        timing=timing,
        reserve_seconds=send_reserve(send_timeout),
        deadline=deadline,
        suppressions=suppressions,
        buttons=buttons,
    )


def _boto3_sns_client(send_timeout: float) -> Callable[[str], Any]:
    """SNS clients whose connect + read timeouts add up to one send timeout, one attempt."""

    def make(region: str) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=send_timeout / 5,
            read_timeout=send_timeout * 4 / 5,
            retries={"total_max_attempts": 1},
        )
        return boto3.client("sns", region_name=region, config=config)

    return make


@dataclass
class RuleErrorReporter:
    """Tells Slack a rule is failing, or records cannot be decoded: at most once per rule (or once
    for decoding) per container per interval, with a count and one sample, not once per event.

    Every occurrence is logged whatever RULE_EVALUATION_ERRORS_TO_SLACK says; the setting only
    controls the Slack notice. Notices go to the default destinations, paced like alerts.
    """

    dispatcher: Dispatcher
    router: Router
    enabled: bool
    interval: float = ERROR_REPORT_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _gate: NoticeGate | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._gate = NoticeGate(self.interval, self.clock)

    def report(
        self,
        failures: tuple[RuleFailure, ...],
        source: str,
        remaining_seconds: Callable[[], float] = lambda: float("inf"),
    ) -> None:
        by_rule: dict[str, list[RuleFailure]] = {}
        for failure in failures:
            log.error(
                "rule evaluation failed",
                extra={"rule_id": failure.rule.id, "error": failure.error, "event_id": failure.event_id},
            )
            by_rule.setdefault(failure.rule.id, []).append(failure)
        for rule_id, group in by_rule.items():
            self._notice(
                f"rule:{rule_id}",
                len(group),
                lambda count, g=group: render_rule_failure(g[0], count=count, source=source),
                remaining_seconds,
            )

    def report_undecodable(
        self,
        failures: tuple[DecodeFailure, ...],
        source: str,
        remaining_seconds: Callable[[], float] = lambda: float("inf"),
    ) -> None:
        for failure in failures:
            log.error(
                "undecodable record skipped",
                extra={"sequence_number": failure.item_id, "reason": failure.reason},
            )
        if failures:
            sample = failures[0]
            self._notice(
                "decode",
                len(failures),
                lambda count: render_decode_failure(
                    sample.reason, count=count, sample_item_id=sample.item_id, source=source
                ),
                remaining_seconds,
            )

    def _notice(
        self, key: str, occurrences: int, render: Callable[[int], Any], remaining_seconds: Callable[[], float]
    ) -> None:
        if not self.enabled:
            return
        assert self._gate is not None
        count = self._gate.add(key, occurrences)
        if count is None:
            return
        # Marked sent even if Slack refused it: retrying every batch would flood a struggling Slack.
        self._gate.sent(key)
        self.dispatcher.notify(render(count), self.router.destinations(""), remaining_seconds)


@dataclass
class App:
    """Everything a container needs, built once at cold start."""

    settings: Settings
    rules: RuleSet
    router: Router
    dispatcher: Dispatcher
    error_reporter: RuleErrorReporter
    emit_metrics: Emit = _stdout_line
    fast: FastPath | None = None  # None: every record is decoded in full (see processor/fastpath.py)

    @classmethod
    def from_settings(cls, settings: Settings, *, emit_metrics: Emit | None = None, **kwargs: Any) -> App:
        """`kwargs` go to build_dispatcher (timing, client factories): the seams tests inject through."""
        rules = build_rules(settings)
        router = Router(settings)
        dispatcher = build_dispatcher(settings, **kwargs)
        timing = kwargs.get("timing") or SYSTEM
        reporter = RuleErrorReporter(
            dispatcher, router, settings.rule_evaluation_errors_to_slack, clock=timing.clock
        )
        fast, _ = decode_mode(rules, settings.decode)
        return cls(settings, rules, router, dispatcher, reporter, emit_metrics or _stdout_line, fast)

    def process_kinesis(
        self, event: dict[str, Any], remaining_seconds: Callable[[], float]
    ) -> dict[str, Any]:
        """Decode and match the whole batch first, then deliver; return the partial batch response."""
        batch = decode_kinesis_event(event, fast=self.fast)
        self.error_reporter.report_undecodable(batch.failures, "kinesis", remaining_seconds)
        evaluation = evaluate(batch.records, self.rules, self.router).with_counted(
            batch.unmatched, batch.ignored
        )
        self.error_reporter.report(evaluation.rule_failures, "kinesis", remaining_seconds)
        stats = DeliveryStats()
        outcomes = self.dispatcher.deliver(evaluation.alerts, remaining_seconds, stats=stats)
        failed = {o.alert.record.item_id for o in outcomes if o.status is Status.FAILED}
        self._log_batch(evaluation, outcomes, len(batch.failures), batch.skipped)
        counts = BatchCounts(
            records_in=len(batch.sequence_numbers),
            decoded=len(batch.records) + batch.unmatched + batch.ignored,
            undecodable=len(batch.failures),
            ignored=evaluation.ignored,
            rule_errors=len(evaluation.rule_failures),
            access_denied=sum(is_access_denied(r.event) for r in batch.records) + batch.counted_access_denied,
            alerts_per_rule=dict(evaluation.alerts_per_rule),
        )
        self.emit_metrics(
            emf_line(
                metric_values(counts, outcomes, stats),
                function_name=self.settings.function_name,
                timestamp_ms=int(time.time() * 1000),
            )
        )
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
                "suppressed": sum(o.status is Status.SUPPRESSED for o in outcomes),
                "alerts_per_rule": dict(evaluation.alerts_per_rule),
            },
        )


# --- The Lambda entry point (processor.handler.handler): one App per container ---------------------

_app: App | None = None
_app_options: dict[str, Any] = {}


def get_app() -> App:
    global _app
    if _app is None:
        settings = load_settings()  # *_SECRET references are read here: once per container
        configure_logging(settings.log_level)
        _app = App.from_settings(settings, **_app_options)
    return _app


def reset(**app_options: Any) -> None:
    """Forget the cached App (tests and the demo change the environment between runs).

    `app_options` are passed to `App.from_settings` for the next App, e.g. `timing=` so tests
    drive retries and pacing with a fake clock instead of sleeping.
    """
    global _app, _app_options
    _app = None
    _app_options = dict(app_options)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Kinesis batch in; `{"batchItemFailures": [...]}` out, listing exactly the records to retry."""
    return get_app().process_kinesis(event, remaining_seconds(context))
