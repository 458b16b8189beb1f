"""Sends every alert to every destination once, and reports an outcome for each pair."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from processor.deliver.errors import DeliveryError
from processor.deliver.ledger import DeliveryLedger
from processor.deliver.senders import Sender
from processor.models import Alert, DeliveryOutcome, Destination, DestinationKind, Status

log = logging.getLogger("trailalert.deliver")

# Below this many seconds left in the invocation we stop starting sends: a send cut off by the
# Lambda timeout is the one case where we cannot tell whether Slack got the message.
SAFETY_MARGIN_SECONDS = 3.0


def delivery_key(alert: Alert, destination: Destination) -> str:
    """The idempotency key: one eventID delivered once per destination."""
    return f"{alert.event_id}|{destination.key}"


class Dispatcher:
    """Owns the senders and the ledger. The entry points map its outcomes back to input items."""

    def __init__(self, senders: Mapping[DestinationKind, Sender], ledger: DeliveryLedger) -> None:
        self._senders = senders
        self._ledger = ledger

    def sender(self, kind: DestinationKind) -> Sender | None:
        return self._senders.get(kind)

    def deliver(
        self, alerts: Iterable[Alert], remaining_seconds: Callable[[], float] = lambda: float("inf")
    ) -> list[DeliveryOutcome]:
        outcomes: list[DeliveryOutcome] = []
        for alert in alerts:
            for destination in alert.destinations:
                outcomes.append(self._deliver_one(alert, destination, remaining_seconds))
        return outcomes

    def _deliver_one(
        self, alert: Alert, destination: Destination, remaining_seconds: Callable[[], float]
    ) -> DeliveryOutcome:
        key = delivery_key(alert, destination)
        if self._ledger.already_delivered(key):
            return DeliveryOutcome(alert, destination, Status.DUPLICATE, "delivered before; not sent again")
        if remaining_seconds() < SAFETY_MARGIN_SECONDS:
            return self._failed(alert, destination, "out of time before sending; will be retried")
        sender = self._senders.get(destination.kind)
        if sender is None:
            return self._failed(alert, destination, f"no sender configured for {destination.kind.value}")
        try:
            detail = sender.send(alert, destination)
        except DeliveryError as exc:
            return self._failed(alert, destination, str(exc))
        self._ledger.record(key)
        return DeliveryOutcome(alert, destination, Status.DELIVERED, detail)

    @staticmethod
    def _failed(alert: Alert, destination: Destination, reason: str) -> DeliveryOutcome:
        log.warning(
            "delivery failed",
            extra={
                "event_id": alert.event_id,
                "item_id": alert.record.item_id,
                "destination": destination.key,
                "reason": reason,
            },
        )
        return DeliveryOutcome(alert, destination, Status.FAILED, reason)
