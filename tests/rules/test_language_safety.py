"""Rules outside the safe subset are refused at start, with the setting, the rule and the reason."""

from __future__ import annotations

import pytest

from processor.errors import ConfigError, RuleError
from processor.rules.language import MAX_DEPTH, MAX_NODES, MAX_RULE_LENGTH, compile_expression

UNSAFE: list[tuple[str, str]] = [
    # reaching the interpreter
    ('__import__("os")', "calls to '__import__' are not allowed"),
    ('__import__("os").system("id")', "calls to '__import__' are not allowed"),
    ("__builtins__", "name '__builtins__' is not allowed"),
    ('os.system("id")', "name 'os' is not allowed; only 'event'"),
    ('open("/etc/passwd").read()', "calls to 'open' are not allowed"),
    ('getattr(event, "get")', "calls to 'getattr' are not allowed"),
    ("globals()", "calls to 'globals' are not allowed"),
    ('locals()["event"]', "calls to 'locals' are not allowed"),
    ("vars()", "calls to 'vars' are not allowed"),
    ('eval("1")', "calls to 'eval' are not allowed"),
    ('exec("1")', "calls to 'exec' are not allowed"),
    ('compile("1", "", "eval")', "calls to 'compile' are not allowed"),
    ("type(event)", "calls to 'type' are not allowed"),
    ("breakpoint()", "calls to 'breakpoint' are not allowed"),
    ("_item_0(event)", "calls to '_item_0' are not allowed"),
    ("_replace", "name '_replace' is not allowed"),
    # walking the object graph
    ("().__class__.__bases__", "attribute '__bases__' is not allowed"),
    ("[].__class__.__base__.__subclasses__()", "attribute '__subclasses__' is not allowed"),
    ("event.__class__", "attribute '__class__' is not allowed"),
    ("event.get.__self__", "attribute '__self__' is not allowed"),
    ('event.get("eventName").__class__', "attribute '__class__' is not allowed"),
    ('"x".upper.__call__()', "attribute '__call__' is not allowed"),
    ('"{0.__class__}".format(event)', "method 'format' is not allowed"),
    ('"{x}".format_map(event)', "method 'format_map' is not allowed"),
    ('"a".encode()', "method 'encode' is not allowed"),
    ('"a".translate(1)', "method 'translate' is not allowed"),
    ('"a".join(["b"])', "method 'join' is not allowed"),
    ('"a".zfill(999999999)', "method 'zfill' is not allowed"),
    ('"abc".upper', "attribute 'upper' is not allowed; attributes can only be method calls"),
    ('str.upper("a")', "builtin 'str' can only be called"),
    ("len", "builtin 'len' can only be called"),
    # event used as a whole
    ("event", "'event' cannot be used on its own"),
    ("(event)", "'event' cannot be used on its own"),
    ("not event", "'event' cannot be used on its own"),
    ('[event][0]["eventName"] == 1', "'event' cannot be used on its own"),
    ("str(event)", "'event' cannot be passed to str()"),
    ("len(event) > 0", "'event' cannot be passed to len()"),
    ("any(event)", "'event' cannot be passed to any()"),
    ('"a".startswith(event)', "'event' cannot be passed to .startswith()"),
    ('event.get("a", event)', "'event' cannot be passed to event.get()"),
    ("event == {}", "'event' can only be used as"),
    ('event in ["x"]', "'event' can only be used as"),
    ('"a" in event in event', "'event' can only be used as"),
    ("1 in event", 'the left side of "in event" must be a string literal'),
    ("event.keys()", "'event.keys' is not allowed"),
    ('event.pop("eventName")', "'event.pop' is not allowed"),
    ("event.get", "event.get must be called"),
    ("event[0]", 'event keys must be string literals: event["key"]'),
    ("event[1:2]", 'event keys must be string literals: event["key"]'),
    ('event["a" + "b"]', 'event keys must be string literals: event["key"]'),
    ("event.get(1)", "event.get takes a string literal key"),
    ('event.get("a", "b", "c")', "event.get takes a string literal key"),
    ('event.get(key="eventName")', "keyword arguments are not allowed"),
    # other constructs
    ("[x for x in ()]", "comprehensions are not allowed"),
    ("{x for x in ()}", "comprehensions are not allowed"),
    ("{k: 1 for k in ()}", "comprehensions are not allowed"),
    ('sorted(x for x in "ab")', "a generator expression is only allowed as the argument of any() or all()"),
    ("lambda: 1", "lambda is not allowed"),
    ("(lambda e: e)(1)", "lambda is not allowed"),
    ("(x := 1)", "assignment expressions (:=) are not allowed"),
    ('f"{event}"', "f-strings are not allowed"),
    ('f"{1!r:>{10}}"', "f-strings are not allowed"),
    ('"a" * 10**9', "operator '*' is not allowed; only + and -"),
    ("2 ** 10 ** 9", "operator '**' is not allowed; only + and -"),
    ("1 / 0", "operator '/' is not allowed"),
    ('"%s" % "x"', "operator '%' is not allowed"),
    ("~1", "operator '~' is not allowed"),
    ("sorted([3, 1], reverse=True)", "keyword arguments are not allowed"),
    ("max(*[1, 2])", "unpacking with * is not allowed"),
    ('[*"abc"]', "unpacking with * is not allowed"),
    ('{"a": 1}', "dict displays are not allowed"),
    ('b"x" == b"x"', "bytes literals are not allowed"),
    ("1j == 1j", "complex literals are not allowed"),
    ('any("abc")', "any() takes one literal list, tuple or set"),
    ("all()", "all() takes one literal list, tuple or set"),
    ('event["a"]["b"]', "values can only be indexed with integer literals"),
    ('"abc"[len("a")]', "values can only be indexed with integer literals"),
    ('"abc"[0:len("a")]', "values can only be indexed with integer literals"),
    ('"x"(1)', "only the builtins"),
    ('len("a")("b")', "only the builtins"),
    ("import os", "invalid syntax"),
    ("1; 2", "invalid syntax"),
    ("", "the rule is empty"),
    ("   ", "the rule is empty"),
]


