"""An object that fails never blocks the others, on disk or on S3, with one worker or several.

These run the CLI in a child process with a timeout: the bug they guard against is a hang.
"""

from __future__ import annotations

import os

import pytest

from tests.backfill.trails import PROD, day, log_file, put_bucket, write_folder

BUCKET = "trail-with-junk"
# Bigger than the chunks a download may queue ahead (4 x 256 KiB): the download of the rest must
# be released when the reader gives up on the first chunk.
JUNK_SIZE = 2_000_000


def _junk_key(n: int) -> str:
    return (
        f"AWSLogs/{PROD}/CloudTrail/eu-west-1/2026/11/02/"
        f"{PROD}_CloudTrail_eu-west-1_20261102T12{n:02d}Z_x.json.gz"
    )


def _trail_with_junk(junk: int) -> tuple[list, dict[str, bytes]]:
    good = [log_file(PROD, "eu-west-1", day(n)) for n in (1, 3, 4)]
    extra = {_junk_key(n): os.urandom(JUNK_SIZE) for n in range(junk)}
    return good, extra


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_big_non_log_file_named_like_a_log_fails_alone_on_disk(tmp_path, backfill_process, workers):
    good, extra = _trail_with_junk(junk=3)  # more than one: each one must release its download
    write_folder(tmp_path, good, extra=extra)

    run = backfill_process(str(tmp_path), "--workers", workers, "--download-threads", "2")

    assert run.returncode == 1, run.stderr
    assert len(run.alerts) == len(good)
    assert "3 processed, 3 failed" in run.stderr
    for n in range(3):
        assert f"could not read {tmp_path / _junk_key(n)}: " in run.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_big_non_log_file_named_like_a_log_fails_alone_on_s3(s3, backfill_process, workers):
    good, extra = _trail_with_junk(junk=2)
    put_bucket(s3, BUCKET, good, extra=extra)

    run = backfill_process(f"s3://{BUCKET}", "--workers", workers, "--download-threads", "1")

    assert run.returncode == 1, run.stderr
    assert {a["source"]["object"] for a in run.alerts} == {f"s3://{BUCKET}/{f.key}" for f in good}
    assert "3 processed, 2 failed" in run.stderr
    for n in range(2):
        assert f"could not read s3://{BUCKET}/{_junk_key(n)}: " in run.stderr
