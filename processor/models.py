"""Value objects that the stages exchange: frozen, typed, never dicts with agreed keys.

NamedTuples where nothing more is needed: a frozen dataclass costs about five times as much to
create, and every cold start creates them all. Slotted dataclasses where a field is derived or
keyword-only, and for what is read per record or per rule run (Record, RuleRef, Verdict): a slot
is read in half the time of a NamedTuple's field, which the backfill's core measures.

Data only: what an object derives from its fields is computed once, when it is made (`Alert.event_id`
by the pipeline, `Destination.key` as it is built), so the hot path never calls into this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class Record:
    """One CloudTrail event and a handle back to the input item it came from.

    `item_id` is what a retry is keyed on: the Kinesis sequence number, or `s3://bucket/key`
    for a log file. `index` tells records of one item apart (KPL, CloudWatch Logs, log files).
    """

    event: dict[str, Any]
    item_id: str
    index: int = 0
    source: str = ""


@dataclass(frozen=True, slots=True)
class RuleRef:
    """What an alert says about the rule that matched it."""

    id: str
    expression: str
    origin: str  # the setting it came from: RULES, USE_DEFAULT_RULES, EVENTS_TO_TRACK, ...
    title: str = ""
    severity: str = "medium"
    # Set by rule files (RULES_FILE, the detection pack); empty for rules from the environment.
    description: str = ""
    references: tuple[str, ...] = ()  # e.g. MITRE ATT&CK technique ids, Stratus Red Team technique ids
    destinations: tuple[Destination, ...] = ()  # added to the account's destinations
    threshold: Threshold | None = None  # alert only on the Nth match in a window (per container)
    group_by: tuple[str, ...] = ()  # flat keys: what the threshold counts per, and the thread key
    runbook: str = ""  # rule files: what a responder checks first


# Severities from least to most severe; SEVERITY_ROUTING's min_severity compares by this order.
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
# Position in SEVERITIES. An unknown severity ranks as "medium", the RuleRef default:
# `SEVERITY_RANK.get(severity, UNKNOWN_SEVERITY_RANK)`.
SEVERITY_RANK: dict[str, int] = {severity: rank for rank, severity in enumerate(SEVERITIES)}
UNKNOWN_SEVERITY_RANK = SEVERITY_RANK["medium"]


class Threshold(NamedTuple):
    """A burst: `count` matches within `window_seconds` of event time, per group_by value."""

    count: int
    window_seconds: int
    # A key naming a list (requestParameters.names): a match counts its items, not 1, so five
    # calls reading ten parameters each are fifty reads. Empty: every match counts 1.
    count_values: str = ""


class DestinationKind(StrEnum):
    SLACK_APP = "slack_app"
    SLACK_WEBHOOK = "slack_webhook"
    SNS = "sns"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where one alert goes. `target` is a channel id, a webhook URL or a topic ARN.

    `key`: a stable, secret-free name (webhook URLs are secrets, so only their hash is shown),
    computed once as the destination is made: destinations are made with the settings and the
    rules, not per alert.
    """

    kind: DestinationKind
    target: str
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind is DestinationKind.SLACK_WEBHOOK:
            key = f"slack_webhook:{hashlib.sha256(self.target.encode()).hexdigest()[:12]}"
        else:
            key = f"{self.kind.value}:{self.target}"
        object.__setattr__(self, "key", key)


class SlackMessage(NamedTuple):
    """A rendered Slack message: fallback text plus Block Kit blocks.

    `key`: the idempotency key the Slack app posts it with (in the message metadata), so that a
    post whose outcome is unknown can be looked for before it is sent again.
    """

    text: str
    blocks: tuple[dict[str, Any], ...]
    key: str | None = None

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": list(self.blocks)}


@dataclass(frozen=True, slots=True)
class Alert:
    """A record that matched a rule, where it goes, and what will be sent."""

    record: Record
    rule: RuleRef
    account_id: str
    destinations: tuple[Destination, ...]
    slack: SlackMessage | None
    sns: dict[str, Any] | None
    account_name: str = ""  # ACCOUNT_NAMES or AWS Organizations; "" when unknown
    # The event's eventID, else `<item_id>#<index>`: what the delivery ledger and the logs name it by.
    event_id: str = field(kw_only=True)


class Status(StrEnum):
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"  # delivered earlier (retry), not sent again
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # held back by a snooze or mute from Slack: counted, summed in its thread


class DeliveryOutcome(NamedTuple):
    """The result of sending one alert to one destination."""

    alert: Alert
    destination: Destination
    status: Status
    detail: str = ""


class RuleFailure(NamedTuple):
    """A rule raised while being evaluated on one event; the other rules still ran."""

    rule: RuleRef
    error: str
    event_id: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the rules decided for one event."""

    matched: RuleRef | None = None
    ignored_by: RuleRef | None = None
    failures: tuple[RuleFailure, ...] = field(default_factory=tuple)
