"""What a compiled rule may call at run time: field accessors, a guarded replace, a few builtins.

A compiled rule runs with `{"__builtins__": {}}` plus exactly the names built here, so this
module is the whole of what a rule can reach besides its own literals and event values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from processor.rules import bounded, functions
from processor.rules.lookup import MISSING, KeyPath

# Pure functions of their arguments; none can reach objects, files, modules or the interpreter.
# `any`/`all` are only accepted over a literal list/tuple/set or a quantifier (see language.py);
# `str` and `sorted` run as their bounded versions (bounded.py).
SAFE_BUILTINS: Final[dict[str, Callable[..., Any]]] = {
    "abs": abs,
    "all": all,
    "any": any,
    "bool": bool,
    "float": float,
    "int": int,
    "len": len,
    "max": max,
    "min": min,
    "sorted": sorted,
    "str": str,
}

# Methods of str that only read or copy their receiver. Deliberately absent: format/format_map
# (format strings walk attributes: "{0.__class__}"), encode/translate/join and anything padding
# a string to a caller-chosen width.
SAFE_METHODS: Final[frozenset[str]] = frozenset(
    {
        "casefold",
        "count",
        "endswith",
        "find",
        "isalnum",
        "isalpha",
        "isdigit",
        "islower",
        "isupper",
        "lower",
        "lstrip",
        "replace",
        "rfind",
        "rsplit",
        "rstrip",
        "split",
        "startswith",
        "strip",
        "upper",
    }
)

_CONTAINERS: Final = (dict, list)

# Methods of `event` besides get: event.values("a.*.b") (the leaves at a wildcard path),
# event.objects("a.*") (the objects there, for a quantifier) and event.text("a.b") (a subtree's
# JSON text). See functions.py.
RECORD_METHODS: Final[frozenset[str]] = frozenset({"values", "objects", "text"})

# Functions of the rule language beyond Python's builtins, with the form the checker asks for.
# Each takes a value and a string literal checked at start (a path, an RE2 pattern, a network).
RULE_FUNCTIONS: Final[dict[str, str]] = {
    "json_values": 'json_values(event.get("requestParameters.policy"), "Statement.*.Effect")',
    "json_objects": 'any(s.get("Effect") == "Allow" for s in json_objects(event.get("x"), "Statement"))',
    "re_search": 're_search(event.get("userAgent"), "(?i)^python-requests/")',
    "in_cidr": 'in_cidr(event.get("sourceIPAddress"), "10.0.0.0/8")',
}


def rule_namespace() -> dict[str, Any]:
    """Every name a compiled rule may call, besides its field accessors: the safe builtins and
    the bounded helpers its lowering calls instead of the operations that build values."""
    return {
        **SAFE_BUILTINS,
        "_str": bounded.bounded_str,
        "_sorted": bounded.bounded_sorted,
        "_add": bounded.bounded_add,
        "_slice": bounded.bounded_slice,
        "_method": bounded.bounded_method,
        "_each": bounded.charged,
        "_values": functions.event_values,
        "_text": functions.event_text,
        "_objects": functions.event_objects,
        "_json_values": functions.json_values,
        "_json_objects": functions.json_objects,
        "_re_search": functions.re_search,
        "_in_cidr": functions.in_cidr,
    }


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
