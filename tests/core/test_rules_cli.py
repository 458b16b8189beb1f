"""`trailalert rules check` shows every rule with its status and fails on unsafe or invalid rules."""

from __future__ import annotations

from click.testing import CliRunner

from processor.cli import main


def _check(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["rules", "check", *args], env=env or {})
    return result.exit_code, result.stdout, result.stderr


def test_default_rules_are_all_listed_and_ok_without_any_destination() -> None:
    code, out, _ = _check(env={"RULES": "", "SLACK_BOT_TOKEN": ""})
    assert code == 0
    assert out.count("ok ") == 9 and "default.cloudtrail-stop-logging" in out
    assert "9 of 9 rules OK" in out


def test_environment_rules_are_checked_like_the_lambda_reads_them() -> None:
    env = {"RULES": "event['eventName'] == 'A'%event.get('x', 'a,b') == 'a,b'", "RULES_SEPARATOR": "%"}
    code, out, _ = _check("--no-default-rules", env=env)
    assert code == 0 and "RULES[0]" in out and "RULES[1]" in out


def test_unsafe_rule_fails_with_setting_rule_and_reason() -> None:
    code, out, err = _check("--ignore-rules", "event.__class__", env={})
    assert code == 1
    assert "ERROR IGNORE_RULES[0]" in out.replace("\x1b[31m\x1b[1m", "").replace("\x1b[0m", "")
    assert "IGNORE_RULES" in err and "event.__class__" in err and "__class__" in err


def test_every_problem_is_reported_not_only_the_first() -> None:
    code, _, err = _check("--rules", "open('x'),event[,1 +", "--events-to-track", "A", env={})
    assert code == 1
    assert err.count("RULES:") >= 2


def test_bad_boolean_names_the_setting() -> None:
    code, _, err = _check(env={"USE_DEFAULT_RULES": "sometimes"})
    assert code == 2 and "USE_DEFAULT_RULES" in err


def test_flags_override_environment() -> None:
    code, out, _ = _check("--rules", "event['eventName'] == 'B'", env={"RULES": "open('x')"})
    assert code == 0 and "'B'" in out


def test_rules_using_lists_show_when_they_run_and_the_decode_mode() -> None:
    """A quantifier is never a guard: a rule guarded by its other parts keeps the fast path (the
    records it may match are decoded in full); one with no such part runs on every event."""
    guarded = (
        'event.get("eventName") == "AuthorizeSecurityGroupIngress" and '
        'any(v == "0.0.0.0/0" for v in event.values("requestParameters.ipPermissions.items.*.ipRanges.items.*.cidrIp"))'
    )
    code, out, _ = _check("--no-default-rules", env={"RULES": guarded, "RULES_SEPARATOR": "|"})
    assert code == 0
    assert "[runs when event.get('eventName') == 'AuthorizeSecurityGroupIngress']" in out
    assert "decode mode: fast path" in out

    unguarded = 'any(re_search(v, "^arn:aws:iam::[0-9]{12}:root$") for v in event.values("resources.*.ARN"))'
    code, out, _ = _check("--no-default-rules", env={"RULES": unguarded, "RULES_SEPARATOR": "|"})
    assert code == 0 and "[runs on every event]" in out
    assert "decode mode: full (no guard rules out RULES[0] for any record" in out


def test_an_invalid_pattern_is_refused_naming_the_rule() -> None:
    code, out, err = _check(
        "--no-default-rules", env={"RULES": 're_search(event.get("a"), "(")', "RULES_SEPARATOR": "|"}
    )
    assert code == 1
    assert "RULES[0]" in out and "invalid pattern '('" in err
