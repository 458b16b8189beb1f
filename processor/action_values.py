"""Values the processor signs into its Slack buttons, so the interactions function acts only on them.

A button's value says which similar alerts a snooze or mute would hold back. Slack's request
signature proves a click came through Slack, not that the value is one we made: this HMAC does, so a
crafted payload cannot suppress an arbitrary pattern. The key is TRIAGE_SIGNING_KEY (the stacks in
infra/ generate it into Secrets Manager); it is read once per container and never logged.

A value is `<signature>.<JSON>`: the signature is HMAC-SHA256 (base64url) over a purpose label and
the JSON, so a signed modal's metadata can never pass as a button's value or the reverse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import orjson

from processor.deliver.threads import Similar, similar_to, similarity_key, thread_key
from processor.models import Alert, Destination, SlackMessage
from processor.render.slack import with_triage_actions

BUTTON = "button"
VIEW = "view"
# A shown value is cut to this many characters (the key covers the whole value): five buttons each
# carry the value, and Slack takes at most 2000 characters in one.
SHOWN_VALUE_LIMIT = 150
SHOWN_LABEL_LIMIT = 60
SHOWN_FIELDS_LIMIT = 8
SHOWN_JSON_LIMIT = 1500
_VERSION = 1


@dataclass(frozen=True, slots=True)
class SimilarAlerts:
    """What a button acts on: the similarity key, the thread's key, and what the responder is shown."""

    key: str  # processor.deliver.threads.similarity_key of the alert
    thread: str  # processor.deliver.threads.thread_key, to keep an acknowledgement on the thread
    shown: Similar  # (label, value) pairs as shown, each value at most SHOWN_VALUE_LIMIT characters
    shortened: bool = False  # some value is shown cut (matching still uses the whole value)


class ActionSigner:
    """Signs and checks values with the stack's key."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def sign(self, purpose: str, data: dict[str, Any]) -> str:
        text = orjson.dumps(data).decode()
        return f"{self._signature(purpose, text)}.{text}"

    def verify(self, purpose: str, value: Any) -> dict[str, Any] | None:
        """The data of a value we signed for `purpose`; None for anything else."""
        if not isinstance(value, str) or "." not in value:
            return None
        signature, text = value.split(".", 1)
        if not hmac.compare_digest(signature, self._signature(purpose, text)):
            return None
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    def button_value(self, similar: SimilarAlerts) -> str:
        return self.sign(
            BUTTON,
            {
                "v": _VERSION,
                "k": similar.key,
                "t": similar.thread,
                "w": [list(pair) for pair in similar.shown],
                "s": similar.shortened,
            },
        )

    def similar_alerts(self, value: Any) -> SimilarAlerts | None:
        """What a button's value acts on, when we signed it; None for a value we did not."""
        data = self.verify(BUTTON, value)
        if data is None or data.get("v") != _VERSION:
            return None
        shown = data.get("w")
        if not isinstance(shown, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in shown
        ):
            return None
        key, thread = data.get("k"), data.get("t")
        if not isinstance(key, str) or not isinstance(thread, str):
            return None
        return SimilarAlerts(key, thread, tuple((p[0], p[1]) for p in shown), bool(data.get("s")))

    def alert_with_buttons(self, alert: Alert, destination: Destination) -> SlackMessage:
        """The alert's Slack message with its triage buttons, their value signed."""
        assert alert.slack is not None
        similar = similar_to(alert)
        described, shortened = shown(similar, account_name=alert.account_name)
        value = self.button_value(
            SimilarAlerts(similarity_key(similar), thread_key(alert, destination), described, shortened)
        )
        return with_triage_actions(alert.slack, value)

    def _signature(self, purpose: str, text: str) -> str:
        digest = hmac.new(self._key, f"trailalert {purpose}\x00{text}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def shown(similar: Similar, *, account_name: str = "") -> tuple[Similar, bool]:
    """`similar` as a responder is shown it, the account's name beside its id; and whether anything
    had to be cut (at most SHOWN_FIELDS_LIMIT values, each at most SHOWN_VALUE_LIMIT characters,
    SHOWN_JSON_LIMIT characters of JSON in all, so each button's value stays within Slack's 2000)."""
    shortened = len(similar) > SHOWN_FIELDS_LIMIT
    out = []
    for label, value in similar[:SHOWN_FIELDS_LIMIT]:
        if label == "Account" and account_name:
            value = f"{value} ({account_name})"
        out.append([label[:SHOWN_LABEL_LIMIT], value])
    for pair in out:
        if len(pair[1]) > SHOWN_VALUE_LIMIT:
            pair[1], shortened = pair[1][: SHOWN_VALUE_LIMIT - 1] + "…", True
    while len(orjson.dumps(out).decode()) > SHOWN_JSON_LIMIT:  # quotes and backslashes take two
        longest = max(out, key=lambda pair: len(pair[1]))
        if len(longest[1]) <= 1:
            break
        longest[1], shortened = longest[1][: len(longest[1]) // 2] + "…", True
    return tuple((label, value) for label, value in out), shortened
