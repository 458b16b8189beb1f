"""Rules inside the subset behave exactly as Python does on the flattened record."""

from __future__ import annotations

import warnings

import pytest

from processor.rules.language import compile_expression
from tests.rules.helpers import flatten_json, load

README_RULES = [
    "event['eventSource'] == 'cloudtrail.amazonaws.com' and event['eventName'] == 'StopLogging'",
    "event['eventSource'] == 'cloudtrail.amazonaws.com' and event['eventName'] == 'UpdateTrail'",
    "event['eventSource'] == 'cloudtrail.amazonaws.com' and event['eventName'] == 'DeleteTrail'",
]
README_IGNORE_RULE = "'userIdentity.accountId' in event and event['userIdentity.accountId'] == '11111111111'"


def matches(rule: str, event: dict) -> bool:
    return compile_expression(rule, setting="RULES").matches(event)


@pytest.mark.parametrize(
    ("rule", "fixture"),
    list(
        zip(
            README_RULES,
            ["cloudtrail_stop_logging", "cloudtrail_update_trail", "cloudtrail_delete_trail"],
            strict=True,
        )
    ),
)
def test_readme_user_rules_match_their_events_only(rule: str, fixture: str) -> None:
    assert matches(rule, load(fixture)) is True
    assert matches(rule, load("cloudtrail_describe_trails")) is False
    with pytest.raises(KeyError):
        matches(rule, {"eventName": "StopLogging"})


def test_readme_ignore_rule_matches_the_account_it_names() -> None:
    event = load("assumed_role_create_user")
    assert matches(README_IGNORE_RULE, event) is False
    event["userIdentity"]["accountId"] = "11111111111"
    assert matches(README_IGNORE_RULE, event) is True
    assert matches(README_IGNORE_RULE, {"eventName": "X"}) is False


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ('event.get("errorCode")', False),  # "AccessDenied" is truthy, not True
        ("1", False),
        ('"yes"', False),
        ("[True]", False),
        ("True", True),
        ("1 == 1", True),
        ('event.get("readOnly")', False),  # the string "true"
        ('event.get("missing")', False),  # None
        ('not event.get("missing")', True),
        ('event.get("errorCode") and True', True),
        ('event.get("errorCode") or True', False),
        ('bool(event.get("errorCode"))', True),
    ],
)
def test_only_a_result_that_is_true_matches(rule: str, expected: bool) -> None:
    assert matches(rule, load("access_denied")) is expected


def test_a_boolean_field_that_is_true_matches_on_its_own() -> None:
    assert matches('event.get("readOnly")', load("root_list_buckets")) is True


@pytest.mark.parametrize(
    "rule",
    [
        'event["eventName"] == "CreateUser" if "eventName" in event else False',
        '"root" == event["userIdentity.arn"][-4:]',
        'event["userIdentity.arn"][0:3] == "arn" and event["userIdentity.arn"][::-1][0] == "t"',
        'event["userIdentity.arn"].split(":")[4] == "210987654321"',
        'event["userIdentity.arn"].rsplit(":", 1)[1] == "root"',
        '0 < len(event["eventName"]) <= 10 != 11',
        'event["eventName"].lower().strip().startswith(("create", "delete"))',
        'event["eventName"].upper().casefold() == "createuser"',
        'event["eventName"].find("User") == 6 and event["eventName"].rfind("e") == 8',
        'event["eventName"].count("e") == 3 and event["eventName"].replace("User", "Role") == "CreateRole"',
        '" CreateUser ".lstrip().rstrip() == event["eventName"]',
        'event["eventName"].isalpha() and event["recipientAccountId"].isdigit()'
        ' and event["eventName"].isalnum()',
        'not event["eventName"].islower() and not event["eventName"].isupper()',
        'event["eventName"] in {"CreateUser", "DeleteUser"}',
        'event["eventName"] not in ("GetUser",) and event["eventName"] is not None',
        'event.get("errorCode") is None and "errorCode" not in event',
        'int(event["recipientAccountId"][:3]) - 200 == +10 and float("1.5") > -1',
        'abs(-3) == 3 and min([3, 1]) == 1 and max(2, 5) == 5 and sorted("cba")[0] == "a"',
        'str(len(event["eventName"])) + "!" == "10!"',
        'any([event["eventName"] == "x", True]) and all((True, event["eventName"] == "CreateUser"))',
        'event["requestParameters.userName"] == "break-glass-2"'
        ' and event.get("userIdentity.type", "") == "Root"',
    ],
)
def test_allowed_constructs_evaluate_like_python_on_the_flat_record(rule: str) -> None:
    event = load("root_create_user")
    reference = eval(rule, {}, {"event": flatten_json(event)}) is True
    assert reference is True
    assert matches(rule, event) is True


