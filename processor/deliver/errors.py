"""Delivery failures, one class per way a send can fail.

The class decides what the dispatcher does next: wait and retry (RateLimited, Unavailable),
or give up on this alert for this invocation (Rejected, OutOfTime). Every one of them ends as a
FAILED outcome, so the record is retried by Lambda; none is ever dropped.
"""

from __future__ import annotations

from processor.errors import TrailalertError


class DeliveryError(TrailalertError):
    """Raised by a sender when the destination did not accept the message; retrying may help."""


class RateLimited(DeliveryError):
    """Raised on HTTP 429 / `ratelimited` / SNS throttling; `retry_after` is the server's wait, if given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DeliveryError):
    """Raised on 5xx answers, connection errors and timeouts: worth retrying with backoff."""


class OutcomeUnknown(Unavailable):
    """Raised when the request was sent but no whole answer came back (a timeout, a reset or a
    connection closed mid-answer): the destination may have accepted it."""


class Rejected(DeliveryError):
    """Raised when the destination refused the message for good (bad channel, revoked token, 404 hook)."""


class ContentRejected(Rejected):
    """Raised when Slack refused the message's blocks (`invalid_blocks`, `msg_too_long`): the same
    message will never pass, a plainer one may."""


class OutOfTime(DeliveryError):
    """Raised when the Lambda's remaining time is too short to try (or wait for) a send."""
