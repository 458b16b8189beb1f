"""The functions a rule calls on lists, subtrees, patterns and networks (see docs/rules.md).

* `event.values("a.*.b")`: the leaf values at a dotted path whose `*` segments match every element
  of a list and every member of an object (what a quantifier iterates over);
* `event.text("a.b")`: the JSON text of the subtree at a key, for "contains" over a document;
* `json_values(text, "Statement.*.Effect")`: the leaf values at a path of a JSON document carried
  as a string (CloudTrail's policy documents, URL-encoded or not);
* `re_search(value, "pattern")`: RE2 (linear time) search, the pattern compiled once at start;
* `in_cidr(value, "10.0.0.0/8")`: an IP address inside a network given at start.

Flatten's meaning holds: only str, int, float, bool and None are leaves, so a path ending on an
object or a list gives no value. Every function here is charged to the evaluation's Budget and
bounded in what it builds (bounded.py).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any, Final

import orjson

from processor.rules.bounded import ELEMENT_COST, MAX_ELEMENTS, Budget, LimitExceeded
from processor.rules.lookup import MISSING, is_canonical_index, resolve_path

__all__ = [
    "WILDCARD",
    "event_values",
    "event_text",
    "event_objects",
    "json_values",
    "json_objects",
    "re_search",
    "in_cidr",
    "regex",
    "network",
    "path_segments",
]

WILDCARD: Final = "*"
PARSE_COST: Final = 2000  # ipaddress parses an address in Python: about 10 microseconds
_CONTAINERS: Final = (dict, list)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def path_segments(path: str) -> tuple[str, ...]:
    """The segments of a path given to event.values/json_values; ValueError when one is empty."""
    segments = tuple(path.split("."))
    if not path or "" in segments:
        raise ValueError(f"the path {path!r} has an empty segment")
    return segments


def event_values(budget: Budget, record: Any, path: str, segments: tuple[str, ...]) -> list[Any]:
    """`event.values(path)`: the leaf values at `path` in the record, in document order.

    Without a `*`, this is the flat key's own value (one element) or nothing, exactly as
    `event.get(path)` reads it, dotted member names included.
    """
    if WILDCARD not in segments:
        budget.spend(len(segments))
        value = resolve_path(record, path, segments)
        return [] if value is MISSING else [value]
    return _walk(budget, record, segments)


def _walk(budget: Budget, root: Any, segments: tuple[str, ...], *, leaves: bool = True) -> list[Any]:
    """The leaves (or with leaves=False, every node) reached from `root` by `segments`: `*` takes
    every element or member, a name a member, a canonical index ("0", "12") a list element.
    Breadth first, one level per segment."""
    nodes = [root]
    for segment in segments:
        following: list[Any] = []
        if segment == WILDCARD:
            for node in nodes:
                if type(node) is list:
                    following.extend(node)
                elif type(node) is dict:
                    following.extend(node.values())
        else:
            for node in nodes:
                if type(node) is dict:
                    child = node.get(segment, MISSING)
                    if child is not MISSING:
                        following.append(child)
                elif type(node) is list and is_canonical_index(segment) and int(segment) < len(node):
                    following.append(node[int(segment)])
        budget.spend(ELEMENT_COST * len(following))
        if len(following) > MAX_ELEMENTS:
            raise LimitExceeded(f"the path reaches more than {MAX_ELEMENTS} values")
        nodes = following
        if not nodes:
            break
    if not leaves:
        return nodes
    return [node for node in nodes if not isinstance(node, _CONTAINERS)]


def event_objects(budget: Budget, record: Any, segments: tuple[str, ...]) -> list[dict[str, Any]]:
    """`event.objects(path)`: the objects at `path` (`*` allowed), for a quantifier that tests
    several fields of one element (a security group rule's range *and* port). A list at the end
    of the path gives its elements that are objects: AWS writes one policy statement as an
    object and several as a list, and `event.objects("...Statement")` reads both."""
    found: list[dict[str, Any]] = []
    for node in _walk(budget, record, segments, leaves=False):
        if type(node) is dict:
            found.append(node)
        elif type(node) is list:
            budget.spend(ELEMENT_COST * len(node))
            found.extend(element for element in node if type(element) is dict)
    return found


def event_text(budget: Budget, record: Any, segments: tuple[str, ...]) -> str | None:
    """`event.text(key)`: the compact JSON text (orjson, members in their order) of whatever the
    record holds at `key` (an object, a list or a leaf), or None when it holds nothing there."""
    node = record
    for segment in segments:
        if type(node) is dict:
            node = node.get(segment, MISSING)
        elif type(node) is list and is_canonical_index(segment) and int(segment) < len(node):
            node = node[int(segment)]
        else:
            node = MISSING
        if node is MISSING:
            return None
    budget.spend(0)
    try:
        text = orjson.dumps(node).decode()
    except (TypeError, orjson.JSONEncodeError) as exc:  # not from JSON: cannot happen for a record
        raise ValueError(f"event.text(): {exc}") from None
    budget.room(len(text), "event.text()")
    return text


def json_objects(budget: Budget, text: Any, segments: tuple[str, ...]) -> list[dict[str, Any]]:
    """`json_objects(text, path)`: the objects at `path` of the JSON document `text`, as
    event.objects reads the record (a list at the end gives its objects), for a quantifier that
    tests several fields of one statement of a policy document."""
    document = _document(budget, text)
    return [] if document is None else event_objects(budget, document, segments)


def json_values(budget: Budget, text: Any, segments: tuple[str, ...]) -> list[Any]:
    """`json_values(text, path)`: the leaves at `path` (`*` allowed) of the JSON document `text`.

    CloudTrail writes some policy documents URL-encoded (`%7B%22Version%22...`): a text that does
    not start with `{` or `[` but holds a `%` is decoded first. Anything that is not a string
    holding JSON gives []. A text over MAX_VALUE characters is a rule error, not [].
    """
    document = _document(budget, text)
    return [] if document is None else _walk(budget, document, segments)


def _document(budget: Budget, text: Any) -> Any:
    """The JSON document in `text` (URL-encoded or not), or None when `text` holds none."""
    if type(text) is not str:
        budget.spend(0)
        return None
    budget.room(len(text), "json_values()")
    budget.spend(len(text))  # parsing: about twice the cost of copying
    stripped = text.lstrip()
    if stripped[:1] not in ("{", "[") and "%" in stripped:
        from urllib.parse import unquote

        stripped = unquote(stripped).lstrip()
    if stripped[:1] not in ("{", "["):
        return None
    try:
        return orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return None


@lru_cache(maxsize=1024)
def regex(pattern: str) -> Any:
    """The RE2 program for `pattern`, compiled once per process; ValueError naming RE2's reason.

    RE2 matches in time linear in the text (no backtracking), so no pattern can stall a batch.
    The module loads only when some rule uses re_search.
    """
    import re2  # google-re2: about 15 ms to import, so only when a rule asks for it

    options = re2.Options()
    options.log_errors = False  # its reason is in the exception; the log would say it twice
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(f"invalid pattern {pattern!r}: {reason}") from None


def re_search(budget: Budget, program: Any, value: Any) -> bool:
    """True when the pattern is found in `value`; False for anything but a string."""
    budget.spend(len(value) if type(value) is str else 0)
    if type(value) is not str:
        return False
    return program.search(value) is not None


@lru_cache(maxsize=1024)
def network(literal: str) -> Network:
    """The network `literal` names ("10.0.0.0/8", "2001:db8::/32", or one address); ValueError
    when it is not one, or has host bits set ("10.0.0.1/8": say 10.0.0.0/8)."""
    try:
        return ipaddress.ip_network(literal, strict=True)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def in_cidr(budget: Budget, found: Network, value: Any) -> bool:
    """True when `value` is an IPv4 or IPv6 address (text) inside `found`; an IPv4 address
    written as IPv6 (`::ffff:10.0.0.1`) counts as the IPv4 address."""
    budget.spend(PARSE_COST)
    if type(value) is not str or len(value) > 64:
        return False
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if address.version != found.version:
        mapped = getattr(address, "ipv4_mapped", None)
        return mapped is not None and mapped in found
    return address in found
