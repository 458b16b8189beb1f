"""The nine default rules: each catches its scenario and lets its near-misses through."""

from __future__ import annotations

import pytest

from processor.rules import build_ruleset, default_rules, events_to_track_rule
from processor.rules.ruleset import RuleSet
from tests.rules.helpers import FUNCTION_NAME, load

EXPECTED_TEXTS = [
    'event["eventName"] == "ConsoleLogin" and event.get("additionalEventData.MFAUsed", "") != "Yes" '
    'and "assumed-role/AWSReservedSSO" not in event.get("userIdentity.arn", "")',
    'event.get("errorCode", "").endswith(("UnauthorizedOperation"))',
    'event.get("errorCode", "").startswith(("AccessDenied"))'
    'and (event.get("userIdentity.accountId", "") != "ANONYMOUS_PRINCIPAL")',
    'event.get("userIdentity.type", "") == "Root" '
    'and not event["eventName"].startswith(("Get", "List", "Describe", "Head"))',
    'event["eventSource"] == "cloudtrail.amazonaws.com" and event["eventName"] == "StopLogging"',
    'event["eventSource"] == "cloudtrail.amazonaws.com" and event["eventName"] == "UpdateTrail"',
    'event["eventSource"] == "cloudtrail.amazonaws.com" and event["eventName"] == "DeleteTrail"',
    'event["eventSource"] == "lambda.amazonaws.com" and "responseElements.functionName" in event '
    'and event["responseElements.functionName"] == "my-fn" '
    'and event["eventName"].startswith(("UpdateFunctionConfiguration"))',
    'event["eventSource"] == "lambda.amazonaws.com" and "responseElements.functionName" in event '
    'and event["responseElements.functionName"] == "my-fn" '
    'and event["eventName"].startswith(("UpdateFunctionCode"))',
]


def defaults_only(function_name: str = FUNCTION_NAME) -> RuleSet:
    return build_ruleset(rules=None, ignore_rules=None, events_to_track=None, function_name=function_name)


def test_default_rule_texts_are_the_reference_texts_with_the_function_name() -> None:
    assert [text for _, text in default_rules("my-fn")] == EXPECTED_TEXTS


def test_default_rule_ids_are_stable_and_readable() -> None:
    assert [rule_id for rule_id, _ in default_rules("f")] == [
        "default.console-login-without-mfa",
        "default.unauthorized-operation",
        "default.access-denied",
        "default.root-non-read-action",
        "default.cloudtrail-stop-logging",
        "default.cloudtrail-update-trail",
        "default.cloudtrail-delete-trail",
        "default.self-update-function-configuration",
        "default.self-update-function-code",
    ]


def test_default_rules_carry_origin_title_and_severity() -> None:
    rule = defaults_only().rules[4]
    assert rule.ref.origin == "USE_DEFAULT_RULES"
    assert rule.ref.title == "CloudTrail logging stopped"
    assert rule.ref.severity == "critical"
    assert rule.ref.expression == rule.expression.text


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("console_login_iam_user_no_mfa", "default.console-login-without-mfa"),
        ("console_login_missing_mfa_field", "default.console-login-without-mfa"),
        ("console_login_iam_user_with_mfa", None),
        ("console_login_sso_assumed_role", None),
        ("console_login_root_with_mfa", "default.root-non-read-action"),
        ("unauthorized_operation", "default.unauthorized-operation"),
        ("access_denied", "default.access-denied"),
        ("access_denied_anonymous_principal", None),
        ("root_create_user", "default.root-non-read-action"),
        ("root_get_object", None),
        ("root_list_buckets", None),
        ("assumed_role_create_user", None),
        ("assumed_role_describe_instances", None),
        ("cloudtrail_stop_logging", "default.cloudtrail-stop-logging"),
        ("cloudtrail_update_trail", "default.cloudtrail-update-trail"),
        ("cloudtrail_delete_trail", "default.cloudtrail-delete-trail"),
        ("cloudtrail_describe_trails", None),
        ("lambda_update_own_function_code", "default.self-update-function-code"),
        ("lambda_update_own_function_configuration", "default.self-update-function-configuration"),
        ("lambda_update_other_function_code", None),
        ("eks_dotted_keys", None),
        ("ec2_create_tags_nested_lists", None),
    ],
)
def test_default_rule_verdict_for_each_scenario(fixture: str, expected: str | None) -> None:
    verdict = defaults_only().evaluate(load(fixture))
    assert (verdict.matched.id if verdict.matched else None) == expected
    assert verdict.failures == ()
    assert verdict.ignored_by is None


