"""`--send` against the local Slack stand-in, `--state` checkpoints, and resuming after Ctrl-C."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import orjson
import pytest

from backfill import cli
from backfill.state import StateFile
from processor.app import build_dispatcher
from processor.deliver.timing import Timing
from tests.backfill.trails import DEV, PROD, day, log_file, write_folder

SECURITY = "C0SECURITY"
DEV_CHANNEL = "C0DEV"


@dataclass
class StillClock:
    """Pacing waits are recorded, not slept: the tests never wait for real time."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    @property
    def timing(self) -> Timing:
        return Timing(clock=lambda: self.now, sleep=self.sleep, wall=lambda: 1_800_000_000 + self.now)


def use_slack_app(slack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Slack app settings of the backfill and Lambda tests: the stand-in's API, SECURITY by
    default, DEV's alerts to DEV_CHANNEL."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("DEFAULT_SLACK_CHANNEL_ID", SECURITY)
    monkeypatch.setenv(
        "SLACK_APP_CONFIGURATION", json.dumps([{"accounts": [DEV], "slack_channel_id": DEV_CHANNEL}])
    )
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)


@pytest.fixture
def slack_app(slack, monkeypatch):
    use_slack_app(slack, monkeypatch)
    clock = StillClock()
    monkeypatch.setattr(cli, "_dispatcher", lambda settings: build_dispatcher(settings, timing=clock.timing))
    return slack


def _trail(tmp_path):
    files = [log_file(account, "eu-west-1", day(n)) for account in (PROD, DEV) for n in range(1, 5)]
    write_folder(tmp_path / "logs", files)
    return files


def _posted_event_ids(slack) -> Counter[str]:
    """Each alert's eventID appears in its message (the SNS-style context); count them per post."""
    ids: Counter[str] = Counter()
    for post in slack.posts:
        text = orjson.dumps(post.payload).decode()
        ids.update(
            {part for part in text.replace('"', " ").replace("`", " ").split() if part.startswith("evt-")}
        )
    return ids


def test_send_delivers_every_alert_once_to_its_accounts_channel(tmp_path, slack_app, backfill):
    files = _trail(tmp_path)

    run = backfill(str(tmp_path / "logs"), "--send", "--state", str(tmp_path / "state"))

    assert run.exit_code == 0, run.stderr
    assert run.alerts == []  # --send prints no JSON lines
    assert len(slack_app.posts_to(SECURITY)) == 4 and len(slack_app.posts_to(DEV_CHANNEL)) == 4
    assert set(_posted_event_ids(slack_app).values()) == {1}
    assert "8 delivered" in run.stderr
    state = StateFile(tmp_path / "state")
    assert all(state.is_finished(str(tmp_path / "logs" / f.key)) for f in files)


def test_an_interrupted_run_resumes_without_reprocessing_or_resending(
    tmp_path, slack_app, backfill, monkeypatch
):
    _trail(tmp_path)
    state_path = tmp_path / "state"
    original = StateFile.mark_finished
    finished: list[str] = []

    def ctrl_c_after_three(self, url, events, alerts):
        original(self, url, events, alerts)
        finished.append(url)
        if len(finished) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(StateFile, "mark_finished", ctrl_c_after_three)
    first = backfill(str(tmp_path / "logs"), "--send", "--state", str(state_path))
    monkeypatch.setattr(StateFile, "mark_finished", original)
    second = backfill(
        str(tmp_path / "logs"), "--send", "--state", str(state_path), "--summary-json", str(tmp_path / "s")
    )

    assert first.exit_code == 130 and "interrupted" in first.stderr
    assert second.exit_code == 0, second.stderr
    summary = json.loads((tmp_path / "s").read_text())
    assert summary["objects"]["skipped_finished_before"] == 3
    assert summary["objects"]["processed"] == 5
    assert len(slack_app.posts) == 8
    assert set(_posted_event_ids(slack_app).values()) == {1}