def test_leading_blanks_are_ignored_as_eval_ignores_them() -> None:
    assert matches('  \t event["eventName"] == "CreateUser"', load("root_create_user")) is True


def test_multi_line_rules_in_parentheses_compile() -> None:
    rule = '(event["eventName"] == "CreateUser"\n and event["userIdentity.type"] == "Root")'
    assert matches(rule, load("root_create_user")) is True


def test_rule_errors_propagate_from_matches() -> None:
    with pytest.raises(KeyError) as missing:
        matches('event["nope"] == 1', load("root_create_user"))
    assert str(missing.value) == "'nope'"
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'endswith'"):
        matches('event.get("errorCode", "").endswith("x")', load("access_denied_null_error_code"))
    with pytest.raises(TypeError):
        matches('event["eventName"] < 1', load("root_create_user"))


def test_is_with_a_literal_compiles_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile_expression('event.get("errorCode") is "x"', setting="RULES")


def test_keys_lists_every_field_the_rule_reads() -> None:
    compiled = compile_expression(
        '"a.b" in event and event["c"] == 1 or event.get("d", event.get("e")) is None', setting="RULES"
    )
    assert compiled.keys == frozenset({"a.b", "c", "d", "e"})
    assert compile_expression("True", setting="RULES").keys == frozenset()


def test_the_compiled_expression_keeps_the_original_text() -> None:
    text = '  event["eventName"] == "X"'
    assert compile_expression(text, setting="RULES").text == text


@pytest.mark.parametrize(
    ("rule", "guards"),
    [
        ('event["eventName"] == "ConsoleLogin"', ["eventName"]),
        ('"ConsoleLogin" == event["eventName"] and event["x"] == 1', ["eventName", "x"]),
        ('event.get("eventName", "") == "A"', ["eventName"]),
        ('"eventName" in event and event["eventName"] in ["A", "B"]', ["eventName", "eventName"]),
        ('event["eventSource"] == "s" and event["eventName"] == "A"', ["eventSource", "eventName"]),
        ('event.get("x") == "y" and not "z" in event and event["eventName"] == "A"', ["x", "z", "eventName"]),
        ('event["eventName"] == "A" or event["eventName"] == "B"', ["eventName"]),
        ('event.get("x") < "b" and event["eventName"] == "A"', ["x", "eventName"]),
        # A conjunct reading two fields ends the guards when it may raise, and is stepped over when not.
        ('event.get("eventName", event["x"]) == "A" and event["y"] == 1', []),
        ('event.get("a") == event.get("b") and event["eventName"] == "A"', ["eventName"]),
        ('[1] in {1} and event["eventName"] == "A"', []),
        # A key through a list index may be a later guard, never the first.
        ('event["requestParameters.items.0.x"] == 1 and event["eventName"] == "A"', []),
        (
            'event["eventName"] == "A" and event["requestParameters.items.0.x"] == 1',
            ["eventName", "requestParameters.items.0.x"],
        ),
        ('event["a..b"] == 1', []),
        (
            'event["a"] == 1 and event["b"] == 2 and event["c"] == 3 and event["d"] == 4 and event["e"] == 5',
            ["a", "b", "c", "d"],
        ),
    ],
)
def test_guards_are_the_leading_conjuncts_that_read_one_field(rule: str, guards: list[str]) -> None:
    found = compile_expression(rule, setting="RULES").guards
    assert [guard.key for guard in found] == guards
