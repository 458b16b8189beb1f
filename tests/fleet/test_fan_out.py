"""`trailalert backfill s3://... --on-lambda` end to end on moto: fan-out, the queue drained into the
worker handler as Lambda would, the same alerts as a local run, `backfill status`, retries and the
dead-letter queue."""

from __future__ import annotations

import boto3
import orjson

from tests.backfill.trails import DEV, PROD, day, log_file, put_bucket
from tests.fleet.conftest import BUCKET, MAX_RECEIVES

REGIONS = ("eu-west-1", "us-east-1")


def corpus() -> list:
    """240 small log files: 2 accounts x 2 regions x 10 days x 6 deliveries, one alert each."""
    return [
        log_file(account, region, day(n, hour), alerts=1 + (n + hour) % 2)
        for account in (PROD, DEV)
        for region in REGIONS
        for n in range(1, 11)
        for hour in (2, 6, 10, 14, 18, 22)
    ]


def alert_keys(lines: list[dict]) -> set[tuple[str, str, str, int]]:
    return {(a["eventID"], a["rule"], a["source"]["object"], a["source"]["index"]) for a in lines}


def test_a_fan_out_of_240_objects_raises_the_same_alerts_as_a_local_run(
    fleet, backfill, trailalert, tmp_path
):
    s3 = boto3.client("s3")
    files = corpus()
    not_a_log = (
        f"AWSLogs/{PROD}/CloudTrail/eu-west-1/2026/11/03/{PROD}_CloudTrail_eu-west-1_20261103T0300Z_x.json.gz"
    )
    put_bucket(s3, BUCKET, files, extra={not_a_log: b"this is not gzip"})
    local = backfill(f"s3://{BUCKET}/", "--summary-json", str(tmp_path / "local.json"))
    assert local.exit_code == 1, local.stderr  # the damaged object fails the local run

    queued = trailalert("backfill", f"s3://{BUCKET}/", "--on-lambda", "--start", "2026-11-01")
    assert queued.exit_code == 0, queued.stderr
    run = queued.stdout.strip()
    assert f"run {run}, 241 objects in 25 messages" in queued.stderr
    # A poison object: listed and queued, then gone (deleted, or its key's access revoked).
    poison = files[7]
    s3.delete_object(Bucket=BUCKET, Key=poison.key)

    before = trailalert("backfill", "status", run)
    assert before.exit_code == 4
    assert f"run {run}: 0/241 objects finished (0%)" in before.stderr

    drained = fleet.drain()

    # Every message but the poison's was deleted after its first delivery; the poison's came back
    # until SQS moved it to the dead-letter queue.
    assert drained.deleted == 24
    assert drained.item_failures == MAX_RECEIVES
    [dead] = fleet.dead_letters()
    assert [BUCKET, poison.key] in [entry[:2] for entry in dead["objects"]]

    status = trailalert(
        "backfill", "status", run, "--alerts", "--summary-json", str(tmp_path / "summary.json")
    )
    assert status.exit_code == 1, status.stderr  # the damaged and the poison objects
    expected = {k for k in alert_keys(local.alerts) if k[2] != f"s3://{BUCKET}/{poison.key}"}
    assert alert_keys(status.alerts) == expected
    assert (
        len(expected)
        == sum(1 + (n + h) % 2 for n in range(1, 11) for h in (2, 6, 10, 14, 18, 22)) * 4
        - len(poison.events)
        + 2
    )
    err = status.stderr
    assert f"run {run}: 241/241 objects finished (100%)" in err
    assert "backfill done (dry-run, on Lambda)" in err
    assert "objects: 239 processed, 2 failed" in err
    assert f"could not read s3://{BUCKET}/{not_a_log}: " in err
    local_reason = next(line for line in local.stderr.splitlines() if not_a_log in line)
    assert local_reason.strip() in err  # the same reason as a local run gives
    assert (
        f"could not read s3://{BUCKET}/{poison.key}: given up after {MAX_RECEIVES} attempt(s), its message "
        "goes to the dead-letter queue: could not be read: NoSuchKey"
    ) in err
    assert "dead-letter queue: 1 message(s) waiting" in err
    # The same summary as the local run's, less the poison object's events and alerts.
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    local_summary = orjson.loads((tmp_path / "local.json").read_bytes())
    assert summary["complete"] is True and summary["pending"] == 0
    poison_alerts = sum(e["eventName"] == "CreateUser" for e in poison.events)
    assert summary["alerts"]["per_rule"] == {"RULES[0]": local_summary["alerts"]["total"] - poison_alerts}
    assert summary["events"]["read"] == local_summary["events"]["read"] - len(poison.events)
    for count in ("ignored", "undecodable", "rule_errors", "outside_window"):
        assert summary["events"][count] == local_summary["events"][count]
