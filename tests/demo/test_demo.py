"""`trailalert demo` as a newcomer runs it: what it configured, whole messages, the escaping explained,
and the HTML preview drawn from the messages the Slack stand-in received."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from processor.devtools.sample_events import DEMO_IGNORE_RULES, DEMO_RULES
from processor.rules import check_rules
from processor.settings import rule_options
from tests.demo.html_parts import Element, parse

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One run of `trailalert demo --preview PATH`, in a clean environment (nothing of AWS or Slack)."""
    preview = tmp_path_factory.mktemp("demo") / "preview.html"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_", "TRIAGE_", "DYNAMODB_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", "from processor.cli import main; main()", "demo", "--preview", str(preview)],
        cwd=REPO, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, preview


def _messages(stdout: str) -> list[str]:
    slack = stdout[stdout.index("What Slack received") : stdout.index("What SNS received")]
    return ["── #" + part for part in slack.split("── #")[1:]]


def test_the_demo_says_what_it_configured(demo: tuple[str, Path]) -> None:
    stdout, _ = demo
    configured = " ".join(
        stdout[stdout.index("What it configured") : stdout.index("What Slack received")].split()
    )
    defaults = [c.ref.id for c in check_rules(**rule_options({})).checks]
    assert len(defaults) == 9 and all(rule in configured for rule in defaults)
    assert f"RULES: {DEMO_RULES}" in configured and f"IGNORE_RULES: {DEMO_IGNORE_RULES}" in configured
    assert "account 444455556666 -> #C0DEVALERTS (SLACK_APP_CONFIGURATION)" in configured
    assert "any other account -> #C0SECURITY (DEFAULT_SLACK_CHANNEL_ID)" in configured
    assert re.search(r"moto's server at http://127\.0\.0\.1:\d+", configured)
    assert re.search(r"stand-in for Slack's Web API at http://127\.0\.0\.1:\d+/api/", configured)


def test_messages_are_shown_whole_and_the_escaping_is_explained(demo: tuple[str, Path]) -> None:
    stdout, _ = demo
    messages = _messages(stdout)
    assert len(messages) == 9
    for message in messages:  # every code block closed: nothing cut mid-way
        assert message.count("```") % 2 == 0, message
    (update,) = [m for m in messages if "UpdateFunctionConfiguration" in m]
    request = update[update.index("*Request parameters*") : update.index("*Response elements*")]
    assert '"functionName": "trailalert"' in request and request.rstrip().endswith("```")
    (escaped,) = [m for m in messages if "&lt;!channel&gt;" in m]
    assert '"userName": "&lt;!channel&gt; please rotate"' in escaped
    note = escaped[escaped.index("note: ") :]
    assert note.startswith("note: &lt;!channel&gt; is Slack escaping at work")
    assert "attacker-controlled" in note and "<!channel> as plain text" in note
    assert sum("Slack escaping at work" in m for m in messages) == 1


def _headers(conversation: Element) -> list[str]:
    return [h.text for h in conversation.find("header")]


def test_the_preview_draws_the_messages_slack_received(demo: tuple[str, Path]) -> None:
    stdout, preview = demo
    assert f"Open it in a browser: {preview.resolve().as_uri()}" in stdout
    html = preview.read_text(encoding="utf-8")
    page = parse(html)
    triage, day, routed = page.find("conversation")
    assert triage.tags("h2")[0].text == "An alert, snoozed from Slack"
    alert = triage.find("message")[0]
    assert alert.find("header")[0].text == "[critical] StopLogging"
    assert "Snooze similar 1 hour" in [b.text for b in alert.find("button")]
    (thread,) = triage.find("thread")
    assert thread.find("thread-count")[0].text == "2 replies"
    assert "Snoozed for 1 hour by @U0RESPONDER" in thread.text
    assert "2 more similar alerts suppressed" in thread.text
    assert _headers(day) == [
        "[high] ConsoleLogin",
        "[critical] StopLogging",
        "[critical] DeleteTrail",
        "[high] CreateAccessKey",
        "[high] UpdateFunctionConfiguration20150331v2",
        "[medium] CreateUser",
    ]
    assert _headers(routed) == ["[medium] DescribeInstances failed", "[medium] GetObject failed"]
    assert len(day.find("message")) + len(routed.find("message")) == len(_messages(stdout))
    fields = [f.text for f in day.find("field")]
    assert "Account111122223333" in fields and "Regioneu-west-1" in fields
    code = [pre.text for pre in day.tags("pre")]
    assert any('"userName": "<!channel> please rotate"' in text for text in code)  # shown as typed
    assert "&lt;!channel&gt; please rotate" in html and "<!channel>" not in html
    assert page.tags("script") == []
