"""Building a deployment's rules from settings, and the verdict for one record."""

from __future__ import annotations

import pytest

from processor.errors import ConfigError, RuleError
from processor.models import Verdict
from processor.rules import build_ruleset, check_rules, split_rules
from tests.rules.helpers import FUNCTION_NAME, load

EC2 = "SendSSHPublicKey"
CONFIG = "DeleteConfigRule,DeleteConfigurationRecorder,DeleteDeliveryChannel,DeleteEvaluationResults"
README_EVENTS_TO_TRACK = f"{EC2},{CONFIG}"


def build(**settings: object):
    defaults: dict[str, object] = {
        "rules": None,
        "ignore_rules": None,
        "events_to_track": None,
        "function_name": FUNCTION_NAME,
        "use_default_rules": False,
    }
    defaults.update(settings)
    return build_ruleset(**defaults)  # type: ignore[arg-type]


def ids(rule_set) -> list[str]:
    return [rule.ref.id for rule in (*rule_set.ignore_rules, *rule_set.rules)]


def test_split_rules_drops_empty_and_blank_pieces() -> None:
    assert split_rules("a,,b, ,c,", ",") == ["a", "b", "c"]
    assert split_rules(None, ",") == []
    assert split_rules("", ",") == []
    assert split_rules("a % b", "%") == ["a ", " b"]


def test_split_rules_refuses_an_empty_separator() -> None:
    with pytest.raises(ConfigError) as caught:
        split_rules("a", "")
    assert caught.value.setting == "RULES_SEPARATOR"


def test_rules_run_in_order_ignore_then_rules_then_defaults_then_events_to_track() -> None:
    rule_set = build(
        ignore_rules='event["eventName"] == "Nothing"',
        rules='event["eventName"] == "CreateUser",event["eventName"] == "Other"',
        use_default_rules=True,
        events_to_track="CreateUser",
    )
    assert ids(rule_set)[:3] == ["IGNORE_RULES[0]", "RULES[0]", "RULES[1]"]
    assert ids(rule_set)[3:12] == [rule_id for rule_id in ids(rule_set) if rule_id.startswith("default.")]
    assert ids(rule_set)[-1] == "EVENTS_TO_TRACK"
    assert [rule.ref.origin for rule in rule_set.rules][-2:] == ["USE_DEFAULT_RULES", "EVENTS_TO_TRACK"]
    verdict = rule_set.evaluate(load("root_create_user"))
    assert verdict.matched is not None
    assert verdict.matched.id == "RULES[0]"
    assert verdict.matched.origin == "RULES"


def test_the_first_matching_rule_wins_and_later_rules_do_not_run() -> None:
    rule_set = build(rules='True,event["nope"] == 1', use_default_rules=True)
    verdict = rule_set.evaluate(load("root_create_user"))
    assert verdict == Verdict(matched=rule_set.rules[0].ref)


def test_defaults_win_over_events_to_track() -> None:
    rule_set = build(use_default_rules=True, events_to_track="CreateUser")
    assert rule_set.evaluate(load("root_create_user")).matched.id == "default.root-non-read-action"
    assert rule_set.evaluate(load("assumed_role_create_user")).matched.id == "EVENTS_TO_TRACK"


def test_rule_ids_count_only_kept_pieces() -> None:
    rule_set = build(rules='False,,event["eventName"] == "CreateUser"')
    assert ids(rule_set) == ["RULES[0]", "RULES[1]"]
    assert rule_set.rules[1].ref.expression == 'event["eventName"] == "CreateUser"'


def test_events_to_track_matches_listed_names_with_spaces_removed() -> None:
    rule_set = build(events_to_track="CreateUser, DeleteTrail ,StopLogging")
    assert rule_set.evaluate(load("assumed_role_create_user")).matched.id == "EVENTS_TO_TRACK"
    assert rule_set.evaluate(load("cloudtrail_delete_trail")).matched.origin == "EVENTS_TO_TRACK"
    assert rule_set.evaluate(load("cloudtrail_update_trail")).matched is None
    assert rule_set.evaluate(load("missing_event_name")) == Verdict()


def test_readme_events_to_track_example() -> None:
    rule_set = build(events_to_track=README_EVENTS_TO_TRACK)
    event = load("assumed_role_describe_instances")
    assert rule_set.evaluate(event).matched is None
    event["eventName"] = "DeleteConfigurationRecorder"
    assert rule_set.evaluate(event).matched.id == "EVENTS_TO_TRACK"


def test_ignore_rules_suppress_before_any_rule() -> None:
    # The README's ignore rule, for the account of the access_denied fixture.
    ignore = "'userIdentity.accountId' in event and event['userIdentity.accountId'] == '444455556666'"
    rule_set = build(ignore_rules=ignore, use_default_rules=True)
    verdict = rule_set.evaluate(load("access_denied"))
    assert verdict.ignored_by is not None
    assert verdict.ignored_by.id == "IGNORE_RULES[0]"
    assert verdict.ignored_by.origin == "IGNORE_RULES"
    assert verdict.matched is None
    assert rule_set.evaluate(load("unauthorized_operation")).matched.id == "default.unauthorized-operation"


def test_a_raising_ignore_rule_is_reported_and_the_rules_still_run() -> None:
    rule_set = build(ignore_rules='event["nope"] == 1', use_default_rules=True)
    verdict = rule_set.evaluate(load("root_create_user"))
    assert verdict.matched.id == "default.root-non-read-action"
    assert [(failure.rule.id, failure.error) for failure in verdict.failures] == [
        ("IGNORE_RULES[0]", "KeyError: 'nope'")
    ]


