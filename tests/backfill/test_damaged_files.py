"""Damaged and hostile log files (issue 16, failures 2 and 3), through the backfill CLI and the
S3-notification Lambda: what was readable is evaluated, the damage reported, memory bounded."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path
from typing import Any

import orjson

from processor import handler, s3_handler
from processor.logfiles import INFLATE_STEP, LogFileReader
from tests.backfill.test_s3_handler import BUCKET, direct, lambda_env  # noqa: F401 - a fixture
from tests.backfill.test_send_and_resume import SECURITY
from tests.backfill.trails import PROD, day, event, log_file
from tests.deliver.fakes import FakeClock


def root_create_user_at(position: int, records: int) -> list[dict[str, Any]]:
    """A day's records, the one at `position` root creating a user (a default rule's alert)."""
    noise = [event(PROD, "eu-west-1", day(3), n, "DescribeInstances") for n in range(records)]
    noise[position] = event(PROD, "eu-west-1", day(3), 0, userIdentity={"type": "Root"})
    return noise


def truncated_log_file() -> tuple[str, bytes]:
    """3,000 records, gzipped and cut at two thirds: the record that alerts is in the readable
    part, well after its start (a reader that gives up on what it holds when the data breaks
    off loses it)."""
    f = log_file(PROD, "eu-west-1", day(3))
    body = gzip.compress(orjson.dumps({"Records": root_create_user_at(1500, 3000)}))
    return f.key, body[: len(body) * 2 // 3]


def test_a_truncated_file_still_alerts_on_what_was_readable(backfill, tmp_path: Path, monkeypatch) -> None:
    """Failure 2, backfill: the alert before the damage is printed, and the object is reported."""
    monkeypatch.delenv("RULES")
    monkeypatch.setenv("USE_DEFAULT_RULES", "true")
    key, body = truncated_log_file()
    path = tmp_path / key
    path.parent.mkdir(parents=True)
    path.write_bytes(body)

    run = backfill(str(tmp_path))

    assert [alert["rule"] for alert in run.alerts] == ["default.root-non-read-action"]
    assert run.exit_code == 1
    assert "gzip data is truncated" in run.stderr


def test_the_s3_lambda_delivers_what_was_readable_and_reports_the_damage(lambda_env, s3, monkeypatch):  # noqa: F811
    """Failure 2, the S3-notification Lambda: the alert is delivered, the damage reported (a
    damaged object does not mend on a retry)."""
    monkeypatch.delenv("RULES")
    monkeypatch.setenv("USE_DEFAULT_RULES", "true")
    handler.reset(timing=FakeClock().timing)
    key, body = truncated_log_file()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    s3_handler.handler(direct(key), None)

    texts = [orjson.dumps(post.payload).decode() for post in lambda_env.posts_to(SECURITY)]
    assert any("Non-read action by root" in text for text in texts)
    assert any("gzip data is truncated" in text for text in texts)  # the undecodable notice


def test_a_huge_member_beside_records_streams_in_bounded_memory() -> None:
    """Failure 3: a top-level member other than Records that inflates to 24 MiB (a string), or
    to 10 MiB (an array of objects), is skipped without being held: memory stays a few inflate
    steps."""
    record = orjson.dumps(root_create_user_at(0, 1)[0])
    strings = b"[" + b",".join([b'{"k": "' + b"x" * 56 + b'"}'] * (150_000)) + b"]"  # 10 MiB
    for padding in (b'"' + b"x" * (24 << 20) + b'"', strings):
        data = gzip.compress(b'{"padding": ' + padding + b', "Records": [' + record + b"]}", 1)
        chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
        tracemalloc.start()
        try:
            records = list(LogFileReader("f").records(chunks))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert [r.event["eventName"] for r in records] == ["CreateUser"]
        assert peak < 4 * INFLATE_STEP, f"{peak:,} bytes"
