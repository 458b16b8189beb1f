"""An HTML page showing Slack messages roughly as Slack draws them: what `trailalert demo` writes.

Block Kit is rendered faithfully enough to recognise a message: header, section text and fields,
mrkdwn (bold, italic, strike, inline code, code blocks, mentions, dates, links, a few emoji),
context, action buttons, and thread replies under their parent. It reads messages as the Slack
stand-in stores them (`SlackStandIn.messages(channel)`: chat.update applied, `thread_ts` on replies).

Every text in a message may come from an event, and event fields are attacker-controlled: all of it
is HTML-escaped, links get an href only for http(s) URLs, and the page runs no script (its
Content-Security-Policy forbids any).

docs/images/alert.png is the page's first conversation, taken with headless Chromium after
`make demo`: `chromium --headless --hide-scrollbars --screenshot=alert.png --window-size=1060,1000
build/demo-preview.html`, cropped to the channel (x 16-1044, y 130-950) and reduced to 128 colours.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

APP_NAME = "trailalert"

# The emoji trailalert's messages use, and a few common ones; any other shortcode stays as typed.
EMOJI = {
    "warning": "\u26a0\ufe0f",
    "zzz": "\U0001f4a4",
    "white_check_mark": "\u2705",
    "rotating_light": "\U0001f6a8",
    "mute": "\U0001f507",
    "bell": "\U0001f514",
    "thread": "\U0001f9f5",
    "no_bell": "\U0001f515",
    "x": "\u274c",
    "eyes": "\U0001f440",
}

# Inline mrkdwn, in priority order: code spans keep their content literal, then Slack's control
# sequences (<...>), then bold, italic, strike, emoji. `_` formats only at a word's edge, as in Slack.
_INLINE = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?P<control><[^<>\n]+>)"
    r"|(?P<bold>(?<![\w*])\*[^*\n]+\*(?![\w*]))"
    r"|(?P<italic>(?<![\w_])_[^_\n]+_(?![\w_]))"
    r"|(?P<strike>(?<![\w~])~[^~\n]+~(?![\w~]))"
    r"|(?P<emoji>:[a-z0-9_+-]+:)"
)
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Conversation:
    """One channel's messages (oldest first), under a heading that says what they show."""

    title: str
    channel: str
    messages: Sequence[Mapping[str, Any]]
    note: str = ""


def render_page(
    conversations: Iterable[Conversation], *, title: str = "trailalert demo: Slack preview"
) -> str:
    """A standalone HTML page (inline CSS, no script, nothing fetched) showing every conversation."""
    body = "\n".join(_conversation(c) for c in conversations)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style></head>\n"
        f"<body>\n<h1>{_esc(title)}</h1>\n{body}\n</body></html>\n"
    )


def _conversation(conversation: Conversation) -> str:
    replies: dict[str, list[Mapping[str, Any]]] = {}
    parents = []
    for message in conversation.messages:
        thread = message.get("thread_ts")
        if thread and thread != message.get("ts"):
            replies.setdefault(str(thread), []).append(message)
        else:
            parents.append(message)
    items = []
    for message in parents:
        thread = replies.pop(str(message.get("ts")), [])
        items.append(_message(message, thread))
    for orphans in replies.values():  # replies whose parent is not in the list: shown on their own
        items.extend(_message(reply, []) for reply in orphans)
    note = f'<p class="note">{_esc(conversation.note)}</p>' if conversation.note else ""
    return (
        f'<section class="conversation"><h2>{_esc(conversation.title)}</h2>{note}'
        f'<div class="channel"><div class="channel-name"># {_esc(conversation.channel)}</div>'
        + "\n".join(items)
        + "</div></section>"
    )


def _message(message: Mapping[str, Any], thread: Sequence[Mapping[str, Any]]) -> str:
    blocks = message.get("blocks") or []
    content = "".join(_block(b) for b in blocks if isinstance(b, Mapping)) if blocks else ""
    if not content:  # no blocks: Slack shows the text
        content = f'<div class="section">{mrkdwn_html(str(message.get("text", "")))}</div>'
    replies = ""
    if thread:
        noun = "reply" if len(thread) == 1 else "replies"
        replies = (
            f'<div class="thread"><div class="thread-count">{len(thread)} {noun}</div>'
            + "".join(_message(reply, []) for reply in thread)
            + "</div>"
        )
    return (
        '<div class="message"><div class="avatar">ta</div><div class="body">'
        f'<div class="meta"><span class="app">{APP_NAME}</span><span class="badge">APP</span>'
        f'<span class="time">{_esc(_time(message.get("ts")))}</span></div>'
        f"{content}</div></div>{replies}"
    )


