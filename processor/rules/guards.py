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

__all__ = ["Guard", "GuardSpec", "find_guards", "covers_rule", "str_test", "PASS", "FAIL", "RAISES", "TRUE"]

MAX_GUARDS: Final[int] = 4  # per rule: later conjuncts rarely prune anything the first ones did not

# A guard's outcome on a value: truthy (but not True), falsy, raises, or exactly True. TRUE is
# kept apart from PASS so that a rule made only of guards is known to be True (selector.py).
PASS, FAIL, RAISES, TRUE = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class GuardSpec:
    """A conjunct found by `find_guards`, before compilation."""

    key: str
    node: ast.expr
    whole: bool  # the conjunct is the whole rule: only exactly True passes


@dataclass(frozen=True, slots=True, eq=False)
class Guard:
    """A compiled guard: `test(value)` is the conjunct's value on a record whose field `key` resolves
    to `value` (MISSING when the record has no such field). `on_strings`, when set, is the same
    test for string values as one C-level operation (see `str_test`)."""

    key: str
    test: Callable[[dict[str, Any]], Any]
    whole: bool
    on_strings: tuple[str, Any] | None = None


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


def covers_rule(body: ast.expr, guards: list[GuardSpec]) -> bool:
    """True when the guards are every conjunct of the rule: then it is True exactly when each
    guard passes and the last one is exactly True (`a and b` is b when a is truthy)."""
    conjuncts = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    return len(guards) == len(conjuncts) and all(
        guard.node is conjunct for guard, conjunct in zip(guards, conjuncts, strict=True)
    )


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


def str_test(node: ast.expr, key: str) -> tuple[str, Any] | None:
    """(kind, literal) when the conjunct, on a string value, is one C-level test of it.

    Recognised: `R.startswith(L)`, `R.endswith(L)` (L a string or a tuple of strings), `R == C`,
    `R != C`, `R in [C, ...]`, `R not in [C, ...]` (constants), `"s" in R`, `"s" not in R`, and
    `or` of `==`/`in` tests, where R reads `key` as
    `event[key]`, `event.get(key)` or `event.get(key, <constant>)`: for a value that is a string,
    R is that string, so the conjunct is True exactly when the test is. Used to classify many new
    values of a field at once (selector.py); anything else returns None.
    """
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method, args = node.func.attr, node.args
        if (
            method in ("startswith", "endswith")
            and not node.keywords
            and len(args) == 1
            and _reads(node.func.value, key)
        ):
            literal = _strings(args[0])
            if literal is not None:
                return method, literal
        return None
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):  # `R == "A" or R == "B"`
        shapes = [str_test(value, key) for value in node.values]
        if all(shape is not None and shape[0] in ("eq", "in") for shape in shapes):
            listed = [{shape[1]} if shape[0] == "eq" else shape[1] for shape in shapes]  # type: ignore[index]
            return "in", frozenset(v for values in listed for v in values if type(v) is str)
        return None
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.In | ast.NotIn)
        and isinstance(node.left, ast.Constant)
        and type(node.left.value) is str
        and _reads(node.comparators[0], key)
    ):  # `"assumed-role" not in R`: a substring test
        return ("contains" if isinstance(node.ops[0], ast.In) else "not contains"), node.left.value
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and _reads(node.left, key):
        op, right = node.ops[0], node.comparators[0]
        if isinstance(op, ast.Eq | ast.NotEq) and isinstance(right, ast.Constant):
            return ("eq" if isinstance(op, ast.Eq) else "ne"), right.value
        listed = isinstance(right, ast.List | ast.Tuple | ast.Set)
        if (
            isinstance(op, ast.In | ast.NotIn)
            and listed
            and all(isinstance(i, ast.Constant) for i in right.elts)
        ):  # type: ignore[attr-defined]
            strings = frozenset(i.value for i in right.elts if type(i.value) is str)  # type: ignore[attr-defined]
            return ("in" if isinstance(op, ast.In) else "not in"), strings
    return None


def _reads(node: ast.expr, key: str) -> bool:
    """True when `node` is `event[key]`, `event.get(key)` or `event.get(key, <constant>)`."""
    if patterns.subscript_key(node) == key:
        return True
    if patterns.get_key(node) == key:
        return len(node.args) == 1 or isinstance(node.args[1], ast.Constant)  # type: ignore[attr-defined]
    return False


def _strings(node: ast.expr) -> str | tuple[str, ...] | None:
    if isinstance(node, ast.Constant) and type(node.value) is str:
        return node.value
    if isinstance(node, ast.Tuple) and all(
        isinstance(i, ast.Constant) and type(i.value) is str for i in node.elts
    ):
        return tuple(i.value for i in node.elts)
    return None