@pytest.mark.parametrize("event_name", ["GetAccountSummary", "ListUsers", "DescribeRegions", "HeadBucket"])
def test_root_read_actions_do_not_alert(event_name: str) -> None:
    event = load("root_create_user")
    event["eventName"] = event_name
    assert defaults_only().evaluate(event).matched is None


@pytest.mark.parametrize("event_name", ["PutBucketPolicy", "DeleteUser", "getObject"])
def test_root_non_read_actions_alert(event_name: str) -> None:
    event = load("root_get_object")
    event["eventName"] = event_name
    assert defaults_only().evaluate(event).matched.id == "default.root-non-read-action"


def test_sso_login_alerts_once_the_arn_is_not_an_sso_role() -> None:
    event = load("console_login_sso_assumed_role")
    event["userIdentity"]["arn"] = "arn:aws:sts::210987654321:assumed-role/break-glass/jo"
    assert defaults_only().evaluate(event).matched.id == "default.console-login-without-mfa"


def test_access_denied_variants_alert_unless_anonymous() -> None:
    event = load("access_denied")
    event["errorCode"] = "AccessDeniedException"
    assert defaults_only().evaluate(event).matched.id == "default.access-denied"
    event["userIdentity"]["accountId"] = "ANONYMOUS_PRINCIPAL"
    assert defaults_only().evaluate(event).matched is None


def test_self_update_depends_on_the_deployed_function_name() -> None:
    event = load("lambda_update_own_function_code")
    assert defaults_only("another-fn").evaluate(event).matched is None
    other = load("lambda_update_other_function_code")
    assert defaults_only("billing-api").evaluate(other).matched.id == "default.self-update-function-code"


def test_self_update_without_a_function_name_in_the_response_does_not_alert() -> None:
    event = load("lambda_update_own_function_code")
    event["responseElements"] = "null"
    assert defaults_only().evaluate(event).matched is None


def test_a_null_error_code_is_an_evaluation_error_of_the_error_code_rules() -> None:
    verdict = defaults_only().evaluate(load("access_denied_null_error_code"))
    assert verdict.matched is None
    assert [(failure.rule.id, failure.error) for failure in verdict.failures] == [
        ("default.unauthorized-operation", "AttributeError: 'NoneType' object has no attribute 'endswith'"),
        ("default.access-denied", "AttributeError: 'NoneType' object has no attribute 'startswith'"),
    ]
    assert {failure.event_id for failure in verdict.failures} == {"c0ffee00-aaaa-4bbb-8ccc-000000000014"}


def test_a_record_without_event_name_is_not_skipped_and_reports_key_errors() -> None:
    verdict = defaults_only().evaluate(load("missing_event_name"))
    assert verdict.matched is None
    assert [(failure.rule.id, failure.error) for failure in verdict.failures] == [
        ("default.console-login-without-mfa", "KeyError: 'eventName'"),
        ("default.root-non-read-action", "KeyError: 'eventName'"),
    ]


def test_events_to_track_rule_text_matches_the_reference() -> None:
    assert events_to_track_rule("SendSSHPublicKey, DeleteConfigRule,DeleteDeliveryChannel") == (
        '"eventName" in event and event["eventName"] in '
        '["SendSSHPublicKey", "DeleteConfigRule", "DeleteDeliveryChannel"]'
    )
    assert (
        events_to_track_rule("A,,B ,") == '"eventName" in event and event["eventName"] in ["A", "", "B", ""]'
    )
