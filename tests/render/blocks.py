"""Walk a rendered Slack message and collect its text objects, whatever the block layout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from processor.models import SlackMessage

# After escaping, `&` may only start one of the three entities Slack documents.
UNSAFE = re.compile(r"[<>]|&(?!(?:amp|lt|gt);)")


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every {"type": "mrkdwn"|"plain_text", "text": ...} object anywhere under `node`."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from text_objects(item)


def mrkdwn_texts(message: SlackMessage) -> list[str]:
    """The fallback text plus every mrkdwn text: all the places Slack parses mentions and links."""
    return [message.text] + [
        obj["text"] for obj in text_objects(list(message.blocks)) if obj["type"] == "mrkdwn"
    ]


def unsafe_spots(message: SlackMessage) -> list[str]:
    """Snippets around every unescaped control character: empty when the message is safe."""
    spots = []
    for text in mrkdwn_texts(message):
        for match in UNSAFE.finditer(text):
            spots.append(text[max(match.start() - 20, 0) : match.end() + 20])
    return spots


def all_text(message: SlackMessage) -> str:
    return "\n".join(mrkdwn_texts(message))
