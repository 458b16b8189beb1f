"""Classifying many string values of a field at once decides exactly what one at a time does.

The Skipper (processor/partial/skip.py) classifies the new values of a guarded field in bulk when
every guard on it is a plain string test (guards.str_test): `startswith`, `endswith`, `==`,
`!=`, `in`, `not in` against constants. These must give every value the class the guard
functions themselves give it, for every rule set we ship or test with.
"""

from __future__ import annotations

import ast
import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import userrules
from processor.rules import build_ruleset
from processor.rules.guards import str_test
from tests.rules.helpers import FUNCTION_NAME
from tests.rules.test_differential import CUSTOM_RULES

SEPARATOR = "\x1f"
EXTRA = [  # shapes the others do not have: tuples of prefixes, non-string constants, not in, sets
    'event.get("sourceIPAddress", "").startswith(("10.", "192.168."))',
    'event.get("awsRegion") == 7 and event["eventName"] == "X"',
    'event.get("awsRegion") != None and event["eventName"] == "Y"',
    'event["userAgent"] not in {"aws-cli", 3, None} and event["eventName"] == "Z"',
    'event.get("errorCode", "x").endswith("Denied") and event.get("errorCode") in ("AccessDenied", 1)',
    '"assumed" not in event.get("userIdentity.arn", "") and event["eventName"] == "W"',
    '"role/" in event["userIdentity.arn"] and event["eventName"] == "V"',
    'event["eventSource"] == "a" or event["eventSource"] in ["b", 3] or event["eventSource"] == 4',
]
CONFIGS = {
    "defaults": {},
    "user rules": {
        "rules": SEPARATOR.join(userrules.USER_RULES),
        "ignore_rules": SEPARATOR.join(userrules.IGNORE_RULES),
    },
    "odd rules": {"rules": SEPARATOR.join(CUSTOM_RULES + EXTRA)},
    "pack": {"use_detection_pack": True},
}


@functools.cache
def _ruleset_of(config: str):
    """Built once per configuration (the pack's 40 rules take a while to compile)."""
    return _ruleset(CONFIGS[config])


def _ruleset(config: dict[str, object]):
    options = {"rules": None, "ignore_rules": None, "events_to_track": "StopLogging,CreateUser", **config}
    return build_ruleset(separator=SEPARATOR, function_name=FUNCTION_NAME, **options)


def _literals(ruleset) -> list[str]:
    found: set[str] = set()
    for rule in (*ruleset.rules, *ruleset.ignore_rules):
        for node in ast.walk(ast.parse(rule.ref.expression.strip(), mode="eval")):
            if isinstance(node, ast.Constant) and type(node.value) is str:
                found.add(node.value)
    return sorted(found)


@pytest.mark.parametrize("config", list(CONFIGS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_bulk_string_classes_equal_one_at_a_time(config: str, data: st.DataObject) -> None:
    ruleset = _ruleset_of(config)
    selector = ruleset.selector
    literals = _literals(ruleset)
    text = st.one_of(st.sampled_from(literals), st.text(max_size=6))
    value = st.one_of(text, st.builds(lambda a, b, c: a + b + c, text, text, text))
    bulk_fields = [n for n in range(len(selector.fields)) if selector.string_classifier(n) is not None]
    assert bulk_fields or config == "defaults" and not selector.fields
    for number in bulk_fields:
        classify_all = selector.string_classifier(number)
        for _ in range(3):  # later calls reuse what earlier ones learned (results -> class)
            values = data.draw(st.lists(value, min_size=1, max_size=30))
            one_at_a_time = [selector.classifier(number)(v) for v in values]
            assert classify_all(values) == one_at_a_time, selector.fields[number]


def test_plain_string_tests_are_recognised_and_others_are_not() -> None:
    def shape(rule: str, key: str):
        return str_test(ast.parse(rule, mode="eval").body, key)

    assert shape('event.get("a", "").startswith("x")', "a") == ("startswith", "x")
    assert shape('event["a"].endswith(("x", "y"))', "a") == ("endswith", ("x", "y"))
    assert shape('event.get("a") == 1', "a") == ("eq", 1)
    assert shape('event["a"] not in ["x", 2]', "a") == ("not in", frozenset({"x"}))
    assert shape('"x" not in event.get("a", "")', "a") == ("not contains", "x")
    assert shape('"x" in event.get("a", 7)', "a") == ("contains", "x")  # the default is never a string's
    assert shape('event["a"] == "x" or event["a"] in ("y", None)', "a") == ("in", frozenset({"x", "y"}))
    for other in (
        'event.get("a", event["b"]).startswith("x")',  # a default that is not a constant
        'event.get("a", "").lower() == "x"',  # a call on the way
        'event.get("a", "").startswith(event["b"])',
        '"a" in event',
        'event.get("a") < "m"',
        'event.get("a", "").startswith("x", 2)',
        'event["a"] == "x" or event["a"].startswith("y")',  # an `or` of other tests
        'event["a"] != "x" or event["a"] == "y"',
    ):
        assert shape(other, "a") is None, other
