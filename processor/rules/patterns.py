"""Recognise the three shapes through which a rule may read the event.

Shared by the validator (which accepts them), the lowering (which replaces them with lookups)
and the index analysis (which reads eventName/eventSource tests), so all three agree on what
"an event access" is.
"""

from __future__ import annotations

import ast
from collections.abc import Collection

EVENT = "event"
_EVENT_ONLY = (EVENT,)

# Each function takes `names`, the names that stand for a record: `event`, and for the checker
# and the lowering also the loop variables of quantifiers over event.objects(...) (language.py).


def is_event(node: ast.AST, names: Collection[str] = _EVENT_ONLY) -> bool:
    """True for the bare name `event` (or another of `names`)."""
    return isinstance(node, ast.Name) and node.id in names


def str_literal(node: ast.AST | None) -> str | None:
    """The value of a string literal, else None."""
    if isinstance(node, ast.Constant) and type(node.value) is str:
        return node.value
    return None


def subscript_key(node: ast.AST, names: Collection[str] = _EVENT_ONLY) -> str | None:
    """ "k" for `event["k"]`."""
    if isinstance(node, ast.Subscript) and is_event(node.value, names):
        return str_literal(node.slice)
    return None


def is_event_get(node: ast.AST, names: Collection[str] = _EVENT_ONLY) -> bool:
    """True for any call of the form `event.get(...)`, well-formed or not."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and is_event(node.func.value, names)
    )


def is_record_method(node: ast.AST, names: Collection[str] = _EVENT_ONLY) -> bool:
    """True for `event.values(...)`, `event.objects(...)` and `event.text(...)`, which read a
    subtree of the record."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("values", "objects", "text")
        and is_event(node.func.value, names)
    )


def get_key(node: ast.AST, names: Collection[str] = _EVENT_ONLY) -> str | None:
    """ "k" for `event.get("k")` and `event.get("k", default)`."""
    if is_event_get(node, names) and not node.keywords and 1 <= len(node.args) <= 2:  # type: ignore[attr-defined]
        return str_literal(node.args[0])  # type: ignore[attr-defined]
    return None


def contains_key(node: ast.AST, names: Collection[str] = _EVENT_ONLY) -> str | None:
    """ "k" for `"k" in event` and `"k" not in event`."""
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.In | ast.NotIn)
        and is_event(node.comparators[0], names)
    ):
        return str_literal(node.left)
    return None


def read_key(node: ast.AST, names: Collection[str] = _EVENT_ONLY) -> str | None:
    """The flat key of `event["k"]` or `event.get("k"[, d])`: expressions whose value is a field."""
    key = subscript_key(node, names)
    return key if key is not None else get_key(node, names)
