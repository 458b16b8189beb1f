"""The decode mode: two-phase when it can be exact, else the full decode with the reason, shown by
`trailalert rules check`."""

from __future__ import annotations

from click.testing import CliRunner

from processor.cli import main
from processor.partial.mode import decode_mode
from processor.rules import build_ruleset
from tests.rules.helpers import FUNCTION_NAME


def rules(text: str | None = None) -> object:
    return build_ruleset(rules=text, ignore_rules=None, events_to_track=None, function_name=FUNCTION_NAME)


def test_default_rules_run_two_phase() -> None:
    mode = decode_mode(rules(), {})
    assert mode.name == "two-phase" and mode.phases is not None
    assert "eventName" in mode.phases.first and "additionalEventData.MFAUsed" in mode.phases.all


def test_a_key_the_partial_view_cannot_hold_falls_back_visibly() -> None:
    mode = decode_mode(rules('event.get("requestParameters.a\\"b") == 1'), {})
    assert mode.phases is None and "quote, a backslash" in mode.reason
    mode = decode_mode(rules('event.get("requestParameters..b") == 1'), {})
    assert mode.phases is None and "empty segment" in mode.reason


def test_the_full_decode_can_be_asked_for() -> None:
    assert (
        decode_mode(rules(), {"TRAILALERT_DECODE": "full"}).describe()
        == "decode mode: full (TRAILALERT_DECODE=full)"
    )


def test_rules_check_says_which_mode_and_why(monkeypatch) -> None:
    monkeypatch.delenv("TRAILALERT_DECODE", raising=False)
    result = CliRunner().invoke(main, ["rules", "check", "--function-name", FUNCTION_NAME])
    assert result.exit_code == 0, result.output
    assert "decode mode: two-phase (every record decodes" in result.output
    monkeypatch.setenv("TRAILALERT_DECODE", "full")
    result = CliRunner().invoke(main, ["rules", "check", "--function-name", FUNCTION_NAME])
    assert "decode mode: full (TRAILALERT_DECODE=full)" in result.output
