"""`--on-lambda --send`: the workers deliver through the function's Dispatcher and delivery ledger, so
an alert is posted once however often its message is delivered."""

from __future__ import annotations

import json
from collections import Counter

import boto3
import pytest

from backfill.runs import RunsTable
from processor.devtools.dynamodb import create_table
from tests.backfill.test_send_and_resume import DEV_CHANNEL, SECURITY, use_slack_app
from tests.backfill.trails import DEV, PROD, day, log_file, put_bucket
from tests.fleet.conftest import BUCKET, reset_worker

LEDGER = "trailalert-ledger"


@pytest.fixture
def sending(fleet, slack, still_clock, monkeypatch):
    """The worker's function settings: the Slack app (the stand-in) and the ledger table."""
    use_slack_app(slack, monkeypatch)
    monkeypatch.delenv("DEFAULT_SNS_TOPIC_ARN")
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", create_table(LEDGER))
    reset_worker(timing=still_clock.timing)  # pacing waits are recorded, not slept
    files = [
        log_file(account, "eu-west-1", day(n, hour))
        for account in (PROD, DEV)
        for n in (1, 2)
        for hour in (3, 9, 15)
    ]
    put_bucket(boto3.client("s3"), BUCKET, files)
    return fleet


def posted(slack) -> Counter[str]:
    """How many new messages name each eventID (a thread parent's update, "N similar", is not one)."""
    ids: Counter[str] = Counter()
    for post in slack.posts:
        if post.api != "chat.postMessage":
            continue
        text = json.dumps(post.payload).replace('"', " ").replace("`", " ")
        ids.update({word for word in text.split() if word.startswith("evt-")})
    return ids


def test_a_redelivered_message_and_a_lost_result_never_post_twice(
    sending, slack, still_clock, trailalert, monkeypatch
):
    queued = trailalert("backfill", f"s3://{BUCKET}/", "--on-lambda", "--send")
    assert queued.exit_code == 0, queued.stderr
    run = queued.stdout.strip()
    bodies = [m["Body"] for m in sending.waiting()]
    assert len(bodies) == 2  # 12 objects, ten to a message

    # The first invocation delivers, then its container dies before recording the results: SQS
    # delivers both messages again, to a new container (whose memory knows nothing of the first).
    original = RunsTable.put_results
    calls = []

    def lost_once(self, results):
        calls.append(len(results))
        if len(calls) == 1:
            reset_worker(timing=still_clock.timing)
            raise RuntimeError("the container died")
        return original(self, results)

    monkeypatch.setattr(RunsTable, "put_results", lost_once)
    drained = sending.drain()
    assert drained.invocations == 2 and drained.item_failures == 2 and drained.deleted == 2

    # SQS delivers at least once: the same messages again, after the run was recorded.
    for body in bodies:
        sending.sqs.send_message(QueueUrl=sending.queue_url, MessageBody=body)
    again = sending.drain()
    assert again.deleted == 2

    counts = posted(slack)
    assert len(counts) == 12 and set(counts.values()) == {1}, counts
    messages = Counter(p.channel for p in slack.posts if p.api == "chat.postMessage")
    assert messages == {SECURITY: 6, DEV_CHANNEL: 6}
    status = trailalert("backfill", "status", run)
    assert status.exit_code == 0, status.stderr
    assert "backfill done (send, on Lambda)" in status.stderr
    assert "objects: 12 processed, 0 failed" in status.stderr
    # The retry found every alert in the ledger: delivered by the attempt whose result was lost.
    assert "deliveries: 0 delivered, 12 duplicates not sent" in status.stderr
