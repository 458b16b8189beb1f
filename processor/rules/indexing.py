"""Find, at compile time, the eventName/eventSource values a rule can match at all.

For `event["eventName"] == "ConsoleLogin" and ...` the rule is True only for ConsoleLogin
records, so the rule set need not run it for other names. This holds only if skipping cannot
hide a result: every conjunct before the indexed one must be unable to raise (else the skipped
rule would have reported an evaluation error), and a record that lacks the field is never
skipped (the reference would raise KeyError or compare a default). The analysis is deliberately
conservative: anything it does not recognise leaves the rule unindexed, run for every record.
"""

from __future__ import annotations

import ast
from typing import Final

from processor.rules import patterns

INDEX_FIELDS: Final[tuple[str, ...]] = ("eventName", "eventSource")

_SAFE_COMPARE_OPS = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)
_LITERAL_CONTAINERS = (ast.List, ast.Tuple, ast.Set)


def find_index(body: ast.expr) -> tuple[str, frozenset[str]] | None:
    """(field, values) such that the rule can only be True when the field is one of `values`."""
    conjuncts = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    candidates: list[tuple[str, frozenset[str]]] = []
    for conjunct in conjuncts:
        found = _index_test(conjunct)
        if found is not None:
            candidates.append(found)
        if not cannot_raise(conjunct):
            break
    for field in INDEX_FIELDS:  # eventName first: it is the more selective of the two
        for candidate in candidates:
            if candidate[0] == field:
                return candidate
    return None


def _index_test(node: ast.expr) -> tuple[str, frozenset[str]] | None:
    """(field, values) for `F == "x"`, `"x" == F` or `F in [literal strings]`, F an index field read.

    Such a test cannot raise once the field is present: it compares a scalar with strings.
    """
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        return None
    op, left, right = node.ops[0], node.left, node.comparators[0]
    if isinstance(op, ast.Eq):
        for field_node, value_node in ((left, right), (right, left)):
            field, value = _field_read(field_node), patterns.str_literal(value_node)
            if field is not None and value is not None:
                return field, frozenset({value})
        return None
    if isinstance(op, ast.In) and isinstance(right, _LITERAL_CONTAINERS):
        field = _field_read(left)
        values = [patterns.str_literal(element) for element in right.elts]
        if field is not None and all(value is not None for value in values):
            return field, frozenset(value for value in values if value is not None)
    return None


def _field_read(node: ast.expr) -> str | None:
    """An index field read by `event["F"]` or `event.get("F"[, default that cannot raise])`."""
    key = patterns.read_key(node)
    if key not in INDEX_FIELDS:
        return None
    if isinstance(node, ast.Call) and len(node.args) == 2 and not cannot_raise(node.args[1]):
        return None
    return key


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
