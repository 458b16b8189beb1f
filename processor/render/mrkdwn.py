"""Slack mrkdwn building blocks that make attacker-controlled text inert.

Slack documents exactly three control characters for mrkdwn: `&`, `<` and `>`. Escaping them means
`<!channel>`, `<@U123>` or `<https://evil|click me>` show as typed instead of pinging or linking.
That is not enough for text an attacker writes (an errorMessage, an awsRegion): every value is also
made one line (a newline would let it draw a fake `*Account*` line under ours), its formatting
characters are replaced by look-alikes where Slack would act on them, and characters that hide or
reorder text (right-to-left overrides, zero-width spaces) are shown as U+FFFD instead.
"""

from __future__ import annotations

import re
from typing import Any

from processor.render.fields import MARKER, clip, display, slack_len, to_json, truncate

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
