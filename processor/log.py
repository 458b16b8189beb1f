"""Everything the processor writes to stdout: bounded JSON log lines and the batch's EMF metrics.

Log lines are JSON, so CloudWatch Logs Insights can filter on any field. They quote event values (a
decode failure's reason, a rule's error), which an attacker controls: every string is cut to
LOG_VALUE_LIMIT characters and every structure to a few times that, so a record of a kilobyte (gzip
makes megabytes of it) cannot make a log line of a megabyte.

Metrics: per-batch counters and their CloudWatch Embedded Metric Format (EMF) line. One JSON line
per batch, written to stdout, which CloudWatch Logs turns into metrics: no PutMetricData call per
event (the reference's access-denied metric included), no extra latency.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from processor.models import Alert, DeliveryOutcome, Status

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

LOG_VALUE_LIMIT = 2000  # characters of one string: enough to diagnose, bounded whatever the input
_STRUCTURE_LIMIT = 8 * LOG_VALUE_LIMIT  # a dict or list (counts per rule), measured as JSON
_TRACEBACK_LIMIT = 8 * LOG_VALUE_LIMIT
_MARKER = "… (truncated, {n} more characters)"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: level, time, logger, message and every `extra=` field, bounded."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "level": record.levelname,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "logger": record.name,
            "message": _clip(record.getMessage(), LOG_VALUE_LIMIT),
        }
        entry.update({k: bounded(v) for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = _clip(self.formatException(record.exc_info), _TRACEBACK_LIMIT)
        return orjson.dumps(entry, default=str).decode()


def bounded(value: Any) -> Any:
    """`value` as it may appear in a log line: itself when small, else cut (structures become text)."""
    if isinstance(value, str):
        return _clip(value, LOG_VALUE_LIMIT)
    if value is None or isinstance(value, bool | int | float):
        return value
    try:
        text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # e.g. an int beyond 64 bits
        text = repr(value)
    if len(text) <= _STRUCTURE_LIMIT and isinstance(value, dict | list | tuple):
        return value
    return _clip(text, _STRUCTURE_LIMIT)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + _MARKER.format(n=len(text) - limit)


def configure_logging(level: str) -> None:
    """Route trailalert's loggers to stdout as JSON at `level`; leave other libraries at WARNING."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("trailalert")
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False


# --- Metrics: one EMF line per batch ---

NAMESPACE = "trailalert"
_MAX_METRICS = 100


@dataclass
class DeliveryStats:
    """What delivery did besides the outcomes: filled in by Dispatcher.deliver for one batch."""

    retries: int = 0
    rate_limited: int = 0  # 429s (and SNS throttling) received
    storm_collapsed: int = 0  # alerts delivered inside a storm digest instead of one by one
    storm_summaries: int = 0
    thread_replies: int = 0
    parent_updates_failed: int = 0
    ledger_errors: int = 0
    outcome_unknown: int = 0  # Slack app posts sent without a whole answer (timeout, reset)
    found_posted: int = 0  # ... of which a lookup found the message posted: not sent again
    suppression_errors: int = 0  # the suppressions could not be read: alerts posted regardless
    suppressed_per_rule: Counter[str] = field(default_factory=Counter)  # alerts a snooze or mute held back
    _suppressed_alerts: set[int] = field(default_factory=set, repr=False)

    @property
    def suppressed(self) -> int:
        return sum(self.suppressed_per_rule.values())

    def count_suppressed(self, alert: Alert) -> bool:
        """Count an alert held back (once, however many Slack destinations it had); True the first time."""
        if id(alert) in self._suppressed_alerts:
            return False
        self._suppressed_alerts.add(id(alert))
        self.suppressed_per_rule[alert.rule.id] += 1
        return True


@dataclass
class BatchCounts:
    """The batch's inputs, as seen by the entry point."""

    records_in: int = 0
    decoded: int = 0
    undecodable: int = 0
    ignored: int = 0
    rule_errors: int = 0
    access_denied: int = 0
    alerts_per_rule: Mapping[str, int] = field(default_factory=dict)


def is_access_denied(event: Mapping[str, Any]) -> bool:
    """The reference module's access-denied test: AccessDenied* or *UnauthorizedOperation."""
    return is_access_denied_code(event.get("errorCode"))


def is_access_denied_code(code: Any) -> bool:
    """`is_access_denied` of a record whose errorCode is `code` (anything, when it has none)."""
    return isinstance(code, str) and (
        code.startswith("AccessDenied") or code.endswith("UnauthorizedOperation")
    )


def metric_values(
    counts: BatchCounts, outcomes: Iterable[DeliveryOutcome], stats: DeliveryStats
) -> dict[str, int]:
    values: dict[str, int] = {
        "RecordsIn": counts.records_in,
        "Decoded": counts.decoded,
        "Undecodable": counts.undecodable,
        "Ignored": counts.ignored,
        "RuleErrors": counts.rule_errors,
        "AccessDenied": counts.access_denied,
        "Alerts": sum(counts.alerts_per_rule.values()),
        "Retries": stats.retries,
        "RateLimited": stats.rate_limited,
        "StormCollapsed": stats.storm_collapsed,
        "ThreadReplies": stats.thread_replies,
        "LedgerErrors": stats.ledger_errors,
        "OutcomeUnknown": stats.outcome_unknown,
        "FoundPosted": stats.found_posted,
        "Suppressed": stats.suppressed,
        "SuppressionErrors": stats.suppression_errors,
    }
    per_kind: Counter[str] = Counter()
    for outcome in outcomes:
        if outcome.status is Status.SUPPRESSED:  # counted per alert and per rule below
            continue
        per_kind[f"{_status_name(outcome.status)}_{outcome.destination.kind.value}"] += 1
    values.update(per_kind)
    for rule_id, count in counts.alerts_per_rule.items():
        values[f"Alerts_{rule_id}"] = count
    for rule_id, count in stats.suppressed_per_rule.items():
        values[f"Suppressed_{rule_id}"] = count
    return values


def emf_line(values: Mapping[str, int], *, function_name: str, timestamp_ms: int) -> str:
    """One EMF document: every value a Count metric under the FunctionName dimension."""
    names = list(values)
    directives = [  # EMF allows at most 100 metrics per directive
        {
            "Namespace": NAMESPACE,
            "Dimensions": [["FunctionName"]],
            "Metrics": [{"Name": name, "Unit": "Count"} for name in names[start : start + _MAX_METRICS]],
        }
        for start in range(0, len(names), _MAX_METRICS)
    ]
    document: dict[str, Any] = {
        "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": directives},
        "FunctionName": function_name,
        **values,
    }
    return orjson.dumps(document).decode()


def stdout_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


Emit = Callable[[str], None]


def _status_name(status: Status) -> str:
    return {Status.DELIVERED: "Delivered", Status.DUPLICATE: "Duplicate", Status.FAILED: "Failed"}[status]
