"""`trailalert mutes list | add | remove`, through the CLI as a user runs it, against the same table."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from processor import handler
from processor.cli import main
from tests.triage.conftest import CHANNEL, RESPONDER, RULE_ID, Triage, similar

ALICE = (
    "--rule", RULE_ID, "--actor", "arn:aws:iam::111122223333:user/alice", "--account", "111122223333",
    "--event-source", "cloudtrail.amazonaws.com", "--event", "StopLogging",
)  # fmt: skip


def mutes(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["mutes", *args])
    return result.exit_code, result.stdout, result.stderr


def test_mute_and_unmute_from_the_cli(triage: Triage) -> None:
    code, out, _ = mutes("add", *ALICE, "--by", "alice")
    assert code == 0, out
    assert out.startswith(
        f"Muted by alice (CLI) until unmuted: Rule {RULE_ID}, Actor arn:aws:iam::111122223333"
    )
    key = re.search(r"key ([0-9a-f]{32})", out).group(1)

    triage.deliver(similar("evt-1"), similar("evt-2", principal="bob"))
    assert triage.last_metrics()["Suppressed"] == 1
    triage.alert("evt-2")
    assert not [p for p in triage.posted() if "evt-1" in str(p.payload)]

    code, out, _ = mutes("list")
    assert code == 0
    assert out.splitlines()[0] == f"{key}  mute until unmuted"
    assert "by alice (CLI)" in out and "; 1 held back" in out

    code, out, _ = mutes("remove", key[:8], "--by", "bob")
    assert code == 0
    assert out.startswith(
        "Unmuted by bob (CLI): similar alerts are posted again. 1 similar alert was suppressed"
    )
    assert mutes("list")[1] == "no snooze or mute in effect\n"
    triage.clock.advance(61)  # the processor's cache
    triage.deliver(similar("evt-3"))
    triage.alert("evt-3")


def test_a_snooze_from_the_cli_and_mistakes_named(triage: Triage) -> None:
    code, out, _ = mutes("add", *ALICE, "--outcome", "AccessDenied", "--for", "24h", "--by", "carol")
    assert code == 0 and out.startswith("Snoozed for 24h by carol (CLI), until ")
    assert "snooze until " in mutes("list")[1]

    code, _, err = mutes("add", "--rule", RULE_ID, "--actor", "x")
    assert code == 2 and "give --account, --event-source, --event (or --group" in err
    code, _, err = mutes("add", *ALICE, "--for", "soon")
    assert code == 2 and "give a duration such as 30m, 1h, 24h or 7d" in err
    code, _, err = mutes("remove", "0000000000")
    assert code == 1 and "no snooze or mute has a key starting '0000000000'" in err


def test_unmuting_from_the_cli_what_slack_muted_posts_in_the_alerts_thread(triage: Triage) -> None:
    triage.deliver(similar("evt-1"))
    parent = triage.alert("evt-1")
    triage.snooze("evt-1", "triage.mute")
    key = mutes("list")[1].split()[0]

    code, out, _ = mutes("remove", key, "--by", "dave")
    assert code == 0 and f"posted in its Slack thread ({CHANNEL})" in out
    line = triage.thread(parent.ts)[-1]
    assert line["blocks"][0]["text"]["text"].startswith(":bell: *Unmuted* by dave (CLI): similar alerts")
    assert f"<@{RESPONDER}>" in triage.thread(parent.ts)[0]["blocks"][0]["text"]["text"]


RULE_FILE = """
id: trail.stopped
title: A trail was stopped
description: Whoever stops it.
severity: high
condition: event.get("eventName") == "StopLogging"
group_by: [requestParameters.name]
"""


def test_a_group_by_rule_is_muted_by_its_group_values(
    triage: Triage, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rules.yml").write_text(RULE_FILE)
    monkeypatch.setenv("RULES_FILE", str(tmp_path / "rules.yml"))
    monkeypatch.setenv("RULES", 'event["eventName"] == "DeleteTrail"')
    handler.reset(timing=triage.clock.timing, emit_metrics=triage.emit)
    code, out, _ = mutes("add", "--rule", "trail.stopped", "--group", "requestParameters.name=org-trail")
    assert code == 0 and "Rule trail.stopped, requestParameters.name org-trail" in out

    other = similar("evt-2", principal="bob")
    other["requestParameters"] = {"name": "audit-trail"}
    triage.deliver(similar("evt-1"), other)  # evt-1 stops org-trail, whoever does it
    assert triage.last_metrics()["Suppressed_trail.stopped"] == 1
    triage.alert("evt-2")
