"""An object that fails never blocks the others, on disk or on S3, with one worker or several; folder
entries that are not regular files (symlink loops, dangling links, FIFOs, ...) are reported and skipped.

These run the CLI in a child process with a timeout: the bug they guard against is a hang.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

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


def _log_folder(root: Path, n: int) -> Path:
    return root / f"AWSLogs/{PROD}/CloudTrail/eu-west-1/2026/11/0{n}"


def _log_name(n: int, unique: str) -> str:
    """A log file's name for day n; entries named "a..." sort before the good file "...1200abc"."""
    return f"{PROD}_CloudTrail_eu-west-1_2026110{n}T1100Z_{unique}.json.gz"


def _read_summary(path: Path) -> dict:
    return json.loads(path.read_text())


def test_symlink_loops_and_dangling_links_are_reported_and_the_rest_is_read(tmp_path, backfill_process):
    good = [log_file(PROD, "eu-west-1", day(n)) for n in (1, 2, 3)]
    write_folder(tmp_path, good)
    first = _log_folder(tmp_path, 1)
    (first / _log_name(1, "a-loop")).symlink_to(first / _log_name(1, "a-loop-back"))
    (first / _log_name(1, "a-loop-back")).symlink_to(first / _log_name(1, "a-loop"))
    (first / _log_name(1, "a-dangling")).symlink_to(first / "gone.json.gz")
    (first / "a-folder-loop").symlink_to(tmp_path / "AWSLogs")  # a link to an ancestor folder
    (first / "notes-dangling.txt").symlink_to(first / "gone.txt")
    summary = tmp_path / "summary.json"

    run = backfill_process(str(tmp_path), "--summary-json", str(summary))

    assert run.returncode == 1, run.stderr  # log files named on disk could not be read
    assert len(run.alerts) == len(good)  # every good file, in every folder, was read
    objects = _read_summary(summary)["objects"]
    assert objects["processed"] == 3
    failed = {Path(entry["object"]).name: entry["reason"] for entry in objects["failed"]}
    assert failed == {
        _log_name(1, "a-loop"): "symlink loop: not read",
        _log_name(1, "a-loop-back"): "symlink loop: not read",
        _log_name(1, "a-dangling"): f"dangling symlink (to {first / 'gone.json.gz'}): not read",
    }
    skipped = {Path(entry["object"]).name: entry["reason"] for entry in objects["skipped_unreadable"]}
    assert skipped == {
        "a-folder-loop": f"leads to {tmp_path / 'AWSLogs'}, already walked (a symlink loop or a second path to it)",
        "notes-dangling.txt": f"dangling symlink (to {first / 'gone.txt'}): not read",
    }
    assert f"could not read {first / _log_name(1, 'a-loop')}: symlink loop: not read" in run.stderr
    assert f"skipped {first / 'a-folder-loop'}: leads to" in run.stderr


def test_fifos_sockets_and_devices_are_never_opened(tmp_path, backfill_process, monkeypatch):
    good = [log_file(PROD, "eu-west-1", day(n)) for n in (1, 2)]
    write_folder(tmp_path, good)
    first = _log_folder(tmp_path, 1)
    os.mkfifo(first / _log_name(1, "a-fifo"))  # opening it would wait for a writer for ever
    (first / _log_name(1, "a-device")).symlink_to("/dev/zero")  # would never end either
    listener = socket.socket(socket.AF_UNIX)
    monkeypatch.chdir(first)  # a socket's path is limited to 107 bytes: bind it by its name alone
    listener.bind(_log_name(1, "a-socket"))
    os.mkfifo(first / "a-pipe.txt")
    summary = tmp_path / "summary.json"

    try:
        run = backfill_process(str(tmp_path), "--summary-json", str(summary), timeout=30)
    finally:
        listener.close()

    assert run.returncode == 1, run.stderr
    assert len(run.alerts) == len(good)
    objects = _read_summary(summary)["objects"]
    assert objects["processed"] == 2
    failed = {Path(entry["object"]).name: entry["reason"] for entry in objects["failed"]}
    assert failed == {
        _log_name(1, "a-fifo"): "a FIFO (named pipe), not a regular file: not opened",
        _log_name(1, "a-device"): "a character device, not a regular file: not opened",
        _log_name(1, "a-socket"): "a socket, not a regular file: not opened",
    }
    assert [entry["reason"] for entry in objects["skipped_unreadable"]] == [
        "a FIFO (named pipe), not a regular file: not opened"
    ]


def test_a_fifo_given_as_the_source_is_not_opened(tmp_path, backfill_process):
    fifo = tmp_path / _log_name(1, "fifo")
    os.mkfifo(fifo)

    run = backfill_process(str(fifo), timeout=30)

    assert run.returncode == 1, run.stderr
    assert f"could not read {fifo}: a FIFO (named pipe), not a regular file: not opened" in run.stderr
