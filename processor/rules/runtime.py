"""What a compiled rule may call at run time besides reading fields (lookup.accessors): a few
builtins and string methods, the bounded helpers, the rule functions.

A compiled rule runs with `{"__builtins__": {}}` plus exactly the names built here, so this
module is the whole of what a rule can reach besides its own literals and event values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from processor.rules import bounded, functions

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
        "_min": bounded.bounded_min,
        "_max": bounded.bounded_max,
        "_int": bounded.bounded_int,
        "_float": bounded.bounded_float,
        "_add": bounded.bounded_add,
        "_slice": bounded.bounded_slice,
        "_method": bounded.bounded_method,
        "_each": bounded.charged,
        "_scanned": bounded.scanned,
        "_values": functions.event_values,
        "_text": functions.event_text,
        "_objects": functions.event_objects,
        "_json_values": functions.json_values,
        "_json_objects": functions.json_objects,
        "_re_search": functions.re_search,
        "_in_cidr": functions.in_cidr,
    }