def _block(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f'<div class="header">{_text(block.get("text"))}</div>'
    if kind == "section":
        parts = []
        if block.get("text"):
            parts.append(f'<div class="section-text">{_text(block["text"])}</div>')
        fields = [f for f in block.get("fields") or [] if isinstance(f, Mapping)]
        if fields:
            parts.append(
                '<div class="fields">'
                + "".join(f'<div class="field">{_text(f)}</div>' for f in fields)
                + "</div>"
            )
        return f'<div class="section">{"".join(parts)}</div>'
    if kind == "context":
        elements = [e for e in block.get("elements") or [] if isinstance(e, Mapping)]
        return '<div class="context">' + " ".join(f"<span>{_text(e)}</span>" for e in elements) + "</div>"
    if kind == "actions":
        return '<div class="actions">' + "".join(_button(e) for e in block.get("elements") or []) + "</div>"
    if kind == "divider":
        return "<hr>"
    return f'<div class="unknown">[{_esc(str(kind))} block]</div>'


def _button(element: Any) -> str:
    if not isinstance(element, Mapping):
        return ""
    style = element.get("style")
    css = f"button {style}" if style in ("primary", "danger") else "button"
    return f'<span class="{css}">{_text(element.get("text"))}</span>'


def _text(text_object: Any) -> str:
    """A text object: mrkdwn rendered, plain_text as typed (with its emoji shortcodes, when asked)."""
    if not isinstance(text_object, Mapping):
        return ""
    text = str(text_object.get("text", ""))
    if text_object.get("type") == "mrkdwn":
        return mrkdwn_html(text)
    shown = _esc(text)
    if text_object.get("emoji"):
        shown = re.sub(r":([a-z0-9_+-]+):", lambda m: EMOJI.get(m.group(1), m.group()), shown)
    return shown


def mrkdwn_html(text: str) -> str:
    """Slack mrkdwn as HTML. The text is Slack-escaped (`&lt;` is a literal `<`); the result is HTML-escaped."""
    parts = []
    position = 0
    for fence in _FENCE.finditer(text):
        parts.append(_inline(text[position : fence.start()]))
        code = fence.group(1).removeprefix("\n").removesuffix("\n")
        parts.append(f"<pre>{_esc(_unslack(code))}</pre>")
        position = fence.end()
    parts.append(_inline(text[position:]))
    return "".join(parts)


def _inline(text: str) -> str:
    out = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(_plain(text[position : match.start()]))
        kind, token = match.lastgroup, match.group()
        inner = token[1:-1]
        if kind == "code":
            out.append(f"<code>{_esc(_unslack(inner))}</code>")
        elif kind == "control":
            out.append(_control(inner))
        elif kind == "bold":
            out.append(f"<b>{_inline(inner)}</b>")
        elif kind == "italic":
            out.append(f"<i>{_inline(inner)}</i>")
        elif kind == "strike":
            out.append(f"<s>{_inline(inner)}</s>")
        else:
            out.append(EMOJI.get(inner) or _esc(token))
        position = match.end()
    out.append(_plain(text[position:]))
    return "".join(out)


def _control(inner: str) -> str:
    """<...>: a date, a mention, a channel, a special mention or a link, as Slack shows each."""
    target, _, label = inner.partition("|")
    if target.startswith("!date^"):
        return f'<span class="date">{_esc(_unslack(label or target))}</span>'
    if target.startswith(("@U", "@W")):
        return f'<span class="mention">@{_esc(label or target[1:])}</span>'
    if target.startswith("#C"):
        return f'<span class="mention">#{_esc(label or target[1:])}</span>'
    if target.startswith("!"):
        return f'<span class="mention">@{_esc(target[1:])}</span>'
    shown = _esc(_unslack(label or target))
    if re.match(r"https?://", target):
        return f'<a href="{_esc(target)}" rel="noopener noreferrer nofollow">{shown}</a>'
    return f'<span class="link">{shown}</span>'


def _plain(text: str) -> str:
    return _esc(_unslack(text)).replace("\n", "<br>")


def _unslack(text: str) -> str:
    """Slack's three escapes back to the characters Slack shows."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _time(ts: Any) -> str:
    try:
        return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M UTC")
    except (TypeError, ValueError, OverflowError):
        return ""


_CSS = """
body { font-family: Lato, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif, "Noto Color Emoji"; color: #1d1c1d;
  background: #f4f4f5; margin: 0; padding: 16px 24px; font-size: 15px; line-height: 1.46; }
h1 { font-size: 18px; margin: 0 0 12px; color: #616061; font-weight: 600; }
h2 { font-size: 16px; margin: 20px 0 4px; }
.note { margin: 0 0 8px; color: #616061; font-size: 13px; max-width: 760px; }
.channel { background: #fff; border: 1px solid #ddd; border-radius: 8px; max-width: 1000px; padding-bottom: 6px; }
.channel-name { font-weight: 700; padding: 10px 16px; border-bottom: 1px solid #eee; }
.message { display: flex; padding: 8px 16px 4px; }
.avatar { flex: 0 0 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff;
  font-weight: 700; display: flex; align-items: center; justify-content: center; margin-right: 8px; font-size: 14px; }
.body { flex: 1; min-width: 0; }
.meta { margin-bottom: 2px; }
.app { font-weight: 900; }
.badge { font-size: 10px; background: #e8e8e8; color: #616061; border-radius: 2px; padding: 1px 3px;
  margin: 0 6px; vertical-align: 1px; }
.time { color: #616061; font-size: 12px; }
.header { font-size: 18px; font-weight: 900; margin: 4px 0 6px; }
.section { margin: 4px 0; overflow-wrap: anywhere; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 16px; margin-top: 6px; }
.context { color: #616061; font-size: 12px; margin: 6px 0; overflow-wrap: anywhere; }
.context code { font-size: 11px; }
code { font-family: Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; color: #e01e5a;
  background: #f6f6f6; border: 1px solid #e3e3e3; border-radius: 3px; padding: 1px 3px; }
pre { font-family: Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; background: #f8f8f8;
  border: 1px solid #e3e3e3; border-radius: 4px; padding: 8px; margin: 4px 0; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.mention, .date { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
.date { background: none; }
a, .link { color: #1264a3; }
.actions { margin: 8px 0 4px; display: flex; flex-wrap: wrap; gap: 8px; }
.button { border: 1px solid #bbb; border-radius: 4px; padding: 3px 10px; font-weight: 700; font-size: 13px; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.button.danger { color: #e01e5a; border-color: #e01e5a; }
.thread { margin: 0 16px 6px 60px; border-left: 3px solid #ddd; }
.thread-count { color: #1264a3; font-weight: 700; font-size: 13px; padding: 2px 16px; }
.thread .message { padding-top: 4px; }
.unknown { color: #999; }
"""
