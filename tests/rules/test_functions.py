"""The rule language's lists, subtrees, patterns and networks (issue 18; docs/rules.md)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from processor.errors import RuleError
from processor.rules.language import compile_expression

RECORD: dict[str, Any] = {
    "eventName": "AuthorizeSecurityGroupIngress",
    "sourceIPAddress": "10.1.2.3",
    "userAgent": "python-requests/2.31",
    "requestParameters": {
        "ipPermissions": {
            "items": [
                {"fromPort": 22, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}, {"cidrIp": "0.0.0.0/0"}]}},
                {"fromPort": 443, "ipRanges": {"items": [{"cidrIp": "192.168.0.0/16"}]}},
                {"fromPort": 80, "ipRanges": {}},
            ]
        },
        "tags": {"team": "red", "owner": {"name": "x"}, "empty": []},
        "a.b": "dotted",
        "policy": '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["123456789012", "*"]}}]}',
    },
}


def matches(rule: str, record: dict[str, Any] = RECORD) -> bool:
    return compile_expression(rule, setting="RULES").matches(record)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "requestParameters.ipPermissions.items.*.ipRanges.items.*.cidrIp",
            ["10.0.0.0/8", "0.0.0.0/0", "192.168.0.0/16"],
        ),
        ("requestParameters.ipPermissions.items.*.fromPort", [22, 443, 80]),
        ("requestParameters.ipPermissions.items.1.fromPort", [443]),
        ("requestParameters.tags.*", ["red"]),  # an object member that is an object or a list is no leaf
        ("requestParameters.tags", []),  # a key naming an object is not a leaf
        ("requestParameters.tags.*.name", ["x"]),
        ("requestParameters.a.b", ["dotted"]),  # without *, exactly the flat key's value
        ("requestParameters.missing.*", []),
        ("eventName", ["AuthorizeSecurityGroupIngress"]),
    ],
)
def test_values_at_a_wildcard_path(path: str, expected: list[Any]) -> None:
    assert matches(f"event.values({path!r}) == {expected!r}")


def test_any_and_all_over_a_list() -> None:
    cidrs = '"requestParameters.ipPermissions.items.*.ipRanges.items.*.cidrIp"'
    assert matches(f'any(v == "0.0.0.0/0" for v in event.values({cidrs}))')
    assert not matches(f'all(v == "0.0.0.0/0" for v in event.values({cidrs}))')
    assert matches(
        f'all(v.endswith("/8") or v.endswith("/16") or v.endswith("/0") for v in event.values({cidrs}))'
    )
    assert matches(
        f'any(in_cidr(v.split("/")[0], "192.168.0.0/16") for v in event.values({cidrs}) if "/" in v)'
    )


def test_all_over_no_values_is_true_as_in_python_and_the_documented_guard_makes_it_false() -> None:
    assert matches('all(v == "x" for v in event.values("requestParameters.nothing.*"))')
    guarded = 'len(event.values("requestParameters.nothing.*")) > 0 and all(v == "x" for v in event.values("requestParameters.nothing.*"))'
    assert not matches(guarded)


def test_nested_quantifiers_over_a_policy_document() -> None:
    rule = (
        'any(any(p == "*" for p in json_values(d, "Statement.*.Principal.AWS.*"))'
        ' for d in event.values("requestParameters.policy"))'
    )
    assert matches(rule)
    # A list is not a leaf: the path to the list itself gives nothing, its elements are at ".*".
    assert matches('json_values(event["requestParameters.policy"], "Statement.*.Principal.AWS") == []')


def test_a_failing_test_inside_a_quantifier_is_a_rule_error() -> None:
    with pytest.raises(AttributeError):
        matches(
            'any(v.startswith("1") for v in event.values("requestParameters.ipPermissions.items.*.fromPort"))'
        )


def test_quantifiers_over_objects_test_fields_of_one_element_together() -> None:
    items = '"requestParameters.ipPermissions.items.*"'
    # Port 22 is open to 10.0.0.0/8 and 0.0.0.0/0; port 443 to 192.168.0.0/16 only.
    assert matches(
        f'any(o.get("fromPort") == 22 and "0.0.0.0/0" in o.values("ipRanges.items.*.cidrIp") for o in event.objects({items}))'
    )
    assert not matches(
        f'any(o.get("fromPort") == 443 and "0.0.0.0/0" in o.values("ipRanges.items.*.cidrIp") for o in event.objects({items}))'
    )
    assert matches(f'all("fromPort" in o and o["fromPort"] > 0 for o in event.objects({items}))')
    assert matches(f'any(o.text("ipRanges") == "{{}}" for o in event.objects({items}))')


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Principal": "*"},
        [{"Effect": "Deny", "Principal": "x"}, {"Effect": "Allow", "Principal": "*"}],
    ],
    ids=["one statement as an object", "statements as a list"],
)
def test_objects_at_a_list_or_an_object(statement: Any) -> None:
    rule = 'any(s.get("Effect") == "Allow" and s.get("Principal") == "*" for s in event.objects("policy.Statement"))'
    assert matches(rule, {"policy": {"Statement": statement}})


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("requestParameters.tags", '{"team":"red","owner":{"name":"x"},"empty":[]}'),
        ("requestParameters.tags.empty", "[]"),
        ("requestParameters.tags.team", '"red"'),
        ("requestParameters.ipPermissions.items.1.fromPort", "443"),
    ],
)
def test_text_of_a_subtree(key: str, expected: str) -> None:
    assert matches(f"event.text({key!r}) == {expected!r}")


def test_text_is_none_when_absent_and_serves_contains() -> None:
    assert matches('event.text("requestParameters.nothing") is None')
    assert matches('"0.0.0.0/0" in event.text("requestParameters.ipPermissions")')


POLICY = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}},
        {"Principal": "*"},
    ]
}


@pytest.mark.parametrize(
    "text",
    [
        orjson.dumps(POLICY).decode(),
        quote(orjson.dumps(POLICY).decode()),
        "  " + orjson.dumps(POLICY).decode(),
    ],
    ids=["json", "url-encoded", "blank first"],
)
def test_json_values_reads_policy_documents(text: str) -> None:
    record = {"requestParameters": {"policyDocument": text}}
    rule = 'json_values(event["requestParameters.policyDocument"], "Statement.*.Principal.AWS") == ["arn:aws:iam::123456789012:root"]'
    assert matches(rule, record)
    assert matches(
        'json_values(event["requestParameters.policyDocument"], "Statement.*.Principal") == ["*"]', record
    )


@pytest.mark.parametrize("text", ["not json", "{broken", "%7Bbroken", "", "42", None, 42, True])
def test_json_values_of_anything_but_a_json_string_is_empty(text: Any) -> None:
    assert matches('json_values(event.get("p"), "Statement.*") == []', {"p": text})


def test_re_search() -> None:
    assert matches('re_search(event.get("userAgent"), "(?i)^PYTHON-requests/")')
    assert not matches('re_search(event.get("userAgent"), "^aws-cli")')
    assert not matches('re_search(event.get("missing"), ".*")')  # not a string: False
    assert not matches('re_search(event.get("requestParameters.ipPermissions.items.0.fromPort"), "2")')


def test_re2_is_linear_where_backtracking_is_not() -> None:
    assert not matches('re_search(event["k"], "^(a+)+$")', {"k": "a" * 50_000 + "!"})


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ('re_search(event.get("a"), "(")', "re_search(): invalid pattern '(': missing )"),
        ('re_search(event.get("a"), "(a)\\\\1")', "invalid pattern"),  # backreferences: not linear
        ('re_search(event.get("a"), event.get("b"))', "re_search() takes a value and a string literal"),
        ('in_cidr(event.get("a"), "10.0.0.1/8")', "in_cidr(): 10.0.0.1/8 has host bits set"),
        ('in_cidr(event.get("a"), "not a network")', "in_cidr(): 'not a network' does not appear to be"),
        ('json_values(event.get("a"), "a..b")', "json_values(): the path 'a..b' has an empty segment"),
        ('event.values("a.*", "b")', "event.values takes one string literal path"),
        ('event.text("a.*")', 'event.text takes a key without "*"'),
        ("any(v for v in [1, 2])", 'any() can only loop over event.values("path"), event.objects("path")'),
        ('any(o for o in event.objects("a"))', "'o' stands for an object: use o[\"key\"]"),
        ('any(o.get("a") for o in event.objects("a")) and o.get("a")', "name 'o' is not allowed"),
        ('any(o.format("a") for o in event.objects("a"))', "'event.format' is not allowed"),
        ('any(v for v in event.values("a") for w in event.values("b"))', "exactly one 'for'"),
        ('any(v for v, w in event.values("a"))', "the loop variable must be one plain name"),
        ('any(v for v in event.values("a") if v if v)', "at most one 'if'"),
        ('any(any(v for v in event.values("b")) for v in event.values("a"))', "already used by an enclosing"),
        ('any(_fuel for _fuel in event.values("a"))', "'_fuel' cannot be a loop variable"),
        ('any(str for str in event.values("a"))', "'str' cannot be a loop variable"),
        ('sorted(v for v in event.values("a"))', "only allowed as the argument of any() or all()"),
        ('[v for v in event.values("a")]', "comprehensions are not allowed"),
        ('v == "x"', "name 'v' is not allowed"),
        ('any(v == "x" for v in event.values("a")) and v == "x"', "name 'v' is not allowed"),
        ('any(v.__class__ for v in event.values("a"))', "attribute '__class__' is not allowed"),
        ('any(event for v in event.values("a"))', "'event' cannot be used on its own"),
    ],
)
def test_refused_at_start_naming_the_rule(rule: str, reason: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_expression(rule, setting="RULES")
    assert caught.value.rule == rule
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("address", "network", "inside"),
    [
        ("10.1.2.3", "10.0.0.0/8", True),
        ("11.1.2.3", "10.0.0.0/8", False),
        ("2001:db8::1", "2001:db8::/32", True),
        ("2001:db9::1", "2001:db8::/32", False),
        ("::ffff:10.0.0.1", "10.0.0.0/8", True),  # IPv4 written as IPv6
        ("10.0.0.1", "::/0", False),
        ("203.0.113.7", "203.0.113.7", True),  # one address
        ("AWS Internal", "10.0.0.0/8", False),
        ("ec2.amazonaws.com", "0.0.0.0/0", False),
        (None, "0.0.0.0/0", False),
        (7, "0.0.0.0/0", False),
    ],
)
def test_in_cidr(address: Any, network: str, inside: bool) -> None:
    assert (
        matches(f'in_cidr(event.get("sourceIPAddress"), {network!r})', {"sourceIPAddress": address}) is inside
    )


def _modules_after(rules: str) -> set[str]:
    script = (
        "import sys\n"
        "from processor.app import build_rules\n"
        "from processor.settings import load_settings\n"
        'env = {"DEFAULT_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:a", "RULES": sys.argv[1],\n'
        '       "RULES_SEPARATOR": "|"}\n'
        "build_rules(load_settings(env))\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, rules], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_re2_loads_only_when_a_rule_uses_re_search() -> None:
    """RE2 costs about 15 ms to import: not on the cold start of a deployment that does not use it."""
    assert "re2" not in _modules_after('event.get("eventName") == "X"')
    assert "re2" in _modules_after('re_search(event.get("eventName"), "^X")')


DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
README = DOCS.parents[1] / "README.md"


def _examples(text: str) -> list[str]:
    """The rules of every ```python block: one per line, or over several lines until it parses."""
    rules: list[str] = []
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        pending = ""
        for line in block.splitlines():
            pending = f"{pending} {line.strip()}".strip()
            try:
                ast.parse(pending, mode="eval")
            except SyntaxError:
                continue
            rules.append(pending)
            pending = ""
        assert not pending, pending
    return rules


@pytest.mark.parametrize("rule", _examples(DOCS.read_text()) + _examples(README.read_text()))
def test_every_example_of_the_language_reference_and_readme_is_accepted(rule: str) -> None:
    record = {**RECORD, "eventSource": "cloudtrail.amazonaws.com"}
    compile_expression(rule, setting="RULES").matches(record)  # runs, whatever it returns


def test_the_reference_covers_every_function_and_record_method() -> None:
    text = DOCS.read_text()
    for name in (
        "event.values(",
        "event.objects(",
        "event.text(",
        "json_values(",
        "json_objects(",
        "re_search(",
        "in_cidr(",
    ):
        assert f"**`{name}" in text, name
    assert "docs/rules.md" in README.read_text()
