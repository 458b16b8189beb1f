"""Triage from Slack, as a responder does it: click a button on an alert, confirm, see the effect."""

from __future__ import annotations

import boto3
import orjson
import pytest

from processor.interactions import NOT_OURS
from tests.triage.conftest import CHANNEL, RESPONDER, RULE_ID, Triage, similar


def _buttons(payload: dict) -> dict[str, str]:
    (actions,) = [b for b in payload["blocks"] if b["type"] == "actions"]
    return {e["action_id"]: e["text"]["text"] for e in actions["elements"]}


def _items(table: str) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=table)["Items"]


def _mutes(table: str) -> list[dict]:
    return [i for i in _items(table) if i["pk"]["S"].startswith("mute#")]


def test_every_alert_carries_the_triage_buttons(triage: Triage) -> None:
    triage.deliver(similar("evt-1"))
    assert _buttons(triage.alert("evt-1").payload) == {
        "triage.ack": "Acknowledge",
        "triage.snooze.1h": "Snooze similar 1 hour",
        "triage.snooze.24h": "Snooze similar 24 hours",
        "triage.snooze.7d": "Snooze similar 7 days",
        "triage.mute": "Mute similar",
    }


def test_the_confirmation_shows_exactly_what_would_be_suppressed(triage: Triage, table: str) -> None:
    triage.deliver(similar("evt-1"))
    answer = triage.slack.click(CHANNEL, triage.alert("evt-1").ts, "triage.snooze.24h")
    assert answer.status == 200
    (opened,) = triage.slack.views
    view = opened.view
    assert view["title"]["text"] == "Snooze similar alerts"
    assert view["submit"]["text"] == "Snooze for 24 hours"
    fields = [f["text"] for block in view["blocks"] if "fields" in block for f in block["fields"]]
    assert fields == [
        f"*Rule*\n`{RULE_ID}`",
        "*Actor*\n`arn:aws:iam::111122223333:user/alice`",
        "*Account*\n`111122223333`",
        "*Event source*\n`cloudtrail.amazonaws.com`",
        "*Event*\n`StopLogging`",
        "*Outcome*\n`ok`",
    ]
    intro = view["blocks"][0]["text"]["text"]
    assert "*for 24 hours*" in intro and "in any channel" in intro and "SNS still receives" in intro
    assert not _mutes(table), "nothing is stored before the responder confirms"


def test_a_snooze_suppresses_the_next_similar_alert_counts_it_and_expires(triage: Triage, table: str) -> None:
    triage.deliver(similar("evt-1"))
    parent = triage.alert("evt-1")
    assert not _mutes(table), "opening the confirmation stores nothing"
    triage.snooze("evt-1", "triage.snooze.1h")

    (audit,) = triage.thread(parent.ts)
    assert audit["blocks"][0]["text"]["text"].startswith(
        f":zzz: *Snoozed for 1 hour* by <@{RESPONDER}>, until <!date^"
    )
    assert [e["action_id"] for e in audit["blocks"][-1]["elements"]] == ["triage.unmute"]

    # The next similar alert is held back (counted), another actor's is posted.
    triage.clock.advance(120)
    response = triage.deliver(similar("evt-2"), similar("evt-3", principal="bob"))
    assert response == {"batchItemFailures": []}
    assert not [p for p in triage.posted() if "evt-2" in orjson.dumps(p.payload).decode()]
    triage.alert("evt-3")
    metrics = triage.last_metrics()
    assert metrics["Suppressed"] == 1 and metrics[f"Suppressed_{RULE_ID}"] == 1
    summary = triage.thread(parent.ts)[-1]
    assert summary["blocks"][0]["text"]["text"].startswith(
        ":zzz: *1* more similar alert suppressed since <!date^"
    )

    # Two more: the same summary is edited, not a reply per alert.
    triage.deliver(similar("evt-4"), similar("evt-5"))
    assert len(triage.thread(parent.ts)) == 2
    assert triage.thread(parent.ts)[-1]["blocks"][0]["text"]["text"].startswith(
        ":zzz: *3* more similar alerts"
    )
    assert triage.last_metrics()["Suppressed"] == 2
    [item] = _mutes(table)
    assert item["suppressed"]["N"] == "3"

    # After the hour, similar alerts are posted again.
    triage.clock.advance(3600)
    triage.deliver(similar("evt-6"))
    triage.alert("evt-6")
    assert triage.last_metrics()["Suppressed"] == 0


