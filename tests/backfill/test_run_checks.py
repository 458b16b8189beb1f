"""A backfill never claims success for nothing: runs that read nothing, bad filters, unwritable
outputs, and the advice given on Ctrl-C."""

from __future__ import annotations

import pytest

from backfill.progress import Progress
from tests.backfill.trails import PROD, day, digest, log_file, write_folder


def test_an_empty_folder_reads_nothing_and_says_so(tmp_path, backfill):
    run = backfill(str(tmp_path))

    assert run.exit_code == 3
    assert f"nothing was read from {tmp_path}: found no file at all" in run.stderr


def test_a_folder_of_other_files_reads_nothing_and_says_what_it_found(tmp_path, backfill):
    key, body = digest(PROD, "eu-west-1", day(1))
    write_folder(tmp_path, [], extra={"notes.txt": b"hello", "photo.png": b"\x89PNG", key: body})

    run = backfill(str(tmp_path))

    assert run.exit_code == 3
    assert (
        "found only 2 file(s) not named like a CloudTrail log file (*.json.gz, *.json), "
        "1 digest file(s), which hold no events"
    ) in run.stderr


def test_filters_that_leave_nothing_read_nothing_and_say_so(tmp_path, backfill):
    write_folder(tmp_path, [log_file(PROD, "eu-west-1", day(n)) for n in (1, 2)])

    run = backfill(str(tmp_path), "--account", "999999999999")

    assert run.exit_code == 3
    assert "found only 2 log file(s) outside --start/--end/--account/--region" in run.stderr


def test_a_resumed_run_with_everything_finished_before_succeeds(tmp_path, backfill):
    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(1))])
    state = str(tmp_path / "state")
    assert backfill(str(tmp_path / "logs"), "--state", state).exit_code == 0

    again = backfill(str(tmp_path / "logs"), "--state", state)

    assert again.exit_code == 0, again.stderr
    assert "1 finished before (state)" in again.stderr


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--account", "notanaccount", "'notanaccount' is not an AWS account id (12 digits"),
        ("--account", "11112222333", "'11112222333' is not an AWS account id"),
        ("--region", "mars-1", "'mars-1' is not an AWS region name (such as us-east-1"),
        ("--region", "eu-west", "'eu-west' is not an AWS region name"),
    ],
)
def test_bad_accounts_and_regions_are_usage_errors(tmp_path, backfill, flag, value, message):
    write_folder(tmp_path, [log_file(PROD, "eu-west-1", day(1))])

    run = backfill(str(tmp_path), flag, value)

    assert run.exit_code == 2
    assert f"Invalid value for '{flag}': {message}" in run.stderr
    assert run.alerts == []


@pytest.mark.parametrize(
    "region", ["eu-west-1", "us-gov-west-1", "cn-northwest-1", "us-isob-east-1", "EU-WEST-1"]
)
def test_region_names_of_every_partition_are_accepted(tmp_path, backfill, region):
    write_folder(tmp_path, [log_file(PROD, "eu-west-1", day(1))])

    run = backfill(str(tmp_path), "--region", region, "--account", PROD)

    assert run.exit_code in (0, 3), run.stderr  # 3: another region's files are outside the filter
    assert len(run.alerts) == (1 if region.lower() == "eu-west-1" else 0)


@pytest.mark.parametrize("option", ["--summary-json", "--state"])
def test_an_unwritable_output_fails_before_the_run_naming_the_option(tmp_path, backfill, option):
    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(1))])
    (tmp_path / "a-file").write_text("not a folder")
    target = tmp_path / "a-file" / "out.json"

    run = backfill(str(tmp_path / "logs"), option, str(target))

    assert run.exit_code == 2
    assert f"{option} {target}: cannot be written: Not a directory" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.alerts == []  # nothing was read


def test_a_missing_output_folder_is_created(tmp_path, backfill):
    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(1))])

    run = backfill(str(tmp_path / "logs"), "--summary-json", str(tmp_path / "new" / "summary.json"))

    assert run.exit_code == 0, run.stderr
    assert (tmp_path / "new" / "summary.json").exists()


def _ctrl_c_after_the_first_object(monkeypatch):
    def interrupt(self, objects, events, alerts):
        raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "update", interrupt)


def test_ctrl_c_without_state_does_not_advise_rerunning_with_the_same_command(
    tmp_path, backfill, monkeypatch
):
    write_folder(tmp_path, [log_file(PROD, "eu-west-1", day(n)) for n in (1, 2)])
    _ctrl_c_after_the_first_object(monkeypatch)

    run = backfill(str(tmp_path))

    assert run.exit_code == 130
    assert (
        "interrupted: without --state nothing was recorded, so a rerun starts over; "
        "give --state FILE to make a long run resumable"
    ) in run.stderr


def test_ctrl_c_with_state_advises_rerunning_the_same_command(tmp_path, backfill, monkeypatch):
    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(n)) for n in (1, 2)])
    _ctrl_c_after_the_first_object(monkeypatch)
    state = tmp_path / "state"

    run = backfill(str(tmp_path / "logs"), "--state", str(state))

    assert run.exit_code == 130
    assert f"interrupted: rerun the same command to resume from {state}" in run.stderr
