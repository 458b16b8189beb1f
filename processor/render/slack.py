"""Slack messages: mrkdwn that makes attacker-controlled text inert, and the Block Kit messages
for matched events and for rule/decode failure notices.

Escaping. Slack documents exactly three control characters for mrkdwn: `&`, `<` and `>`. Escaping
them means `<!channel>`, `<@U123>` or `<https://evil|click me>` show as typed instead of pinging or
linking. That is not enough for text an attacker writes (an errorMessage, an awsRegion): every value
is also made one line (a newline would let it draw a fake `*Account*` line under ours), its
formatting characters are replaced by look-alikes where Slack would act on them, and characters that
hide or reorder text (right-to-left overrides, zero-width spaces) are shown as U+FFFD instead.

Block Kit. Limits from Slack's Block Kit reference: section text 3000, section field 2000, header
plain_text 150, 50 blocks per message. Budgets below stay under them whatever the event holds.
Every mrkdwn text object is `verbatim`: without it Slack auto-parses plain text in it, so a bare
`@channel` / `@here` in an event field could notify a whole channel and a bare URL becomes a link.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from processor.models import Record, RuleFailure, RuleRef, SlackMessage
from processor.render.fields import (
    MARKER,
    MISSING,
    clip,
    display,
    resolve_actor,
    slack_len,
    to_json,
    truncate,
)

# --- mrkdwn: attacker-controlled text made inert ---

_FENCE_RUN = re.compile(r"`{3,}")
_ZERO_WIDTH_SPACE = "\u200b"
_GRAVE_LOOKALIKE = "ˋ"  # U+02CB: reads like a backtick, cannot close a code span
SHOWN_FOR_HIDDEN = "\ufffd"

# Characters that change how the text around them reads without being seen: C0/C1 controls (line
# breaks and tabs are handled apart), soft hyphen, bidi marks, embeddings, overrides and isolates,
# zero-width spaces and joiners, invisible operators, the BOM, Hangul fillers, tag characters.
_HIDDEN = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f]"
)
# A run of line breaks (any Unicode one) with the spaces around it: one space keeps the words apart.
_LINE_BREAKS = re.compile("[ \t]*[\r\n\x0b\x0c\x85\u2028\u2029][\\s\u2028\u2029\x85]*")
# Slack acts on `*`, `~` and backticks anywhere, on `_` only at a word's edge: `SSO_Admin_x` stays.
_FORMATTING = re.compile(r"[*~`]|(?<![^\W_])_|_(?![^\W_])")
_LOOKALIKES = {"*": "∗", "~": "∼", "`": _GRAVE_LOOKALIKE, "_": "ˍ"}  # U+2217, U+223C, U+02CB, U+02CD


def one_line(text: str) -> str:
    """`text` on one line, with hidden and reordering characters shown as U+FFFD.

    For every attacker-controlled text, plain_text headers and notification texts included.
    """
    if text.isascii() and text.isprintable():  # the usual value: nothing to do
        return text
    text = _LINE_BREAKS.sub(" ", text.replace("\t", " "))
    return _HIDDEN.sub(SHOWN_FOR_HIDDEN, text)


def inert(text: str) -> str:
    """`one_line(text)` whose mrkdwn formatting characters cannot format: for text outside code."""
    text = one_line(text)
    if "*" in text or "_" in text or "~" in text or "`" in text:
        return _FORMATTING.sub(lambda match: _LOOKALIKES[match.group()], text)
    return text


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(value: Any, limit: int) -> str:
    """A value as escaped, inert mrkdwn text on one line, truncated to `limit`."""
    text = value if value.__class__ is str and value else display(value)
    return truncate(inert(text), limit, escape=escape)


def code(value: Any, limit: int) -> str:
    """A value as inline code: one line, no backticks, escaped, so formatting inside stays literal."""
    text = value if value.__class__ is str and value else display(value)  # a field is usually a string
    text = one_line(text).replace("`", _GRAVE_LOOKALIKE)
    return f"`{truncate(text, max(limit - 2, 1), escape=escape)}`"


def bold(value: Any, limit: int) -> str:
    """A value in bold; `*` inside is replaced by a look-alike so it cannot end the bold early."""
    return f"*{truncate(inert(display(value)), max(limit - 2, 1), escape=escape)}*"


def fit(mrkdwn: str, limit: int) -> str:
    """Rendered mrkdwn within `limit` UTF-16 units, for a text assembled from escaped parts.

    A cut, when one is needed, never splits an entity (`&lt;` cut to `&l` would show as typed or be
    refused) and never leaves an inline code span open; it ends with "…".
    """
    if slack_len(mrkdwn) <= limit:
        return mrkdwn
    cut, _ = clip(mrkdwn, max(limit - 1, 0))
    entity = cut.rfind("&")
    if entity > cut.rfind(";"):  # every `&` left in escaped text starts an entity ending in `;`
        cut = cut[:entity]
    if cut.count("`") % 2:
        cut = cut[: cut.rfind("`")]
    return cut + "…"


def _defuse_fences(text: str) -> str:
    """Split runs of 3+ backticks with zero-width spaces so a value cannot close its code block."""
    return _FENCE_RUN.sub(lambda match: _ZERO_WIDTH_SPACE.join(match.group()), text)


def code_block(label: str, value: Any, limit: int) -> str:
    """A labelled, pretty-printed JSON code block within `limit`, with the marker outside the fence."""
    head = f"*{escape(label)}*\n```\n"
    tail = "\n```"
    body = _defuse_fences(_HIDDEN.sub(SHOWN_FOR_HIDDEN, to_json(value, pretty=True)))
    budget = limit - slack_len(head) - slack_len(tail)
    rendered, omitted = clip(body, budget, escape=escape)
    if not omitted:
        return head + rendered + tail
    marker = f"\n_{MARKER.format(n=len(body))}_"
    rendered, omitted = clip(body, max(budget - slack_len(marker), 0), escape=escape)
    return f"{head}{rendered}{tail}\n_{MARKER.format(n=omitted)}_"


# --- Block Kit messages ---

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
        actor, event_name = (
            "CloudTrail Insights",
            " ".join(str(insight.get(key, "")) for key in ("insightType", "state", "eventName")),
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