def test_a_raising_rule_does_not_stop_a_later_rule_from_matching() -> None:
    rule_set = build(
        rules='event["userIdentity.type"].startswith("R") and event["nope"],'
        'event.get("errorCode").lower() == "x",'
        'event["eventName"] == "CreateUser"'
    )
    event = load("root_create_user")
    verdict = rule_set.evaluate(event)
    assert verdict.matched.id == "RULES[2]"
    assert [(failure.rule.id, failure.error, failure.event_id) for failure in verdict.failures] == [
        ("RULES[0]", "KeyError: 'nope'", event["eventID"]),
        ("RULES[1]", "AttributeError: 'NoneType' object has no attribute 'lower'", event["eventID"]),
    ]


def test_a_custom_separator_lets_rules_contain_commas() -> None:
    rules = (
        'event["eventName"] in ["CreateUser", "DeleteUser"] and event.get("userIdentity.type", "") == "Root"'
        '%event.get("errorCode", "").startswith(("Throttling", "RequestLimitExceeded"))'
    )
    rule_set = build(rules=rules, separator="%")
    assert ids(rule_set) == ["RULES[0]", "RULES[1]"]
    assert rule_set.evaluate(load("root_create_user")).matched.id == "RULES[0]"
    throttled = load("assumed_role_describe_instances")
    throttled["errorCode"] = "ThrottlingException"
    assert rule_set.evaluate(throttled).matched.id == "RULES[1]"


def test_a_custom_separator_also_splits_ignore_rules() -> None:
    rule_set = build(
        ignore_rules='event.get("awsRegion") in ["us-east-1", "eu-west-1"]|False', rules="True", separator="|"
    )
    assert ids(rule_set) == ["IGNORE_RULES[0]", "IGNORE_RULES[1]", "RULES[0]"]
    assert rule_set.evaluate(load("root_create_user")).ignored_by.id == "IGNORE_RULES[0]"


def test_a_rule_cut_by_the_default_separator_points_at_rules_separator() -> None:
    with pytest.raises(RuleError) as caught:
        build(rules='event["eventName"] in ["CreateUser", "DeleteUser"]')
    assert caught.value.setting == "RULES"
    assert caught.value.rule == 'event["eventName"] in ["CreateUser"'
    assert "set RULES_SEPARATOR" in caught.value.reason


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({"rules": "open('x')"}, "RULES"),
        ({"rules": "True", "ignore_rules": "event"}, "IGNORE_RULES"),
        ({"rules": "True", "separator": ""}, "RULES_SEPARATOR"),
        ({"rules": None}, "RULES"),
        ({"ignore_rules": "True"}, "RULES"),
        ({"rules": " , ,"}, "RULES"),
    ],
)
def test_build_fails_naming_the_setting_at_fault(settings: dict[str, object], setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(**settings)
    assert caught.value.setting == setting


def test_an_empty_separator_is_fine_when_there_is_nothing_to_split() -> None:
    assert ids(build(separator="", events_to_track="X")) == ["EVENTS_TO_TRACK"]


def test_no_rules_at_all_is_a_config_error_like_the_reference() -> None:
    with pytest.raises(ConfigError, match="no rules to apply"):
        build(use_default_rules=False, events_to_track="")


def test_check_rules_reports_every_rule_and_every_problem() -> None:
    report = check_rules(
        rules='event["eventName"] == "A",__import__("os"),event',
        ignore_rules="globals()",
        use_default_rules=True,
        events_to_track="A",
        function_name=FUNCTION_NAME,
    )
    assert not report.ok
    assert [problem.setting for problem in report.problems] == ["IGNORE_RULES", "RULES", "RULES"]
    assert [check.ref.id for check in report.checks if not check.ok] == [
        "IGNORE_RULES[0]",
        "RULES[1]",
        "RULES[2]",
    ]
    assert len(report.checks) == 1 + 3 + 9 + 1
    good = [check for check in report.checks if check.ok]
    assert all(check.expression is not None and check.error is None for check in good)


def test_check_rules_of_a_good_configuration_is_ok() -> None:
    report = check_rules(rules=None, ignore_rules=None, events_to_track=None, function_name=FUNCTION_NAME)
    assert report.ok
    assert len(report.checks) == 9


def test_rule_set_keys_are_every_field_the_rules_read() -> None:
    rule_set = build(rules='event["a.b"] == 1', ignore_rules='"c" in event', events_to_track="X")
    assert rule_set.keys == frozenset({"a.b", "c", "eventName"})


def test_the_guards_leave_only_rules_that_can_match_or_raise() -> None:
    rule_set = build(use_default_rules=True, events_to_track="CreateUser")

    def selected(fixture: str) -> list[str]:
        return [rule.ref.id for rule in rule_set.selector.select(load(fixture)).rules]

    assert selected("console_login_iam_user_no_mfa") == ["default.console-login-without-mfa"]
    assert selected("cloudtrail_stop_logging") == ["default.cloudtrail-stop-logging"]
    # eventName missing: the rules whose guards reach event["eventName"] raise, so they run
    # (and report it); EVENTS_TO_TRACK's `"eventName" in event` is False, so it does not.
    assert selected("missing_event_name") == [
        "default.console-login-without-mfa",
        "default.root-non-read-action",
    ]
