"""A backfill that sends (`trailalert backfill --send`) honours snoozes and mutes too, and says so."""

from __future__ import annotations

import json

from click.testing import CliRunner

from processor.cli import main
from tests.backfill.trails import DEV, PROD, day, log_file, write_folder
from tests.triage.conftest import CHANNEL, Triage


def test_a_sending_backfill_counts_what_a_mute_holds_back(triage: Triage, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RULES", "event['eventName'] == 'CreateUser'")
    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(1)), log_file(DEV, "eu-west-1", day(2))])
    runner = CliRunner()
    muted = runner.invoke(
        main,
        ["mutes", "add", "--rule", "RULES[0]", "--actor", f"arn:aws:iam::{PROD}:user/mallory",
         "--account", PROD, "--event-source", "iam.amazonaws.com", "--event", "CreateUser"],
    )  # fmt: skip
    assert muted.exit_code == 0, muted.output

    run = runner.invoke(
        main, ["backfill", str(tmp_path / "logs"), "--send", "--summary-json", str(tmp_path / "s")]
    )

    assert run.exit_code == 0, run.stderr
    assert "1 delivered, 0 duplicates not sent, 1 suppressed (snoozed or muted)" in run.stderr
    assert json.loads((tmp_path / "s").read_text())["deliveries"]["suppressed"] == 1
    (posted,) = triage.slack.posts_to(CHANNEL)
    assert DEV in posted.payload["text"]