def test_a_repeated_event_or_a_retried_batch_does_not_count_a_suppressed_alert_twice(
    triage: Triage, table: str
) -> None:
    triage.deliver(similar("evt-1"))
    triage.snooze("evt-1", "triage.mute")
    triage.clock.advance(61)  # the processor reads suppressions through a cache of at most 60 s
    batch = [similar("evt-2"), similar("evt-2")]  # EventBridge may deliver an event twice
    triage.deliver(*batch)
    assert triage.last_metrics()["Suppressed"] == 1
    triage.deliver(*batch)  # Lambda retries the batch
    [item] = _mutes(table)
    assert item["suppressed"]["N"] == "1"
    assert triage.last_metrics()["Suppressed"] == 0


def test_mute_lasts_until_the_unmute_button_in_the_thread(triage: Triage, table: str) -> None:
    triage.deliver(similar("evt-1"))
    parent = triage.alert("evt-1")
    triage.snooze("evt-1", "triage.mute")
    (audit,) = triage.thread(parent.ts)
    assert audit["blocks"][0]["text"]["text"].startswith(f":mute: *Muted* by <@{RESPONDER}> until unmuted")
    triage.clock.advance(30 * 86_400)
    triage.deliver(similar("evt-2"))
    assert triage.last_metrics()["Suppressed"] == 1

    assert triage.slack.click(CHANNEL, audit["ts"], "triage.unmute").status == 200
    assert not _mutes(table)
    assert triage.thread(parent.ts)[-1]["blocks"][0]["text"]["text"].startswith(
        f":bell: *Unmuted* by <@{RESPONDER}>: similar alerts are posted again. 1 similar alert was"
    )
    triage.clock.advance(61)  # the processor reads suppressions through a cache of at most 60 s
    triage.deliver(similar("evt-3"))
    triage.alert("evt-3")


def test_acknowledge_shows_who_and_when_on_the_alert_and_in_its_thread(triage: Triage) -> None:
    triage.deliver(similar("evt-1"))
    parent = triage.alert("evt-1")
    assert triage.slack.click(CHANNEL, parent.ts, "triage.ack", user="U0OTHER").status == 200
    (shown,) = [m for m in triage.slack.messages(CHANNEL) if m["ts"] == parent.ts]
    note = f":white_check_mark: Acknowledged by <@U0OTHER> at <!date^{int(triage.clock.wall())}^"
    assert any(note in orjson.dumps(b).decode() for b in shown["blocks"])
    assert _buttons(shown), "the buttons stay: a snooze may come after"
    (line,) = triage.thread(parent.ts)
    assert line["text"].startswith(note)

    # A similar alert joins the thread; the parent's count update keeps the acknowledgement.
    triage.deliver(similar("evt-2"))
    (shown,) = [m for m in triage.slack.messages(CHANNEL) if m["ts"] == parent.ts]
    text = orjson.dumps(shown["blocks"]).decode()
    assert note in text and "more similar event in thread" in text


@pytest.mark.parametrize("triage", [{"TRIAGE_ALLOWED_USERS": "U0LEAD, W0ONCALL"}], indirect=True)
def test_a_user_not_allowed_gets_an_ephemeral_refusal_and_nothing_changes(triage: Triage, table: str) -> None:
    triage.deliver(similar("evt-1"))
    ts = triage.alert("evt-1").ts
    for action in ("triage.snooze.7d", "triage.mute"):
        assert triage.slack.click(CHANNEL, ts, action, user=RESPONDER).status == 200
    assert (
        triage.slack.ephemerals(RESPONDER)
        == ["Only the people in TRIAGE_ALLOWED_USERS may snooze or mute alerts."] * 2
    )
    assert not triage.slack.views and not _mutes(table)
    triage.snooze("evt-1", "triage.snooze.7d", user="W0ONCALL")  # an allowed user may
    assert len(_mutes(table)) == 1


