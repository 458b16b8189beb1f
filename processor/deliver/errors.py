"""Delivery failures, one class per way a send can fail."""

from __future__ import annotations

from processor.errors import TrailalertError


class DeliveryError(TrailalertError):
    """Raised by a sender when the destination did not accept the message; retrying may help."""


class OutOfTime(DeliveryError):
    """Raised when the Lambda's remaining time is too short to try (or wait for) a send."""