def test_an_object_cut_short_after_its_delivery_is_not_sent_again(tmp_path, slack_app, backfill, monkeypatch):
    _trail(tmp_path)
    state_path = tmp_path / "state"
    original = StateFile.mark_finished
    calls: list[str] = []

    def crash_before_the_second_checkpoint(self, url, events, alerts):
        calls.append(url)
        if len(calls) == 2:
            raise KeyboardInterrupt  # delivered, but not yet marked finished
        original(self, url, events, alerts)

    monkeypatch.setattr(StateFile, "mark_finished", crash_before_the_second_checkpoint)
    backfill(str(tmp_path / "logs"), "--send", "--state", str(state_path))
    monkeypatch.setattr(StateFile, "mark_finished", original)
    second = backfill(
        str(tmp_path / "logs"), "--send", "--state", str(state_path), "--summary-json", str(tmp_path / "s")
    )

    summary = json.loads((tmp_path / "s").read_text())
    assert summary["objects"]["processed"] == 7  # the cut-short objects are read again...
    # ...but their alerts are not re-sent: the 8 alerts went out in one group (delivery.py), before
    # any object was marked finished, so all 7 unfinished objects had theirs delivered already.
    assert summary["deliveries"]["sent_before_resume"] == 7
    assert second.exit_code == 0
    assert len(slack_app.posts) == 8
    assert set(_posted_event_ids(slack_app).values()) == {1}


def test_a_failed_delivery_fails_the_run_and_leaves_the_object_unfinished(tmp_path, slack_app, backfill):
    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(1))])
    slack_app.fail_next(404, times=20, body=b'{"ok": false, "error": "channel_not_found"}')

    run = backfill(str(tmp_path / "logs"), "--send", "--state", str(tmp_path / "state"))

    assert run.exit_code == 1
    assert "1 failed" in run.stderr
    assert StateFile(tmp_path / "state").finished_count == 0


def test_ctrl_c_in_the_middle_of_an_objects_deliveries_does_not_resend_what_went_out(
    tmp_path, slack_app, backfill, monkeypatch
):
    """Each delivery is checkpointed as it is accepted, not after the whole batch was delivered."""
    from processor.deliver.senders import SlackAppSender

    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(1), alerts=3)])
    state_path = tmp_path / "state"
    original = SlackAppSender.post
    calls: list[str] = []

    def ctrl_c_on_the_third_post(self, channel, message, thread_ts=None):
        calls.append(channel)
        if len(calls) == 3:
            raise KeyboardInterrupt  # two alerts are out, the third never left
        return original(self, channel, message, thread_ts)

    monkeypatch.setattr(SlackAppSender, "post", ctrl_c_on_the_third_post)
    first = backfill(str(tmp_path / "logs"), "--send", "--state", str(state_path))
    monkeypatch.setattr(SlackAppSender, "post", original)
    second = backfill(
        str(tmp_path / "logs"), "--send", "--state", str(state_path), "--summary-json", str(tmp_path / "s")
    )

    assert first.exit_code == 130
    assert second.exit_code == 0, second.stderr
    assert json.loads((tmp_path / "s").read_text())["deliveries"]["sent_before_resume"] == 2
    assert len(slack_app.posts) == 3
    assert set(_posted_event_ids(slack_app).values()) == {1}


def test_a_line_torn_by_a_crash_neither_swallows_the_next_one_nor_causes_a_resend(
    tmp_path, slack_app, backfill, monkeypatch
):
    """A crash mid-write leaves a last line without its newline; the resumed run's first line must
    not be glued to it (and lost), or the run after that sends again what that line recorded."""
    from processor.deliver.senders import SlackAppSender

    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(n)) for n in (1, 2, 3)])
    state_path = tmp_path / "state"
    args = (str(tmp_path / "logs"), "--send", "--state", str(state_path))
    original_post, original_finish = SlackAppSender.post, StateFile.mark_finished
    posts: list[str] = []

    def ctrl_c_on_the_third_post(self, channel, message, thread_ts=None):
        posts.append(channel)
        if len(posts) == 3:
            raise KeyboardInterrupt  # two alerts are out and recorded, the third never left
        return original_post(self, channel, message, thread_ts)

    def ctrl_c_before_finishing(self, url, events, alerts):
        raise KeyboardInterrupt  # the third alert is delivered and recorded, no object finished

    monkeypatch.setattr(SlackAppSender, "post", ctrl_c_on_the_third_post)
    assert backfill(*args).exit_code == 130
    with open(state_path, "ab") as state:
        state.write(b'{"delivered": "evt-torn|slack_app:C0SEC')  # the crash: no newline
    monkeypatch.setattr(SlackAppSender, "post", original_post)
    monkeypatch.setattr(StateFile, "mark_finished", ctrl_c_before_finishing)
    second = backfill(*args)
    monkeypatch.setattr(StateFile, "mark_finished", original_finish)
    third = backfill(*args)

    assert second.exit_code == 130
    assert third.exit_code == 0, third.stderr
    assert len(slack_app.posts) == 3
    assert set(_posted_event_ids(slack_app).values()) == {1}
    assert StateFile(state_path).finished_count == 3
    assert "line(s) 4 could not be parsed" in second.stderr  # after the configuration and 2 deliveries


