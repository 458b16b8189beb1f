"""Guards: the leading parts of a rule that read one field each, so their outcome can be cached.

A rule `A and B and C` is never True, and raises nothing, when some conjunct is falsy and every
conjunct before it was truthy without raising. When a conjunct reads a single field, its outcome
(falsy, truthy, raises) depends only on that field's value, and a rule is a pure function of the
values it reads, so the outcome can be computed once per distinct value (the conjunct is compiled
as a function of that value) and reused for every record with the same value. The dispatch (see
dispatch.py) uses guards to drop, for each record, the rules that cannot match it: unlike the
eventName/eventSource index, guards cover any field (errorCode, userIdentity.type, ...), and any
test (`.endswith`, `not in`, `is False`), as long as the conjunct reads one field.

A conjunct that reads several fields ends the guards unless it cannot raise (indexing.cannot_raise):
one that cannot raise may be stepped over, since if it is falsy the rule is falsy anyway.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from processor.rules import patterns
from processor.rules.indexing import cannot_raise

__all__ = ["Guard", "GuardSpec", "find_guards", "PASS", "FAIL", "RAISES", "outcome"]

MAX_GUARDS: Final[int] = 4  # per rule: later conjuncts rarely prune anything the first ones did not

PASS, FAIL, RAISES = 0, 1, 2


@dataclass(frozen=True, slots=True)
class GuardSpec:
    """A conjunct found by `find_guards`, before compilation."""

    key: str
    node: ast.expr
    whole: bool  # the conjunct is the whole rule: only exactly True passes


@dataclass(frozen=True, slots=True, eq=False)
class Guard:
    """A compiled guard: `test(value)` is the conjunct's value on a record whose field `key` resolves
    to `value` (MISSING when the record has no such field)."""

    key: str
    test: Callable[[dict[str, Any]], Any]
    whole: bool


def find_guards(body: ast.expr) -> list[GuardSpec]:
    """The leading single-field conjuncts of a checked rule body, in evaluation order."""
    conjuncts = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    whole = len(conjuncts) == 1
    found: list[GuardSpec] = []
    for conjunct in conjuncts:
        keys = read_keys(conjunct)
        if len(keys) == 1:
            found.append(GuardSpec(next(iter(keys)), conjunct, whole))
            if len(found) >= MAX_GUARDS:
                break
        elif not cannot_raise(conjunct):
            break
    return found


def read_keys(node: ast.AST) -> set[str]:
    """Every flat key an (already checked) expression reads."""
    keys: set[str] = set()
    for child in ast.walk(node):
        key = patterns.read_key(child)
        if key is None:
            key = patterns.contains_key(child)
        if key is not None:
            keys.add(key)
    return keys


def outcome(guard: Guard, value: Any) -> int:
    """PASS (evaluation goes on), FAIL (the rule cannot be True) or RAISES (keep the rule)."""
    try:
        result = guard.test(value)
    except Exception:
        return RAISES
    if guard.whole:
        return PASS if result is True else FAIL
    return PASS if result else FAIL
