"""Guards: the leading parts of a rule that read one field each, so their outcome can be cached.

A rule `A and B and C` is never True, and raises nothing, when some conjunct is falsy and every
conjunct before it was truthy without raising. When a conjunct reads a single field, its outcome
(falsy, truthy, exactly True, raises) depends only on that field's value, and a rule is a pure
function of the values it reads, so the outcome can be computed once per distinct value (the
conjunct is compiled as a function of that value) and reused for every record with the same value.
The selector (selector.py) uses guards to drop, for each record, the rules that cannot match it.

A conjunct that reads several fields, or a field the selector cannot read (a key through a list
index such as `items.0.x`, or with an empty segment), ends the guards unless it cannot raise: one
that cannot raise may be stepped over, since if it is falsy the rule is falsy anyway.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Final, NamedTuple

from processor.rules import patterns
from processor.rules.lookup import through_list

__all__ = [
    "Guard",
    "GuardSpec",
    "find_guards",
    "covers_rule",
    "selectable",
    "cannot_raise",
    "string_test",
    "PASS",
    "FAIL",
    "RAISES",
    "TRUE",
]

MAX_GUARDS: Final[int] = 4  # per rule: later conjuncts rarely prune anything the first ones did not

# A guard's outcome on a value: truthy (but not True), falsy, raises, or exactly True. TRUE is
# kept apart from PASS so that a rule made only of guards is known to be True (selector.py).
PASS, FAIL, RAISES, TRUE = 0, 1, 2, 3


class GuardSpec(NamedTuple):
    """A conjunct found by `find_guards`, before compilation."""

    key: str
    node: ast.expr
    whole: bool  # the conjunct is the whole rule: only exactly True passes


@dataclass(frozen=True, slots=True, eq=False)
class Guard:
    """A compiled guard: `test(value)` is the conjunct's value on a record whose field `key`
    resolves to `value` (MISSING when the record has no such field). `text` is the conjunct's
    source, for `trailalert rules check`."""

    key: str
    test: Callable[[Any], Any]
    whole: bool
    text: str = ""
    on_strings: Callable[[list[str]], Iterable[Any]] | None = None  # see `string_test`

    def outcome(self, value: Any) -> int:
        """PASS, FAIL, RAISES or TRUE for a record whose field resolves to `value`."""
        try:
            result = self.test(value)
        except Exception:  # the rule would raise on this record: it must run, and report it
            return RAISES
        if result is True:
            return TRUE
        if self.whole:  # the whole rule: anything but exactly True is no match
            return FAIL
        return PASS if result else FAIL


def selectable(key: str) -> bool:
    """True for a key the selector can read for every record: no empty segment, and no list
    index (`items.0.x`) in the key a rule tests first (a list's elements would be decoded for
    every record); a later guard may read one."""
    return "" not in key.split(".")


def find_guards(body: ast.expr) -> list[GuardSpec]:
    """The leading single-field conjuncts of a checked rule body, in evaluation order."""
    conjuncts = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    whole = len(conjuncts) == 1
    found: list[GuardSpec] = []
    for conjunct in conjuncts:
        keys = read_keys(conjunct)
        if len(keys) == 1 and selectable(key := next(iter(keys))) and (found or not through_list(key)):
            found.append(GuardSpec(key, conjunct, whole))
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


# What read_keys reports for event.values(...) and event.text(...): they read a subtree, not one
# field, so a conjunct using them is never a guard (a key with an empty segment is not selectable).
WHOLE_RECORD: Final = "."


def read_keys(node: ast.AST) -> set[str]:
    """Every flat key an (already checked) expression reads; WHOLE_RECORD for a subtree read."""
    keys: set[str] = set()
    for child in ast.walk(node):
        if patterns.is_record_method(child):
            keys.add(WHOLE_RECORD)
            continue
        key = patterns.read_key(child)
        if key is None:
            key = patterns.contains_key(child)
        if key is not None:
            keys.add(key)
    return keys


def string_test(node: ast.expr, key: str) -> Callable[[list[str]], Iterable[Any]] | None:
    """For a conjunct that is one C-level test of a string value of `key`: a function giving, for
    many string values at once, results that decide the conjunct on each (it is True exactly when
    the result is, or exactly when it is not). The selector classifies the new values of a field
    whose values are mostly new (an ARN, a source IP) this way, a column at a time.

    Recognised, where R reads `key` as `event[key]`, `event.get(key)` or `event.get(key, <constant>)`
    (on a string value R is that value): `R.startswith(L)`, `R.endswith(L)` (L a string or a tuple
    of strings), `R == C`, `R != C`, `R in [C, ...]`, `R not in [C, ...]` (constants), `"s" in R`,
    `"s" not in R`. Anything else gives None.
    """
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method = node.func.attr
        if method in ("startswith", "endswith") and len(node.args) == 1 and _reads(node.func.value, key):
            literal = _strings(node.args[0])
            if literal is not None:
                bound = getattr(str, method)
                return lambda values: map(bound, values, repeat(literal))
        return None
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return None
    op, left, right = node.ops[0], node.left, node.comparators[0]
    if isinstance(op, ast.In | ast.NotIn) and _reads(right, key):
        if isinstance(left, ast.Constant) and type(left.value) is str:  # a substring
            return lambda values: map(operator.contains, values, repeat(left.value))
        return None
    if not _reads(left, key):
        return None
    if isinstance(op, ast.Eq | ast.NotEq) and isinstance(right, ast.Constant):
        return lambda values: map(operator.eq, values, repeat(right.value))
    listed = isinstance(right, ast.List | ast.Tuple | ast.Set)
    if isinstance(op, ast.In | ast.NotIn) and listed and all(isinstance(e, ast.Constant) for e in right.elts):  # type: ignore[attr-defined]
        members = frozenset(e.value for e in right.elts if type(e.value) is str)  # type: ignore[attr-defined]
        return lambda values: map(members.__contains__, values)
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
        isinstance(element, ast.Constant) and type(element.value) is str for element in node.elts
    ):
        return tuple(element.value for element in node.elts)  # type: ignore[attr-defined]
    return None


_SAFE_COMPARE_OPS = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)
_LITERAL_CONTAINERS = (ast.List, ast.Tuple, ast.Set)


def cannot_raise(node: ast.expr) -> bool:
    """True only for expressions that evaluate without an exception on every record.

    Field values are JSON scalars (str, int, float, bool, None: hashable, comparable with ==),
    so equality tests and membership in literal containers of constants are safe; ordering
    (<), method calls, builtins, arithmetic and `event[...]` are not.
    """
    if isinstance(node, ast.Constant):
        return True
    if patterns.contains_key(node) is not None:
        return True
    if patterns.get_key(node) is not None:
        return len(node.args) == 1 or isinstance(node.args[1], ast.Constant)  # type: ignore[attr-defined]
    if isinstance(node, ast.BoolOp):
        return all(cannot_raise(value) for value in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return cannot_raise(node.operand)
    if isinstance(node, ast.List | ast.Tuple):
        return all(cannot_raise(element) for element in node.elts)
    if isinstance(node, ast.Compare):
        return _compare_cannot_raise(node)
    return False


def _compare_cannot_raise(node: ast.Compare) -> bool:
    operands = [node.left, *node.comparators]
    for position, op in enumerate(node.ops):
        left, right = operands[position], operands[position + 1]
        if isinstance(op, _SAFE_COMPARE_OPS):
            if not (cannot_raise(left) and cannot_raise(right)):
                return False
        elif isinstance(op, ast.In | ast.NotIn):
            if not (_is_scalar(left) and isinstance(right, _LITERAL_CONTAINERS)):
                return False
            if not all(isinstance(element, ast.Constant) for element in right.elts):
                return False
        else:
            return False
    return True


def _is_scalar(node: ast.expr) -> bool:
    """A constant or a field read whose default is a constant: hashable and never raising."""
    if isinstance(node, ast.Constant):
        return True
    if patterns.get_key(node) is not None:
        return len(node.args) == 1 or isinstance(node.args[1], ast.Constant)  # type: ignore[attr-defined]
    return False