def test_a_state_file_made_with_other_rules_or_filters_is_refused_unless_forced(
    tmp_path, slack_app, backfill
):
    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(n)) for n in (1, 2)])
    state = str(tmp_path / "state")
    logs = str(tmp_path / "logs")
    assert backfill(logs, "--state", state).exit_code == 0

    other_rules = backfill(logs, "--state", state, "--rules", "event['eventName'] == 'DeleteUser'")
    other_window = backfill(logs, "--state", state, "--start", "2026-11-02")
    sending = backfill(logs, "--state", state, "--send")
    forced = backfill(logs, "--state", state, "--start", "2026-11-02", "--force-state")
    after_forcing = backfill(logs, "--state", state, "--start", "2026-11-02")

    assert other_rules.exit_code == 2
    assert f"--state {state} was made with another configuration (other rules)" in other_rules.stderr
    assert "--force-state" in other_rules.stderr
    assert other_window.exit_code == 2
    assert "(--start not set (now 2026-11-02T00:00:00+00:00))" in other_window.stderr
    assert sending.exit_code == 2 and "as a dry run (without --send)" in sending.stderr
    assert other_rules.alerts == other_window.alerts == sending.alerts == []  # refused before reading
    assert slack_app.posts == []
    assert forced.exit_code == 0, forced.stderr
    assert "1 finished before (state)" in forced.stderr  # day 1 is now outside the filters
    assert after_forcing.exit_code == 0  # the file now records the configuration it was forced to


def test_a_state_file_without_its_configuration_is_refused_unless_forced(tmp_path, backfill):
    """An older trailalert wrote no configuration line: what it finished cannot be checked."""
    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(1))])
    state = tmp_path / "state"
    state.write_text('{"finished": "/elsewhere/a.json.gz", "events": 3, "alerts": 1, "at": "x"}\n')

    refused = backfill(str(tmp_path / "logs"), "--state", str(state))
    forced = backfill(str(tmp_path / "logs"), "--state", str(state), "--force-state")

    assert refused.exit_code == 2
    assert "does not say which rules and filters it was made with" in refused.stderr
    assert forced.exit_code == 0 and len(forced.alerts) == 1


@pytest.mark.parametrize("workers", ["1", "2"])
def test_storm_collapse_spans_the_whole_run_not_one_log_file(tmp_path, slack_app, backfill, workers):
    """30 log files with one alert each for one channel: a storm, collapsed as the Lambda would."""
    files = [log_file(PROD, "eu-west-1", day(1 + n // 10, hour=n % 10)) for n in range(30)]
    write_folder(tmp_path / "logs", files)

    run = backfill(str(tmp_path / "logs"), "--send", "--state", str(tmp_path / "state"), "--workers", workers)

    assert run.exit_code == 0, run.stderr
    posts = slack_app.posts_to(SECURITY)
    assert len(posts) == 3  # one summary and two digests of 25 and 5, instead of 30 posts
    assert "30 delivered" in run.stderr
    assert set(_posted_event_ids(slack_app).values()) == {1}
    state = StateFile(tmp_path / "state")
    assert all(state.is_finished(str(tmp_path / "logs" / f.key)) for f in files)


def test_ctrl_c_of_a_send_without_state_warns_that_a_rerun_sends_again(
    tmp_path, slack_app, backfill, monkeypatch
):
    from processor.deliver.senders import SlackAppSender

    write_folder(tmp_path / "logs", [log_file(PROD, "eu-west-1", day(1), alerts=3)])
    original = SlackAppSender.post
    calls: list[str] = []

    def ctrl_c_on_the_third_post(self, channel, message, thread_ts=None):
        calls.append(channel)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, channel, message, thread_ts)

    monkeypatch.setattr(SlackAppSender, "post", ctrl_c_on_the_third_post)
    run = backfill(str(tmp_path / "logs"), "--send")

    assert run.exit_code == 130
    assert (
        "interrupted: without --state nothing was recorded, so a rerun starts over and sends again "
        "the 2 alert(s) already delivered; give --state FILE to make a long run resumable"
    ) in run.stderr
