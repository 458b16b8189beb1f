"""Read one flat key ("userIdentity.arn") from a nested CloudTrail record, without flattening it.

The reference flattened every record before evaluating rules: dict keys joined with ".", list
items named "0", "1", ..., and only leaves (str, int, float, bool, None) kept, so a key that
names a dict or a list, even an empty one, does not exist. Flattening a whole record costs more
than parsing it, and a rule reads two or three keys, so this module resolves those keys lazily
with the same meaning:

* Fast path: split the key on "." and walk dicts by key and lists by canonical index
  ("0", "7", never "00", "-1" or "+1").
* Slow path, only when the fast path finds nothing or stops on a dict/list: a dict key may itself
  contain dots (requestParameters {"a.b": 1} flattens to "requestParameters.a.b"), so at each
  dict every dotted prefix of the rest of the key is tried. When several spellings resolve,
  the one flatten would have written last (dict order, depth first) wins, exactly as flatten does.

Accepted divergence: when the fast path succeeds it wins, even if another spelling of the same
flat key also exists later in the record. Example: {"a": {"b": 1}, "a.b": 2} flattens to
{"a.b": 2} but resolves to 1 here. Real CloudTrail records do not hold such collisions; detecting
them would mean scanning every dict on every lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "MISSING",
    "KeyPath",
    "accessors",
    "is_canonical_index",
    "through_list",
    "resolve",
    "resolve_path",
    "resolver",
    "value_accessors",
]


class _Missing:
    """Type of MISSING: what a key that flatten would not have produced resolves to."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()


def is_canonical_index(segment: str) -> bool:
    """True for the names flatten gives list items: "0", "1", ..., no sign, no leading zero."""
    if segment == "0":
        return True
    return segment.isascii() and segment.isdigit() and segment[0] != "0"


def through_list(key: str) -> bool:
    """True when a segment of `key` (after the first) could index a list ("items.0.x")."""
    return any(is_canonical_index(segment) for segment in key.split(".")[1:])


def resolve(record: Any, key: str) -> Any:
    """The value flatten(record)[key] would hold, or MISSING. Splits the key on each call."""
    return resolve_path(record, key, tuple(key.split(".")))


def resolve_path(record: Any, key: str, segments: tuple[str, ...]) -> Any:
    """resolve() with `segments == tuple(key.split("."))` computed once by the caller."""
    node = record
    for segment in segments:
        if isinstance(node, dict):
            node = node.get(segment, MISSING)
            if node is MISSING:
                break
        elif isinstance(node, list):
            if not is_canonical_index(segment):
                node = MISSING
                break
            position = int(segment)
            if position >= len(node):
                node = MISSING
                break
            node = node[position]
        else:
            node = MISSING
            break
    else:
        if not isinstance(node, dict | list):
            return node
    if len(segments) == 1:  # a key without dots has no other spelling: the common "field absent" case
        return MISSING
    return _resolve_exact(record, key)


def _resolve_exact(node: Any, rest: str) -> Any:
    """Slow path: try every way of splitting `rest` into dict keys; the last one in flatten order wins."""
    if isinstance(node, list):
        head, dot, tail = rest.partition(".")
        if not is_canonical_index(head) or int(head) >= len(node):
            return MISSING
        child = node[int(head)]
        return _leaf_or_descend(child, tail, bool(dot))
    if not isinstance(node, dict):
        return MISSING
    found: list[tuple[str, Any]] = []
    start = 0
    while True:
        dot_at = rest.find(".", start)
        prefix = rest if dot_at < 0 else rest[:dot_at]
        if prefix in node:
            value = _leaf_or_descend(node[prefix], rest[dot_at + 1 :], dot_at >= 0)
            if value is not MISSING:
                found.append((prefix, value))
        if dot_at < 0:
            break
        start = dot_at + 1
    if not found:
        return MISSING
    if len(found) == 1:
        return found[0][1]
    order = {name: position for position, name in enumerate(node)}
    return max(found, key=lambda pair: order[pair[0]])[1]


def _leaf_or_descend(child: Any, tail: str, has_tail: bool) -> Any:
    if has_tail:
        return _resolve_exact(child, tail)
    return MISSING if isinstance(child, dict | list) else child


_CONTAINERS = (dict, list)


