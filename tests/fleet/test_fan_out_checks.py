"""What `--on-lambda` refuses before it lists anything, a fan-out that finds nothing, and an unknown run."""

from __future__ import annotations

import boto3
import pytest

from tests.fleet.conftest import BUCKET


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("{tmp}",), "--on-lambda reads S3 only; {tmp} is local"),
        ((f"s3://{BUCKET}/", "--state", "{tmp}/state"), "--state cannot be used with --on-lambda"),
        ((f"s3://{BUCKET}/", "--workers", "2"), "--workers cannot be used with --on-lambda"),
        ((f"s3://{BUCKET}/", "--rules", "True"), "the rule flags cannot be used with --on-lambda"),
    ],
)
def test_what_the_workers_cannot_honour_is_refused_before_listing(fleet, trailalert, tmp_path, args, message):
    args = tuple(arg.format(tmp=tmp_path) for arg in args)

    run = trailalert("backfill", *args, "--on-lambda")

    assert run.exit_code == 2
    assert message.format(tmp=tmp_path) in run.stderr


def test_without_the_queue_it_names_the_setting(fleet, trailalert, monkeypatch):
    monkeypatch.delenv("TRAILALERT_BACKFILL_QUEUE_URL")

    run = trailalert("backfill", f"s3://{BUCKET}/", "--on-lambda")

    assert run.exit_code == 2
    assert "--on-lambda needs the backfill queue: --queue-url or TRAILALERT_BACKFILL_QUEUE_URL" in run.stderr


def test_a_fan_out_that_finds_nothing_says_so_and_queues_nothing(fleet, trailalert):
    boto3.client("s3").create_bucket(Bucket=BUCKET)

    run = trailalert("backfill", f"s3://{BUCKET}/awslogs/", "--on-lambda")

    assert run.exit_code == 3
    assert "did you mean s3://org-trail/AWSLogs/?" in run.stderr
    assert f"nothing was queued from s3://{BUCKET}/awslogs/: found no file at all" in run.stderr
    assert fleet.waiting() == []
    status = trailalert("backfill", "status", run.stdout.strip())
    assert status.exit_code == 3, status.stderr
    assert "read nothing: found no file at all" in status.stderr


def test_status_of_an_unknown_run_names_it(fleet, trailalert):
    run = trailalert("backfill", "status", "20261202T000000Z-000000")

    assert run.exit_code == 2
    assert "no backfill run '20261202T000000Z-000000' in the table trailalert-backfill-runs" in run.stderr


def test_an_alert_whose_event_fields_are_huge_is_recorded_with_them_cut(fleet, trailalert):
    """Event fields are the attacker's: a 500 KB eventID would not fit a DynamoDB item (400 KB)."""
    from tests.backfill.trails import PROD, day, log_file, put_bucket

    plain = log_file(PROD, "eu-west-1", day(1))
    huge = dict(plain.events[0], eventID="x" * 500_000)
    put_bucket(boto3.client("s3"), BUCKET, [type(plain)(plain.key, (huge, *plain.events[1:]))])

    run = trailalert("backfill", f"s3://{BUCKET}/", "--on-lambda").stdout.strip()
    assert fleet.drain().item_failures == 0
    status = trailalert("backfill", "status", run, "--alerts")

    assert status.exit_code == 0, status.stderr
    [alert] = status.alerts
    assert alert["eventID"] == "x" * 255 + "…"
    assert "objects: 1 processed, 0 failed" in status.stderr


def test_objects_whose_messages_vanished_without_a_result_are_named_not_waited_for(
    fleet, trailalert, monkeypatch
):
    """A worker that dies on a message's last receive records nothing, and SQS moves the message to
    the dead-letter queue: `status --wait` must not wait for ever for objects nothing will read."""
    from backfill import run_status
    from tests.backfill.trails import PROD, day, log_file, put_bucket

    files = [log_file(PROD, "eu-west-1", day(n)) for n in (1, 2)]
    put_bucket(boto3.client("s3"), BUCKET, files)
    run = trailalert("backfill", f"s3://{BUCKET}/", "--on-lambda").stdout.strip()
    fleet.sqs.purge_queue(QueueUrl=fleet.queue_url)  # the messages are gone, no worker recorded them
    monkeypatch.setattr(run_status, "STALL_SECONDS", 0.0)

    status = trailalert("backfill", "status", run, "--wait")

    assert status.exit_code == 1, status.stderr
    assert f"  no result for s3://{BUCKET}/{files[0].key}" in status.stderr
    assert "2 object(s) have no result and the queue is empty" in status.stderr


def test_ctrl_c_during_the_listing_closes_the_run_at_what_was_queued(fleet, trailalert, monkeypatch):
    from backfill.progress import Progress
    from tests.backfill.trails import PROD, day, log_file, put_bucket

    put_bucket(
        boto3.client("s3"),
        BUCKET,
        [log_file(PROD, "eu-west-1", day(1 + n // 24, n % 24)) for n in range(110)],
    )
    listing = Progress.listing

    def interrupt_at_105(self, source, found):
        if found == 105:
            raise KeyboardInterrupt
        listing(self, source, found)

    monkeypatch.setattr(Progress, "listing", interrupt_at_105)
    queued = trailalert("backfill", f"s3://{BUCKET}/", "--on-lambda")

    assert queued.exit_code == 130
    run = queued.stdout.strip()
    assert f"interrupted: the 100 objects queued are read on Lambda as run {run}" in queued.stderr
    fleet.drain()
    status = trailalert("backfill", "status", run)
    assert status.exit_code == 0, status.stderr  # complete: the run is what was queued
    assert "objects: 100 processed, 0 failed" in status.stderr
    assert "note: interrupted (Ctrl-C) after 100 objects were queued" in status.stderr
