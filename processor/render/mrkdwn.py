"""Slack mrkdwn building blocks that make attacker-controlled text inert.

Slack documents exactly three control characters for mrkdwn: `&`, `<` and `>`. Escaping them means
`<!channel>`, `<@U123>` or `<https://evil|click me>` show as typed instead of pinging or linking.
Formatting characters are neutralised where a value is wrapped in code, so it cannot break out.
"""

from __future__ import annotations

import re
from typing import Any

from processor.render.fields import MARKER, clip, display, slack_len, to_json, truncate

_FENCE_RUN = re.compile(r"`{3,}")
_ZERO_WIDTH_SPACE = "\u200b"
_GRAVE_LOOKALIKE = "ˋ"  # U+02CB: reads like a backtick, cannot close a code span


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(value: Any, limit: int) -> str:
    """A value as escaped mrkdwn text, truncated to `limit`."""
    return truncate(value if value.__class__ is str and value else display(value), limit, escape=escape)


def code(value: Any, limit: int) -> str:
    """A value as inline code: one line, no backticks, escaped, so formatting inside stays literal."""
    text = value if value.__class__ is str and value else display(value)  # a field is usually a string
    text = text.replace("`", _GRAVE_LOOKALIKE).replace("\r", " ").replace("\n", " ")
    return f"`{truncate(text, max(limit - 2, 1), escape=escape)}`"


def bold(value: Any, limit: int) -> str:
    """A value in bold; `*` inside is replaced by a look-alike so it cannot end the bold early."""
    text = display(value).replace("*", "∗").replace("\r", " ").replace("\n", " ")
    return f"*{truncate(text, max(limit - 2, 1), escape=escape)}*"


def _defuse_fences(text: str) -> str:
    """Split runs of 3+ backticks with zero-width spaces so a value cannot close its code block."""
    return _FENCE_RUN.sub(lambda match: _ZERO_WIDTH_SPACE.join(match.group()), text)


def code_block(label: str, value: Any, limit: int) -> str:
    """A labelled, pretty-printed JSON code block within `limit`, with the marker outside the fence."""
    head = f"*{escape(label)}*\n```\n"
    tail = "\n```"
    body = _defuse_fences(to_json(value, pretty=True))
    budget = limit - slack_len(head) - slack_len(tail)
    rendered, omitted = clip(body, budget, escape=escape)
    if not omitted:
        return head + rendered + tail
    marker = f"\n_{MARKER.format(n=len(body))}_"
    rendered, omitted = clip(body, max(budget - slack_len(marker), 0), escape=escape)
    return f"{head}{rendered}{tail}\n_{MARKER.format(n=omitted)}_"
