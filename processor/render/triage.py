"""Slack texts of triage: the confirmation of a snooze or mute, the audit lines posted in an alert's
thread, the note an acknowledgement leaves on the alert, and the count of suppressed alerts.

What is shown of the similar alerts comes from events (an actor's ARN): every value goes through
slack.code or plain, as in the alerts. A Slack user id is shown as a mention only when it is
shaped like one (it comes from Slack's signed payload); any other name is escaped text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from processor.deliver.dynamo import MUTE, Suppression
from processor.deliver.threads import Similar
from processor.models import SlackMessage
from processor.render.slack import ACTIONS_BLOCK_ID, UNMUTE, code, plain

CONFIRM_CALLBACK = "triage.confirm"
NOTE_BLOCK_ID = "trailalert-note"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_VALUE_LIMIT = 1000


def who(by: str) -> str:
    """A Slack user id as a mention; anything else (a CLI user's name) as inert text."""
    return f"<@{by}>" if _USER_ID.fullmatch(by) else plain(by, 200)


def when(moment: float) -> str:
    """A time each reader sees in their own time zone, with UTC as the fallback text."""
    fallback = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment)}^{{date_short_pretty}} {{time}}|{fallback}>"


def utc(moment: float) -> str:
    """The same time as plain text, for terminals and fallback texts."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def what_text(shown: Similar) -> str:
    """`Rule `x` · Actor `arn:…` · …`: what a suppression matches, every value inert."""
    return " · ".join(f"{plain(label, 100)} {code(value, 300)}" for label, value in shown)


def confirmation_view(
    *, action: str, duration: str, shown: Similar, shortened: bool, until: float | None, metadata: str
) -> dict[str, Any]:
    """The modal a responder confirms a snooze or mute in: exactly which alerts, for how long, where."""
    if action == MUTE:
        title, submit = "Mute similar alerts", "Mute until unmuted"
        span = "*until someone unmutes them* (the Unmute button this posts in the thread, or `trailalert mutes remove`)"
    else:
        title, submit = "Snooze similar alerts", f"Snooze for {duration}"
        span = f"*for {duration}*" + (f" (until about {when(until)})" if until is not None else "")
    intro = (
        f"Alerts that match *all* of these values will not be posted to Slack {span}, in any channel. "
        "Each one is counted, and the count is kept up to date in this alert's thread. "
        "SNS still receives every alert."
    )
    fields = [
        {"type": "mrkdwn", "text": f"*{plain(label, 100)}*\n{code(value, _VALUE_LIMIT)}"}
        for label, value in shown
    ]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": intro}}]
    blocks += [{"type": "section", "fields": fields[i : i + 10]} for i in range(0, len(fields), 10)]
    if shortened:
        blocks.append(_context("Some values are shown shortened (…); the whole values are matched."))
    return {
        "type": "modal",
        "callback_id": CONFIRM_CALLBACK,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata,
        "blocks": blocks,
    }


def suppression_made(suppression: Suppression, *, duration: str, unmute_value: str) -> SlackMessage:
    """The audit line a snooze or mute posts in the alert's thread: who, until when, what; and Unmute."""
    by = who(suppression.by)
    if suppression.kind == MUTE:
        head = f":mute: *Muted* by {by} until unmuted"
    else:
        head = f":zzz: *Snoozed for {duration}* by {by}, until {when(suppression.until or suppression.at)}"
    text = f"{head}: similar alerts are not posted to Slack; they are counted in this thread."
    unmute = {
        "type": "actions",
        "block_id": ACTIONS_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": UNMUTE,
                "text": {"type": "plain_text", "text": "Unmute"},
                "value": unmute_value,
            }
        ],
    }
    blocks = (_section(text), _context(what_text(suppression.what)), unmute)
    return SlackMessage(text=plain(made_line(suppression, duration=duration), 300), blocks=blocks)


def made_line(suppression: Suppression, *, duration: str) -> str:
    """The audit line as plain text: the Slack line's fallback, and what `trailalert mutes add` prints."""
    if suppression.kind == MUTE:
        head = f"Muted by {suppression.by} until unmuted"
    else:
        head = f"Snoozed for {duration} by {suppression.by}, until {utc(suppression.until or suppression.at)}"
    return f"{head}: {shown_line(suppression.what)}"


def shown_line(shown: Similar) -> str:
    return ", ".join(f"{label} {value}" for label, value in shown)


def suppression_removed(removed: Suppression, by: str) -> SlackMessage:
    """The audit line an unmute posts in the thread of the alert the suppression was made from."""
    text = f":bell: *Unmuted* by {who(by)}: similar alerts are posted again.{_meanwhile(removed)}"
    return SlackMessage(
        text=plain(removed_line(removed, by), 300), blocks=(_section(text), _context(what_text(removed.what)))
    )


def removed_line(removed: Suppression, by: str) -> str:
    """The unmute's audit line as plain text (what `trailalert mutes remove` prints)."""
    return (
        f"Unmuted by {by}: similar alerts are posted again.{_meanwhile(removed)} {shown_line(removed.what)}"
    )


def _meanwhile(removed: Suppression) -> str:
    count = removed.suppressed
    if not count:
        return ""
    return f" {count} similar alert{'' if count == 1 else 's'} {'was' if count == 1 else 'were'} suppressed meanwhile."


def acknowledged(by: str, at: float) -> str:
    """The note an acknowledgement leaves on the alert (and posts in its thread)."""
    return f":white_check_mark: Acknowledged by {who(by)} at {when(at)}"


def with_note(blocks: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """The alert's blocks with `note` as a context line above its buttons (replacing an earlier note)."""
    kept = [b for b in blocks if b.get("block_id") != NOTE_BLOCK_ID]
    context = {**_context(note), "block_id": NOTE_BLOCK_ID}
    at = next((i for i, b in enumerate(kept) if b.get("block_id") == ACTIONS_BLOCK_ID), len(kept))
    return [*kept[:at], context, *kept[at:]][-50:]


def suppressed_summary(suppression: Suppression) -> SlackMessage:
    """The thread reply that keeps count: "12 more similar alerts suppressed since ..."."""
    count = suppression.suppressed
    noun = "similar alert" if count == 1 else "similar alerts"
    since = when(suppression.since or suppression.at)
    if suppression.kind == MUTE:
        why = f"muted by {who(suppression.by)}"
    else:
        why = f"snoozed by {who(suppression.by)} until {when(suppression.until or suppression.at)}"
    text = f":zzz: *{count}* more {noun} suppressed since {since} ({why})"
    fallback = f"{count} more {noun} suppressed since {utc(suppression.since or suppression.at)}"
    return SlackMessage(text=fallback, blocks=(_section(text),))


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}
