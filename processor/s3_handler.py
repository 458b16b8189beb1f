"""AWS Lambda entry point for S3 notifications: `processor.s3_handler.handler`.

For deployments that notify on new CloudTrail log files (S3 directly, through SNS, through SQS, or
EventBridge "Object Created") instead of streaming events through Kinesis. Each created log file
is streamed through the same reader as the backfill and the same core as the Kinesis handler.
A digest file is skipped on its own. With S3_REMOVED_OBJECT_NOTIFICATION (default true) a deleted
log file raises an alert to the account's destination: deleting trail logs is how tracks are covered.

Failures: an SQS batch answers `batchItemFailures` per message; the other shapes are invoked
asynchronously, so the handler raises after processing every object and Lambda retries the event
(the delivery ledger keeps the retry from posting anything twice). An object that is not a log
file can never succeed, so it is reported (logged, and a rate-limited Slack notice), not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from processor.app import App
from processor.decode import DecodeFailure
from processor.deliver.timing import remaining_seconds
from processor.errors import DecodeError, TrailalertError
from processor.handler import get_app
from processor.logfiles import LogFileReader
from processor.logkeys import account_in_key, is_digest
from processor.models import Record, RuleRef, Status
from processor.pipeline import build_alert, evaluate
from processor.s3_notifications import CREATED, ObjectEvent, parse_notifications

log = logging.getLogger("trailalert")

BATCH_RECORDS = 1000
CHUNK_SIZE = 256 * 1024
REMOVED_RULE = RuleRef(
    id="s3-removed-object",
    expression="ObjectRemoved on the CloudTrail bucket",
    origin="S3_REMOVED_OBJECT_NOTIFICATION",
    title="A CloudTrail log file was deleted",
    severity="high",
)

_s3: Any = None


class S3NotificationFailed(TrailalertError):
    """Raised at the end of a non-SQS invocation when an object must be retried (Lambda retries it)."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_s3_notifications(get_app(), event, remaining_seconds(context))


def process_s3_notifications(
    app: App, event: dict[str, Any], remaining_seconds: Callable[[], float], s3: Any = None
) -> dict[str, Any]:
    notifications = parse_notifications(event)
    failed: list[str] = []
    for item_id, reason in notifications.failures:
        log.error("unreadable notification", extra={"item_id": item_id, "reason": reason})
        failed.append(item_id)
    counts = {"objects": 0, "digests": 0, "removed_alerts": 0, "ignored": notifications.ignored}
    for note in notifications.events:
        if note.kind == CREATED:
            if is_digest(note.key):
                counts["digests"] += 1  # integrity digests hold hashes, not events: skip this one only
                continue
            counts["objects"] += 1
            ok = _process_object(app, note, remaining_seconds, s3)
        elif app.settings.s3_removed_object_notification:
            counts["removed_alerts"] += 1
            ok = _alert_removed(app, note, remaining_seconds)
        else:
            continue
        if not ok:
            failed.append(note.item_id)
    log.info("s3 notifications processed", extra={**counts, "failed": len(failed)})
    if notifications.from_sqs:
        return {"batchItemFailures": [{"itemIdentifier": item} for item in dict.fromkeys(failed)]}
    if failed:
        raise S3NotificationFailed(f"{len(failed)} object(s) to retry: {', '.join(failed[:5])}")
    return {"processed": counts}


def _process_object(app: App, note: ObjectEvent, remaining_seconds: Callable[[], float], s3: Any) -> bool:
    """Stream one log file through the core; False when it should be retried.

    Records read before a failure are evaluated and delivered all the same. A file that is not
    a log file, or a damaged one, is reported (retrying cannot mend it); an S3 error (access
    denied, throttling, a broken connection) is worth a retry, which the ledger keeps from
    posting twice what this attempt delivered.
    """
    reader = LogFileReader(note.url, fast=app.fast)
    records = reader.records(_chunks(note, s3))
    ok, retry = True, False
    while True:
        batch: list[Record] = []
        try:
            batch.extend(islice(records, BATCH_RECORDS))  # type: ignore[arg-type]
            done = len(batch) < BATCH_RECORDS
        except DecodeError as exc:  # not a log file, or a damaged one: report it
            reader.failures.append(DecodeFailure(note.url, str(exc)))
            done = True
        except Exception as exc:  # S3 errors: retry
            log.error(
                "could not read log file",
                extra={"object": note.url, "reason": f"{type(exc).__name__}: {exc}"},
            )
            done = retry = True
        if batch:
            evaluation = evaluate(batch, app.rules, app.router)
            app.error_reporter.report(evaluation.rule_failures, "s3", remaining_seconds)
            outcomes = app.dispatcher.deliver(evaluation.alerts, remaining_seconds)
            ok = ok and not any(o.status is Status.FAILED for o in outcomes)
        if done:
            break
    app.error_reporter.report_undecodable(tuple(reader.failures), "s3", remaining_seconds)
    return ok and not retry


def _alert_removed(app: App, note: ObjectEvent, remaining_seconds: Callable[[], float]) -> bool:
    """An alert about a deleted object, shaped as a CloudTrail record so the core renders and routes it."""
    record = Record(event=removed_object_event(note), item_id=note.item_id, source="s3:notification")
    alert = build_alert(record, REMOVED_RULE, app.router)
    outcomes = app.dispatcher.deliver([alert], remaining_seconds)
    return not any(o.status is Status.FAILED for o in outcomes)


def removed_object_event(note: ObjectEvent) -> dict[str, Any]:
    """Who deleted which object, when the notification says: S3 gives a principal id, EventBridge an ARN."""
    identity: dict[str, Any] = {"type": "Unknown"}
    if note.requester.startswith("arn:"):
        identity.update(arn=note.requester, principalId=note.requester)
    elif note.requester:
        identity["principalId"] = note.requester
    account = account_in_key(note.key) or note.account
    return {
        "eventVersion": "1.09",
        "eventSource": "s3.amazonaws.com",
        "eventName": "DeleteObject",
        "eventTime": note.time,
        # One id per deletion, so a retried notification is recognised by the delivery ledger.
        "eventID": f"s3-removed:{note.bucket}/{note.key}:{note.sequencer or note.time}",
        "awsRegion": note.region,
        "recipientAccountId": account,
        "userIdentity": identity,
        "sourceIPAddress": note.source_ip or None,
        "requestParameters": {"bucketName": note.bucket, "key": note.key, "notification": note.event_name},
        "eventType": "AwsApiCall",
    }


def _chunks(note: ObjectEvent, s3: Any) -> Iterator[bytes]:
    body = _client(s3).get_object(Bucket=note.bucket, Key=note.key)["Body"]
    try:
        yield from body.iter_chunks(CHUNK_SIZE)
    finally:
        body.close()


def _client(s3: Any) -> Any:
    global _s3
    if s3 is not None:
        return s3
    if _s3 is None:
        import boto3

        _s3 = boto3.client("s3")
    return _s3
