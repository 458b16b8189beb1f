"""Storm control: when one batch holds more alerts for a channel than can be posted promptly.

Above STORM_THRESHOLD alerts for one Slack destination in one batch (a `terraform apply`, a
scanner hitting AccessDenied hundreds of times), posting each alert would take minutes at Slack's
~1 message per second per channel, overrun the Lambda and bury the channel. Instead: one summary
message in the channel (counts by event, actor, account, rule) and the alerts themselves as a
digest, DIGEST_SIZE one-line entries per message, in the summary's thread (Slack app) or right
after it (webhooks cannot thread). 300 alerts become 1 + 12 messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from processor.models import Alert, SlackMessage
from processor.render.fields import resolve_actor
from processor.render.slack import SECTION_LIMIT, code, fit, plain

STORM_THRESHOLD = 10  # alerts per Slack destination per batch; ~10 s of posting at 1 message/s
DIGEST_SIZE = 25  # one-line entries per digest message; 25 sections stay under Slack's 50 blocks
TEXT_LIMIT = 40_000  # Slack's limit for a message's `text`, used when its blocks were refused
_TOP = 5
# The summary's 4 lines of 5 values each fit one section by construction: 4 x (a 12-unit label +
# 5 x (a value + " ×10000, ")) + 3 newlines <= 3000 units for a value of up to 137 units.
_TOP_VALUE_LIMIT = 120


def chunks(alerts: Sequence[Alert], size: int = DIGEST_SIZE) -> list[Sequence[Alert]]:
    return [alerts[start : start + size] for start in range(0, len(alerts), size)]


def storm_summary(alerts: Sequence[Alert], *, threaded: bool) -> SlackMessage:
    """What a reader of the channel needs at a glance: how many, what, who, where."""
    total = len(alerts)
    parts = len(chunks(alerts))
    where = "in this thread" if threaded else "in the next messages"
    head = (
        f":rotating_light: *Alert storm:* {total} alerts in one batch. "
        f"They are listed {where} ({parts} digests)."
    )
    lines = [
        _top("Events", (a.record.event.get("eventName") for a in alerts)),
        _top("Actors", (resolve_actor(a.record.event) for a in alerts)),
        _top("Accounts", (a.account_id for a in alerts)),
        _top("Rules", (a.rule.id for a in alerts)),
    ]
    blocks: tuple[dict[str, Any], ...] = (_section(head), _section("\n".join(lines)))
    return SlackMessage(text=f"Alert storm: {total} alerts in one batch", blocks=blocks)


def storm_digest(alerts: Sequence[Alert], *, part: int, parts: int) -> SlackMessage:
    """One line per alert: enough to find the event (eventID) and judge it without the full card."""
    blocks = [_context(f"Storm digest {part}/{parts}")]
    blocks += [_section(_line(alert)) for alert in alerts]
    return SlackMessage(text=f"Alert storm digest {part}/{parts}: {len(alerts)} alerts", blocks=tuple(blocks))


def _line(alert: Alert) -> str:
    event = alert.record.event
    line = f"{code(event.get('eventName'), 120)} by {code(resolve_actor(event), 300)}"
    if event.get("errorCode"):
        line += f" failed {code(event.get('errorCode'), 120)}"
    return (
        f"{line} · account {plain(alert.account_id, 40)} · {plain(event.get('awsRegion'), 40)}"
        f" · {plain(event.get('eventTime'), 40)} · rule {code(alert.rule.id, 120)}"
        f" · eventID {code(alert.event_id, 120)}"
    )


def _top(label: str, values: Iterable[Any]) -> str:
    counts = Counter("" if v is None else str(v) for v in values).most_common(_TOP)
    return f"*{label}:* " + ", ".join(f"{code(value or '-', _TOP_VALUE_LIMIT)} ×{n}" for value, n in counts)


def text_only(message: SlackMessage) -> SlackMessage:
    """The message without blocks, its blocks' texts as the message text: what to post when Slack
    refuses the blocks, so the alerts they list are delivered instead of failed on every retry."""
    texts = []
    for block in message.blocks:
        parts = [block.get("text")] + list(block.get("fields", ())) + list(block.get("elements", ()))
        texts += [part["text"] for part in parts if isinstance(part, dict) and "text" in part]
    return SlackMessage(text=fit("\n".join(texts) or message.text, TEXT_LIMIT), blocks=())


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text, SECTION_LIMIT), "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}
