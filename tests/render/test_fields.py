"""The shared helpers: lookups never raise, truncation is visible and never splits an entity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.render.fields import MISSING, clip, dig, display, slack_len, to_json, truncate
from processor.render.slack import code_block, escape


def test_dig_follows_dotted_paths_and_falls_back_to_default() -> None:
    data = {"a": {"b": {"c": 1}, "s": "text", "n": None}}
    assert dig(data, "a.b.c") == 1
    assert dig(data, "a.s.x", "d") == "d"  # a string on the way
    assert dig(data, "a.n", "d") == "d"  # an explicit null
    assert dig(data, "missing.path") is None
    assert dig(None, "a") is None
    assert dig(["a"], "0", 5) == 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, MISSING),
        ("", MISSING),
        ("null", "null"),
        (False, "false"),
        (0, "0"),
        (1.5, "1.5"),
        ({"b": 1, "a": [None]}, '{"a":[null],"b":1}'),
    ],
)
def test_display_turns_any_json_value_into_text(value: object, expected: str) -> None:
    assert display(value) == expected


def test_to_json_falls_back_for_integers_orjson_rejects() -> None:
    assert to_json({"n": 2**70}) == '{"n": 1180591620717411303424}'


def test_short_text_is_returned_unchanged() -> None:
    assert truncate("hello", 10) == "hello"


def test_truncated_text_ends_with_a_marker_and_fits() -> None:
    text = "x" * 1000
    result = truncate(text, 100)
    assert len(result) <= 100
    assert result.endswith("… (truncated, 935 more characters)")
    assert result.startswith("x" * 65)


def test_clip_never_splits_an_escape_sequence() -> None:
    for limit in range(0, 30):
        rendered, omitted = clip("a&b<c>d" * 5, limit, escape=escape)
        assert slack_len(rendered) <= limit
        assert escape(("a&b<c>d" * 5)[: 35 - omitted]) == rendered


def test_code_block_marker_is_outside_the_fence_and_within_limit() -> None:
    block = code_block("Request parameters", {"policy": "p" * 10_000}, 3000)
    assert slack_len(block) <= 3000
    assert block.startswith("*Request parameters*\n```\n{")
    assert "\n```\n_… (truncated, " in block


def _clip_one_character_at_a_time(text: str, limit: int, escape_text) -> tuple[str, int]:
    """The obvious definition: add characters while the escaped prefix still fits."""
    used = cut = 0
    for char in text:
        cost = len((escape_text(char) if escape_text else char).encode("utf-16-le")) // 2
        if used + cost > limit:
            break
        used += cost
        cut += 1
    rendered = escape_text(text[:cut]) if escape_text else text[:cut]
    return rendered, len(text) - cut


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab&<>`\n") + ["é", "😀", "中"]), max_size=60),
    limit=st.integers(-3, 70),
    escaped=st.booleans(),
)
def test_clip_cuts_where_adding_one_character_at_a_time_would(text: str, limit: int, escaped: bool) -> None:
    """clip bisects over prefixes; it must find exactly the longest prefix that fits."""
    escape_text = escape if escaped else None
    expected = (
        (escape_text(text) if escape_text else text, 0)
        if slack_len(escape_text(text) if escape_text else text) <= limit
        else _clip_one_character_at_a_time(text, limit, escape_text)
    )
    assert clip(text, limit, escape=escape_text) == expected
