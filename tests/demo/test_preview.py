"""The HTML preview of Slack messages: Block Kit drawn recognisably, and every text inert.

The messages come from the real renderer (render_slack) and, for hostile input, are written the
way an attacker would hope the preview takes them."""

from __future__ import annotations

from processor.devtools.preview import Conversation, mrkdwn_html, render_page
from processor.models import Record, RuleRef
from processor.render.slack import render_slack, with_triage_actions
from tests.demo.html_parts import parse

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _alert(**fields: object) -> dict[str, object]:
    event = {
        "eventName": "CreateAccessKey",
        "eventSource": "iam.amazonaws.com",
        "awsRegion": "eu-west-1",
        "recipientAccountId": "111122223333",
        "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root"},
        "requestParameters": {"userName": "<!channel> " + HOSTILE},
        **fields,
    }
    message = render_slack(
        Record(event=event, item_id="1", source="kinesis"),
        RuleRef(
            id="default.root",
            expression="True",
            origin="USE_DEFAULT_RULES",
            severity="high",
            title="Root acted",
        ),
        "111122223333",
    )
    message = with_triage_actions(message, "signed-value")
    return {
        "type": "message",
        "ts": "1764700000.000100",
        "text": message.text,
        "blocks": list(message.blocks),
    }


def test_an_alert_is_drawn_with_its_header_fields_code_block_context_and_buttons() -> None:
    page = parse(render_page([Conversation("Alerts", "C0SECURITY", [_alert()])]))
    (message,) = page.find("message")
    assert message.find("header")[0].text == "[high] CreateAccessKey"
    fields = {f.tags("b")[0].text: f.text for f in message.find("field")}
    assert fields["Account"] == "Account111122223333" and fields["Region"] == "Regioneu-west-1"
    assert "default.root" in fields["Rule"] and fields["Rule"].endswith("Root acted")
    (pre,) = message.tags("pre")
    assert '"userName": "<!channel> ' + HOSTILE + '"' in pre.text  # shown as typed, whole
    assert [c.text for c in message.find("context")][-1] == "Source: 1 via kinesis"
    buttons = message.find("button")
    assert [b.text for b in buttons][:2] == ["Acknowledge", "Snooze similar 1 hour"]
    assert "primary" in buttons[0].classes and "danger" in buttons[-1].classes


def test_thread_replies_are_drawn_under_their_parent() -> None:
    parent = _alert()
    reply = {"ts": "1764700001.000100", "thread_ts": parent["ts"], "text": "", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": ":zzz: Snoozed by <@U0RESPONDER>"}}
    ]}  # fmt: skip
    later = {**_alert(), "ts": "1764700002.000100"}
    page = parse(render_page([Conversation("Alerts", "C0SECURITY", [parent, reply, later])]))
    channel = page.find("channel")[0]
    threads = channel.find("thread")
    assert len(threads) == 1 and threads[0].find("thread-count")[0].text == "1 reply"
    assert threads[0].find("mention")[0].text == "@U0RESPONDER"
    assert "\U0001f4a4 Snoozed by" in threads[0].text
    assert len(channel.find("message")) == 3


def test_attacker_controlled_text_is_inert_everywhere() -> None:
    """Header, mrkdwn, code, fields, buttons, links, the note: no markup from a message gets through."""
    alert = _alert(eventName=HOSTILE, errorCode=HOSTILE, errorMessage=HOSTILE)
    alert["blocks"] = [
        *alert["blocks"],  # type: ignore[list-item]
        {"type": "section", "text": {"type": "mrkdwn", "text": "<javascript:alert(3)|click> <https://e.x/\"onmouseover=\"x|ok>"}},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": HOSTILE}}]},
        {"type": HOSTILE},
    ]  # fmt: skip
    html = render_page([Conversation(HOSTILE, HOSTILE, [alert], note=HOSTILE)], title=HOSTILE)
    page = parse(html)
    assert page.tags("script") == [] and page.tags("img") == []
    assert "<script" not in html and "<img" not in html
    links = page.tags("a")
    assert [a.attrs["href"] for a in links] == ['https://e.x/"onmouseover="x']  # one attribute, quoted
    assert all(set(a.attrs) == {"href", "rel"} for a in links)
    assert "click" in page.find("link")[0].text  # a javascript: link is drawn, not linked
    assert HOSTILE in page.find("header")[0].text and HOSTILE in page.tags("title")[0].text
    assert "default-src 'none'" in html  # and no script could run even if one got through


def test_mrkdwn_formatting_as_slack_reads_it() -> None:
    html = mrkdwn_html(
        "*bold* _it_ ~gone~ `a*b*` SSO_Admin_x <!date^1764700000^{date}|2025-12-02> <!here>\n"
        '```\n{\n  "k": "&lt;v&gt; &amp;"\n}\n```'
    )
    assert html.startswith("<b>bold</b> <i>it</i> <s>gone</s> <code>a*b*</code> SSO_Admin_x ")
    assert '<span class="date">2025-12-02</span> <span class="mention">@here</span><br>' in html
    assert html.endswith("<pre>{\n  &quot;k&quot;: &quot;&lt;v&gt; &amp;&quot;\n}</pre>")
