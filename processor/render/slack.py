"""Slack Block Kit messages for matched events and for rule/decode failure notices.

Limits from Slack's Block Kit reference: section text 3000, section field 2000, header plain_text 150,
50 blocks per message. Budgets below stay under them whatever the event holds.

Every mrkdwn text object is `verbatim`: without it Slack auto-parses plain text in it, so a bare
`@channel` / `@here` in an event field could notify a whole channel and a bare URL becomes a link.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from processor.models import Record, RuleFailure, RuleRef, SlackMessage
from processor.render.fields import MISSING, display, resolve_actor, truncate
from processor.render.mrkdwn import bold, code, code_block, escape, inert, one_line, plain

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
MAX_BLOCKS = 50
FALLBACK_LIMIT = 300  # Slack allows 40,000; notifications and screen readers want one line
VALUE_LIMIT = 300  # one field value: long user agents or IDs still leave a readable card
EXPRESSION_LIMIT = 500

# (event key, label) of the JSON documents shown in code blocks, in display order.
PAYLOADS = (
    ("requestParameters", "Request parameters"),
    ("responseElements", "Response elements"),
    ("additionalEventData", "Additional event data"),
    ("serviceEventDetails", "Service event details"),
    ("insightDetails", "Insight details"),
)


def render_slack(
    record: Record, rule: RuleRef, account_id: str, *, actor: str | None = None, account_name: str = ""
) -> SlackMessage:
    """The alert for one matched record: who did what, key facts, the rule, and the raw documents.

    `actor`: resolve_actor's answer for the record, when the caller already has it. `account_name`
    (ACCOUNT_NAMES, AWS Organizations) is shown beside the account id."""
    event: Mapping[str, Any] = record.event if isinstance(record.event, Mapping) else {}
    if actor is None:
        actor = resolve_actor(event)
    event_name = event.get("eventName")
    insight = event.get("insightDetails")
    if event.get("eventType") == "AwsCloudTrailInsight" and isinstance(insight, Mapping):
        # an Insights record names no caller or call of its own: say which API's rate is unusual
        actor, event_name = "CloudTrail Insights", " ".join(
            str(insight.get(key, "")) for key in ("insightType", "state", "eventName")
        )
    error_code = event.get("errorCode")
    failed = error_code not in (None, "")

    header = f"[{rule.severity}] {display(event_name)}" + (" failed" if failed else "")
    summary = f"{code(actor, 600)} called {bold(event_name, 300)}"
    if failed:
        summary += f" but failed with {code(error_code, 300)}: {plain(event.get('errorMessage'), 1500)}"

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain_text(header, HEADER_LIMIT)},
        _section(summary),
        {"type": "section", "fields": _facts(event, rule, account_id, account_name)},
        _context(_expression_text(rule.expression)),
    ]
    for key, label in PAYLOADS:
        if event.get(key) is not None:
            blocks.append(_section(code_block(label, event[key], SECTION_LIMIT)))
    source = f"Source: {code(record.item_id, 1000)}"
    if record.index:
        source += f" record {record.index}"
    if record.source:
        source += f" via {plain(record.source, 100)}"
    blocks.append(_context(source))

    fallback = f"[{rule.severity}] {actor} called {display(event_name)}"
    if failed:
        fallback += f" but failed with {display(error_code)}"
    fallback += f" in {account_id or MISSING}"
    if account_name:
        fallback += f" ({account_name})"
    fallback += f" (rule {rule.id})"
    text = truncate(inert(fallback), FALLBACK_LIMIT, escape=escape)
    return SlackMessage(text=text, blocks=tuple(blocks[:MAX_BLOCKS]))


# Triage buttons (docs/slack.md): their action ids, and what each snooze lasts.
ACTIONS_BLOCK_ID = "trailalert-triage"
ACKNOWLEDGE = "triage.ack"
MUTE = "triage.mute"
UNMUTE = "triage.unmute"
SNOOZES = {"triage.snooze.1h": 3600, "triage.snooze.24h": 86_400, "triage.snooze.7d": 604_800}
_SNOOZE_LABELS = {"triage.snooze.1h": "1 hour", "triage.snooze.24h": "24 hours", "triage.snooze.7d": "7 days"}


def snooze_label(action_id: str) -> str:
    """ "24 hours" for triage.snooze.24h."""
    return _SNOOZE_LABELS[action_id]


def with_triage_actions(message: SlackMessage, value: str) -> SlackMessage:
    """The alert with its buttons: Acknowledge, Snooze similar (1 hour, 24 hours, 7 days), Mute similar.

    `value` is the signed description of the similar alerts (processor/action_values.py); each
    button carries it, and a snooze or mute first shows exactly what it would hold back."""
    elements = [_button("Acknowledge", ACKNOWLEDGE, value, "primary")]
    elements += [
        _button(f"Snooze similar {label}", action, value) for action, label in _SNOOZE_LABELS.items()
    ]
    elements.append(_button("Mute similar", MUTE, value, "danger"))
    actions = {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements}
    return SlackMessage(message.text, tuple(message.blocks)[: MAX_BLOCKS - 1] + (actions,), message.key)


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def render_rule_failure(failure: RuleFailure, *, count: int, source: str) -> SlackMessage:
    """A short notice that a rule keeps raising, so its author fixes it instead of missing alerts."""
    rule = failure.rule
    noun = "event" if count == 1 else "events"
    fallback = (
        f"Rule {rule.id} failed on {count} {noun} in the last interval: {failure.error}; "
        f"sample eventID {failure.event_id}"
    )
    summary = (
        f":warning: Rule {code(rule.id, 200)} failed on *{count}* {noun} in the last interval: "
        f"{code(failure.error, 1000)}\nSample eventID {code(failure.event_id, 200)}"
    )
    details = (
        f"Expression: {code(rule.expression, EXPRESSION_LIMIT)} · from {plain(rule.origin, 100)}"
        f" · source {code(source, 300)}"
    )
    return SlackMessage(
        text=truncate(inert(fallback), FALLBACK_LIMIT, escape=escape),
        blocks=(_section(summary), _context(details)),
    )


def render_decode_failure(reason: str, *, count: int, sample_item_id: str, source: str) -> SlackMessage:
    """A short notice that input could not be decoded, so those events were never checked."""
    noun = "record" if count == 1 else "records"
    fallback = f"Could not decode {count} {noun} in the last interval: {reason}; sample item {sample_item_id}"
    summary = (
        f":warning: Could not decode *{count}* {noun} in the last interval: {code(reason, 1000)}\n"
        f"Sample item {code(sample_item_id, 1000)}"
    )
    return SlackMessage(
        text=truncate(inert(fallback), FALLBACK_LIMIT, escape=escape),
        blocks=(_section(summary), _context(f"Source: {code(source, 300)}")),
    )


def _facts(
    event: Mapping[str, Any], rule: RuleRef, account_id: str, account_name: str
) -> list[dict[str, str]]:
    """The short key facts as section fields (Slack allows 10, each up to 2000 characters)."""
    account = plain(account_id, VALUE_LIMIT)
    if account_name:
        account += f" ({plain(account_name, VALUE_LIMIT)})"
    facts = [
        ("Account", account),
        ("Region", plain(event.get("awsRegion"), VALUE_LIMIT)),
        ("Event source", plain(event.get("eventSource"), VALUE_LIMIT)),
        ("Source IP", code(event.get("sourceIPAddress"), VALUE_LIMIT)),
        ("User agent", code(event.get("userAgent"), VALUE_LIMIT)),
        ("Time", plain(event.get("eventTime"), VALUE_LIMIT)),
        ("Event ID", code(event.get("eventID"), VALUE_LIMIT)),
        ("Rule", _rule_text(rule.id, rule.severity, rule.title)),
    ]
    return [{"type": "mrkdwn", "text": f"*{label}*\n{value}", "verbatim": True} for label, value in facts]


# A rule's own texts are the same in each of its alerts: made once per rule (strings as keys:
# hashing a RuleRef hashes every field).
@functools.lru_cache(maxsize=1024)
def _rule_text(rule_id: str, severity: str, title: str) -> str:
    text = f"{code(rule_id, 300)} ({plain(severity, 50)})"
    if title:
        text += f"\n{plain(title, 300)}"
    return text


@functools.lru_cache(maxsize=1024)
def _expression_text(expression: str) -> str:
    return f"Rule expression: {code(expression, EXPRESSION_LIMIT)}"


def _plain_text(text: str, limit: int) -> dict[str, Any]:
    """plain_text is never parsed for mentions or links: it needs one line and a length limit, not escaping."""
    return {"type": "plain_text", "text": truncate(one_line(text), limit) or MISSING, "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT), "verbatim": True},
    }


def _context(text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT), "verbatim": True}],
    }
