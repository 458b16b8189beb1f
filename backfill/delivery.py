"""`--send`: alerts go to the Dispatcher in groups that span objects, and objects are finished after.

The Dispatcher collapses a storm (more than its threshold of alerts for one Slack destination) per
call. A CloudTrail log file holds five minutes of one region, so handing it one file's alerts at a
time would post a run-wide burst one alert at a time (about one a second, Slack's pace). Alerts are
therefore held until `GROUP_ALERTS` are waiting or the first has waited `GROUP_SECONDS` (checked as
batches arrive), then delivered in one call, and at the end of the run.

The checkpoint stays exact: an object read to its end is marked finished only once every alert it
raised was delivered; each delivery is recorded in the state file as it is accepted, so a run cut
short resends nothing it recorded. On Ctrl-C the alerts still held are not sent, and their objects
are not finished: a rerun with --state reads them again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

from backfill.state import StateFile
from backfill.summary import Summary
from processor.deliver.dispatcher import Dispatcher, delivery_key
from processor.models import Alert, Destination, Status

GROUP_ALERTS = 500
GROUP_SECONDS = 10.0
MAX_FAILURES_NAMED = 20

Finish = Callable[[int], None]  # called with the object's failed deliveries once none is pending


class GroupedDelivery:
    def __init__(
        self,
        dispatcher: Dispatcher,
        state: StateFile | None,
        summary: Summary,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_alerts: int = GROUP_ALERTS,
        max_seconds: float = GROUP_SECONDS,
    ) -> None:
        self._dispatcher = dispatcher
        self._state = state
        self._summary = summary
        self._clock = clock
        self._max_alerts = max_alerts
        self._max_seconds = max_seconds
        self._held: list[Alert] = []
        self._since = 0.0  # when the oldest held alert arrived
        self._pending: Counter[str] = Counter()  # held alerts per object
        self._waiting: dict[str, Finish] = {}  # objects read to their end, finished once delivered
        self._failed: Counter[str] = Counter()  # failed deliveries per object

    @property
    def held(self) -> int:
        return len(self._held)

    def add(self, url: str, alerts: Sequence[Alert]) -> None:
        """Holds an object's alerts, less the deliveries its state file says were made before."""
        sent = self._state.delivered(url) if self._state is not None else frozenset()
        for alert in alerts:
            remaining = tuple(d for d in alert.destinations if delivery_key(alert, d) not in sent)
            self._summary.sent_before_resume += len(alert.destinations) - len(remaining)
            if not remaining:
                continue
            if not self._held:
                self._since = self._clock()
            self._held.append(
                alert if len(remaining) == len(alert.destinations) else replace(alert, destinations=remaining)
            )
            self._pending[url] += 1

    def finish_when_delivered(self, url: str, finish: Finish) -> None:
        """`url` was read to its end: `finish` now if none of its alerts is held, else after them."""
        if self._pending[url]:
            self._waiting[url] = finish
        else:
            finish(self._failed.pop(url, 0))

    def deliver_if_due(self) -> None:
        if self._held and (
            len(self._held) >= self._max_alerts or self._clock() - self._since >= self._max_seconds
        ):
            self.deliver()

    def deliver(self) -> None:
        """Delivers every held alert in one Dispatcher call, then finishes the objects waiting on them."""
        alerts, self._held = self._held, []
        if alerts:
            for outcome in self._dispatcher.deliver(alerts, on_accepted=self._accepted):
                self._tally(outcome.alert, outcome.destination, outcome.status, outcome.detail)
        self._pending.clear()
        waiting, self._waiting = self._waiting, {}
        for url, finish in waiting.items():
            finish(self._failed.pop(url, 0))

    def _accepted(self, alert: Alert, destination: Destination) -> None:
        """As each delivery is accepted: a Ctrl-C in the middle of a group loses none of them."""
        self._summary.delivered += 1
        self._checkpoint(alert, destination)

    def _checkpoint(self, alert: Alert, destination: Destination) -> None:
        if self._state is not None:
            self._state.record_delivered(_object_of(alert), delivery_key(alert, destination))

    def _tally(self, alert: Alert, destination: Destination, status: Status, detail: str) -> None:
        s = self._summary
        if status is Status.FAILED:
            self._failed[_object_of(alert)] += 1
            s.delivery_failed += 1
            if len(s.delivery_failures) < MAX_FAILURES_NAMED:
                s.delivery_failures.append(f"{alert.event_id} to {destination.key}: {detail}")
        elif status is Status.DUPLICATE:
            s.duplicates += 1
            self._checkpoint(alert, destination)
        elif status is Status.SUPPRESSED:  # counted, and done with: a resume does not count it again
            s.suppressed += 1
            self._checkpoint(alert, destination)


def _object_of(alert: Alert) -> str:
    """The object an alert was read from: the reader names every record after its object's url."""
    return alert.record.item_id