def test_the_battery_is_large() -> None:
    assert len(UNSAFE) >= 30


@pytest.mark.parametrize(("rule", "reason"), UNSAFE, ids=[rule or "<empty>" for rule, _ in UNSAFE])
def test_unsafe_rule_is_refused_with_a_precise_reason(rule: str, reason: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_expression(rule, setting="RULES")
    error = caught.value
    assert isinstance(error, ConfigError)
    assert error.setting == "RULES"
    assert error.rule == rule
    assert reason in error.reason
    assert str(error).startswith(f"RULES: rule {rule!r} rejected: ")


def test_the_error_names_the_setting_it_came_from() -> None:
    with pytest.raises(RuleError) as caught:
        compile_expression("open('x')", setting="IGNORE_RULES")
    assert caught.value.setting == "IGNORE_RULES"


def test_syntax_errors_say_where() -> None:
    with pytest.raises(RuleError, match="invalid syntax at the end of the rule"):
        compile_expression('event["eventName"] ==', setting="RULES")
    with pytest.raises(RuleError, match="invalid syntax at column 3"):
        compile_expression("a b", setting="RULES")


def test_overlong_rules_are_refused() -> None:
    rule = '"a" == "' + "a" * MAX_RULE_LENGTH + '"'
    with pytest.raises(RuleError, match="longer than"):
        compile_expression(rule, setting="RULES")


def test_deeply_nested_rules_are_refused() -> None:
    rule = "not " * (MAX_DEPTH + 5) + "True"
    with pytest.raises(RuleError, match="nested more than"):
        compile_expression(rule, setting="RULES")


def test_rules_with_too_many_elements_are_refused() -> None:
    rule = "1 in [" + ", ".join(["1"] * MAX_NODES) + "]"
    with pytest.raises(RuleError, match="more than"):
        compile_expression(rule, setting="RULES")


def test_compiled_rules_run_without_python_builtins() -> None:
    compiled = compile_expression('len(event.get("eventName", "")) > 0', setting="RULES")
    namespace = compiled.matches.__globals__  # type: ignore[attr-defined]
    assert namespace["__builtins__"] == {}
    exposed = {name for name in namespace if not name.startswith("_")}
    assert exposed == {"abs", "all", "any", "bool", "float", "int", "len", "max", "min", "sorted", "str"}


def test_replace_cannot_build_huge_strings() -> None:
    compiled = compile_expression('event["k"].replace("", event["k"]).startswith("x")', setting="RULES")
    with pytest.raises(ValueError, match="the limit is"):
        compiled.matches({"k": "y" * 5000})
    assert compiled.matches({"k": "xy"}) is True
