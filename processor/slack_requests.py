"""Slack's request signatures (v0): how Slack signs what it sends to an app, and how we check it.

Slack sends `X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=<hex HMAC-SHA256 of
"v0:{timestamp}:{body}" with the app's signing secret>`. A request is accepted only with a matching
signature over the exact bytes received and a timestamp within SIGNATURE_WINDOW_SECONDS of our
clock, so a request captured once cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_WINDOW_SECONDS = 300
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What Slack puts in X-Slack-Signature for `body` sent at `timestamp`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def refusal(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """Why the request is not Slack's (a short reason for the log), or None when it is.

    `headers` with lower-case names, as a Lambda Function URL passes them."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not given:
        return "no Slack signature headers"
    try:
        sent = int(timestamp)
    except ValueError:
        return "the timestamp is not a number"
    if abs(now - sent) > SIGNATURE_WINDOW_SECONDS:
        return f"the timestamp is more than {SIGNATURE_WINDOW_SECONDS} s away from our clock"
    if not hmac.compare_digest(given.encode(), signature(secret, timestamp, body).encode()):
        return "the signature does not match"
    return None