def test_a_value_the_processor_did_not_sign_is_refused(triage: Triage, table: str) -> None:
    triage.deliver(similar("evt-1"))
    post = triage.alert("evt-1")
    (actions,) = [b for b in post.payload["blocks"] if b["type"] == "actions"]
    value = actions["elements"][1]["value"]
    signature, text = value.split(".", 1)
    data = orjson.loads(text)
    data["w"][1][1] = "arn:aws:iam::111122223333:user/*"  # try to widen what is muted
    forged = f"{signature}.{orjson.dumps(data).decode()}"
    payload = {
        "type": "block_actions",
        "user": {"id": RESPONDER},
        "channel": {"id": CHANNEL},
        "trigger_id": "trigger-forged",
        "message": {"ts": post.ts, "text": post.payload["text"], "blocks": post.payload["blocks"]},
        "actions": [{"type": "button", "action_id": "triage.mute", "value": forged}],
    }
    assert triage.slack.send_interaction(payload).status == 200
    assert triage.slack.ephemerals(RESPONDER) == [NOT_OURS]
    assert not triage.slack.views and not _mutes(table)

    # Nor does a confirmation whose metadata we did not sign store anything.
    submission = {
        "type": "view_submission",
        "user": {"id": RESPONDER},
        "view": {"id": "V1", "callback_id": "triage.confirm", "private_metadata": forged},
    }
    answer = triage.slack.send_interaction(submission)
    assert answer.status == 200 and answer.json()["response_action"] == "update"
    assert not _mutes(table)


def test_a_forged_signature_or_a_stale_timestamp_is_answered_401_and_changes_nothing(
    triage: Triage, table: str
) -> None:
    triage.deliver(similar("evt-1"))
    ts = triage.alert("evt-1").ts
    triage.slack.click(CHANNEL, ts, "triage.mute")
    (opened,) = triage.slack.views
    submission = {
        "type": "view_submission",
        "user": {"id": RESPONDER},
        "view": {**opened.view, "id": opened.id, "state": {"values": {}}},
    }
    now = int(triage.clock.wall())
    assert triage.slack.send_interaction(submission, secret="not-the-signing-secret").status == 401
    assert triage.slack.send_interaction(submission, timestamp=now - 301).status == 401
    assert triage.slack.send_interaction(submission, timestamp=now + 301).status == 401
    assert not _mutes(table) and triage.thread(ts) == []
    assert triage.slack.send_interaction(submission, timestamp=now - 299).status == 200  # within 5 min
    assert len(_mutes(table)) == 1


@pytest.mark.parametrize("base64_body", [True, False])
def test_bodies_are_read_base64_encoded_or_not(triage: Triage, table: str, base64_body: bool) -> None:
    triage.url.base64_body = base64_body
    triage.deliver(similar("evt-1"))
    triage.snooze("evt-1", "triage.snooze.24h")
    assert len(_mutes(table)) == 1
    assert triage.url.events[-1]["isBase64Encoded"] is base64_body


def test_hostile_values_stay_escaped_and_the_buttons_within_slacks_limits(triage: Triage) -> None:
    actor = '<!channel> "*bold*" ' + "x" * 3000
    event = similar("evt-1")
    event["userIdentity"]["arn"] = actor
    triage.deliver(event)
    post = triage.alert("evt-1")  # the stand-in refuses buttons over Slack's limits (invalid_blocks)
    assert len(_buttons(post.payload)) == 5
    triage.slack.click(CHANNEL, post.ts, "triage.mute")
    (opened,) = triage.slack.views
    text = orjson.dumps(opened.view["blocks"]).decode()
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "shown shortened" in text
    assert triage.slack.submit().status == 200
    (audit,) = triage.thread(post.ts)
    assert "<!channel>" not in orjson.dumps(audit["blocks"]).decode()