def resolver(key: str, segments: tuple[str, ...]) -> Callable[[Any], Any]:
    """A function equal to `resolve_path(·, key, segments)`, specialised for the common shapes.

    Rules read mostly "eventName" or "userIdentity.type": one or two segments through plain
    dicts. For those the walk is inlined, and a miss is settled with one `in` test (the only
    other spelling of "a" or "a.b" that flatten could have written is the top-level key "a.b");
    anything else (lists, nodes that are not dicts, deeper keys) goes to resolve_path.
    """
    if len(segments) == 1:

        def resolve_one(record: Any) -> Any:
            if type(record) is dict:
                value = record.get(key, MISSING)
                return MISSING if isinstance(value, _CONTAINERS) else value
            return resolve_path(record, key, segments)

        return resolve_one
    if len(segments) == 2:
        first, second = segments

        def resolve_two(record: Any) -> Any:
            if type(record) is dict:
                node = record.get(first, MISSING)
                if type(node) is dict:
                    value = node.get(second, MISSING)
                    if value is MISSING:
                        if key not in record:
                            return MISSING
                    elif not isinstance(value, _CONTAINERS):
                        return value
                elif node is MISSING and key not in record:
                    return MISSING
            return resolve_path(record, key, segments)

        return resolve_two
    return lambda record: resolve_path(record, key, segments)


class KeyPath:
    """A flat key with its segments split once, at rule compile time."""

    __slots__ = ("key", "segments", "resolve")

    def __init__(self, key: str) -> None:
        self.key = key
        self.segments = tuple(key.split("."))
        # The value flatten(record)[self.key] would hold, or MISSING.
        self.resolve: Callable[[Any], Any] = resolver(key, self.segments)

    def __repr__(self) -> str:
        return f"KeyPath({self.key!r})"


# --- The accessors a compiled rule calls: event[key], event.get(key, default), key in event ---


def accessors(path: KeyPath) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., bool]]:
    """`event[key]`, `event.get(key, default)` and `key in event` for one precomputed key.

    Each behaves as the same operation on the flattened record: a missing key raises
    KeyError(key), returns the default, or is not "in" the event. They call the key's
    specialised resolver (see lookup.resolver): these run for every rule on every record.
    """
    key, find = path.key, path.resolve
    if len(path.segments) == 1:
        return _top_level_accessors(key, find)

    def item(event: Any) -> Any:
        value = find(event)
        if value is MISSING:
            raise KeyError(key)
        return value

    def get(event: Any, default: Any = None) -> Any:
        value = find(event)
        return default if value is MISSING else value

    def contains(event: Any) -> bool:
        return find(event) is not MISSING

    return item, get, contains


def _top_level_accessors(
    key: str, find: Callable[[Any], Any]
) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., bool]]:
    """`accessors` for a key without dots ("eventName", "errorCode"), the lookup inlined.

    On a dict record such a key has one spelling only: present with a leaf value, or missing
    (a dict or list value is not a field of the flattened record); other records go to `find`.
    """

    def item(event: Any) -> Any:
        if type(event) is dict:
            value = event.get(key, MISSING)
            if value is MISSING or isinstance(value, _CONTAINERS):
                raise KeyError(key)
            return value
        value = find(event)
        if value is MISSING:
            raise KeyError(key)
        return value

    def get(event: Any, default: Any = None) -> Any:
        if type(event) is dict:
            value = event.get(key, MISSING)
            return default if value is MISSING or isinstance(value, _CONTAINERS) else value
        value = find(event)
        return default if value is MISSING else value

    def contains(event: Any) -> bool:
        if type(event) is dict:
            value = event.get(key, MISSING)
            return value is not MISSING and not isinstance(value, _CONTAINERS)
        return find(event) is not MISSING

    return item, get, contains


def value_accessors(key: str) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., bool]]:
    """`accessors` for a rule part that reads only `key`, called with the key's resolved value.

    A guard (see guards.py) reads one field; evaluating it on that field's value directly, rather
    than on a record built to hold the value, makes classifying a new value a few calls.
    """

    def item(value: Any) -> Any:
        if value is MISSING:
            raise KeyError(key)
        return value

    def get(value: Any, default: Any = None) -> Any:
        return default if value is MISSING else value

    def contains(value: Any) -> bool:
        return value is not MISSING

    return item, get, contains
