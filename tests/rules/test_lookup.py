"""Flat keys read from nested records mean exactly what they mean in the flattened record."""

from __future__ import annotations

from typing import Any

import pytest

from processor.rules.lookup import MISSING, KeyPath, is_canonical_index, resolve
from tests.rules.helpers import all_fixtures, flatten_json, load

FIXTURES = all_fixtures()


def container_keys(record: Any, name: str = "") -> list[str]:
    """Flat names of every dict and list in a record: flatten produces none of them."""
    found: list[str] = []
    if isinstance(record, dict):
        items = [(key, child) for key, child in record.items()]
    elif isinstance(record, list):
        items = [(str(position), child) for position, child in enumerate(record)]
    else:
        return found
    for key, child in items:
        if isinstance(child, dict | list):
            path = name + key
            found.append(path)
            found.extend(container_keys(child, path + "."))
    return found


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_flat_key_of_a_fixture_resolves_to_the_same_object(name: str) -> None:
    record = FIXTURES[name]
    for key, value in flatten_json(record).items():
        assert resolve(record, key) is value, key


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_keys_naming_dicts_or_lists_are_missing_like_in_the_flattened_record(name: str) -> None:
    record = FIXTURES[name]
    flat = flatten_json(record)
    for key in container_keys(record):
        if key not in flat:
            assert resolve(record, key) is MISSING, key


@pytest.mark.parametrize(
    "key",
    [
        "resources.00.type",
        "resources.-1.type",
        "resources.+1.type",
        "resources. 1.type",
        "resources.2.type",
        "resources.1.type.",
        "resources..1.type",
        ".eventName",
        "eventName.",
        "eventName.0",
        "",
        ".",
        "requestParameters.key.csv",
        "errorCode",
        "userIdentity.type.x",
        "resources.٣.type",
    ],
)
def test_non_canonical_or_absent_keys_are_missing(key: str) -> None:
    record = load("root_get_object")
    assert key not in flatten_json(record)
    assert resolve(record, key) is MISSING


def test_list_items_are_reached_by_canonical_index() -> None:
    record = load("root_get_object")
    assert resolve(record, "resources.1.ARN") == "arn:aws:s3:::acme-finance-exports"
    assert resolve(record, "resources.0.type") == "AWS::S3::Object"


def test_a_dict_key_named_like_an_index_is_an_ordinary_key() -> None:
    record = load("lambda_update_own_function_code")
    assert resolve(record, "responseElements.architectures.0") == "arm64"


def test_null_leaves_exist_and_hold_none() -> None:
    record = load("console_login_iam_user_no_mfa")
    assert record["requestParameters"] is None
    assert resolve(record, "requestParameters") is None
    assert resolve(load("ec2_create_tags_nested_lists"), "requestParameters.tagSet.items.1.value") is None


def test_the_string_null_is_a_string() -> None:
    assert resolve(load("access_denied"), "requestParameters") == "null"


def test_keys_containing_dots_resolve_through_the_slow_path() -> None:
    record = load("eks_dotted_keys")
    assert resolve(record, "requestParameters.labels.app.kubernetes.io/name") == "checkout"
    assert resolve(record, "requestParameters.tags.cost.center") == "cc-4410"
    # {"a": {"b": {}}} produces nothing, so only the key "a.b" spells this flat key.
    assert resolve(record, "requestParameters.a.b") == "dotted-leaf"
    assert resolve(record, "requestParameters.a") is MISSING


def test_a_record_with_the_same_flat_key_spelled_twice_takes_the_later_spelling_on_the_slow_path() -> None:
    # Both "x.y" spellings are dotted keys, so the fast path finds neither and the exact path decides.
    record = {"p": {"x.y": {"z": 1}, "x": {"y.z": 2}}}
    assert flatten_json(record) == {"p.x.y.z": 2}
    assert resolve(record, "p.x.y.z") == 2
    reordered = {"p": {"x": {"y.z": 2}, "x.y": {"z": 1}}}
    assert resolve(reordered, "p.x.y.z") == flatten_json(reordered)["p.x.y.z"] == 1


def test_documented_divergence_the_plain_spelling_wins_a_collision() -> None:
    record = {"a": {"b": 1}, "a.b": 2}
    assert flatten_json(record) == {"a.b": 2}
    assert resolve(record, "a.b") == 1  # accepted divergence, see lookup.py


def test_dotted_keys_inside_lists_resolve() -> None:
    record = {"items": [{"k.v": "x"}, {"k": {"v": "y"}}]}
    flat = flatten_json(record)
    for key in ("items.0.k.v", "items.1.k.v"):
        assert resolve(record, key) == flat[key]


def test_keypath_splits_once_and_resolves_like_resolve() -> None:
    path = KeyPath("userIdentity.sessionContext.attributes.mfaAuthenticated")
    assert path.segments == ("userIdentity", "sessionContext", "attributes", "mfaAuthenticated")
    record = load("access_denied")
    assert path.resolve(record) == resolve(record, path.key) == "false"


def test_a_non_dict_record_has_no_keys() -> None:
    assert resolve(None, "a") is MISSING
    assert resolve("text", "a") is MISSING
    assert resolve([{"a": 1}], "0.a") == 1  # a list record flattens by index too


def test_missing_is_falsy_and_prints_its_name() -> None:
    assert not MISSING
    assert repr(MISSING) == "MISSING"


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("0", True),
        ("7", True),
        ("10", True),
        ("00", False),
        ("01", False),
        ("-1", False),
        ("+1", False),
        ("", False),
        (" 1", False),
        ("1 ", False),
        ("٣", False),
        ("²", False),
    ],
)
def test_canonical_index_is_what_str_of_an_int_gives(segment: str, expected: bool) -> None:
    assert is_canonical_index(segment) is expected
