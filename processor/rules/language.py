"""The rule language: a safe subset of Python expressions, checked once and compiled once.

A rule is one Python expression over `event`, the CloudTrail record seen as a flat dict
(`"userIdentity.arn"`, `"resources.0.ARN"`). It matches when it evaluates to exactly `True`;
a truthy value such as "yes" or 1 does not match. Every rule of the cloudtrail-to-slack
README works unchanged. Rules are parsed with `ast` and must stay inside this subset; anything
else is refused at start with an error naming the setting, the rule and the reason.

Reading the event (`event` is never used on its own):

* `event["key"]`                    - raises KeyError when the record has no such field
* `event.get("key")`, `event.get("key", default)`
* `"key" in event`, `"key" not in event`
* `event.values("a.*.b")`           - the leaf values at a path whose `*` segments match every
                                      element of a list and every member of an object
* `event.objects("a.*")`            - the objects there, only as a quantifier's source
* `event.text("a.b")`               - the JSON text of the subtree at a key, or None

Keys and paths are string literals. A field holds a string, number, boolean or None (JSON null);
a key naming an object or list does not exist, as in the flattened record.

Allowed:

* literals: strings, integers, floats, True, False, None; tuples, lists and sets of allowed
  expressions (no dict displays, no `*` unpacking)
* `and`, `or`, `not`, unary `-` and `+`, `x if cond else y`
* comparisons, chained or not: `==  !=  <  <=  >  >=  in  not in  is  is not`
* `+` and `-` (not `*`, `/`, `%`, `**`: repetition and powers can exhaust memory)
* indexing and slicing of values other than `event` with integer literals: `v[0]`, `v[-1]`,
  `v[2:5]`, `v[::2]`
* method calls on values: `startswith endswith lower upper casefold strip lstrip rstrip split
  rsplit find rfind count replace isdigit isalpha isalnum islower isupper`
* calls to `len str int float bool min max abs sorted`, to `any`/`all` over a literal list, tuple
  or set (`any([a, b])`), and to `json_values(text, "path")`, `re_search(value, "pattern")` (RE2,
  compiled at start) and `in_cidr(value, "network")`; positional arguments only
* quantifiers: `any(<test> for v in <source> [if <test>])` and `all(...)`, the source being
  event.values/event.objects/json_values/json_objects with a literal path, or a sum of them; a loop
  variable over objects reads its object as `event` reads the record (`o.get("k")`, ...)

Refused, among others: any other name (`os`, `open`, `getattr`, `globals`, `__import__`),
any name or attribute with a double underscore, attribute access that is not a method call,
`event` passed to a function or compared as a whole, lambda, comprehensions and other generator
expressions, `:=`, f-strings, `*`/`**` unpacking, keyword arguments, bytes and complex literals.
A rule is at most 65536 characters, 5000 syntax nodes and 100 levels deep.

A checked rule is rewritten so each field read calls a lookup with its key split in advance, and
each operation that builds a value, loops or searches calls its bounded version (bounded.py), then
compiled once into a function that runs with no builtins but the ones listed above. The whole
language, for rule authors: docs/rules.md.
"""

from __future__ import annotations

import ast
import copy
import types
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Final

from processor.errors import RuleError
from processor.rules import bounded, functions, patterns
from processor.rules.guards import Guard, covers_rule, find_guards, string_test
from processor.rules.lookup import MISSING, KeyPath, accessors, value_accessors
from processor.rules.runtime import (
    RECORD_METHODS,
    RULE_FUNCTIONS,
    SAFE_BUILTINS,
    SAFE_METHODS,
    rule_namespace,
)

__all__ = ["CompiledExpression", "compile_expression", "MAX_RULE_LENGTH", "MAX_NODES", "MAX_DEPTH"]

MAX_RULE_LENGTH: Final[int] = 65536  # EVENTS_TO_TRACK folds a whole list of names into one rule
MAX_NODES: Final[int] = 5000
MAX_DEPTH: Final[int] = 100

_EVENT_USES = (
    'event["key"], event.get("key"[, default]), "key" in event, event.values("path") or event.text("key")'
)
_BUILTIN_LIST = ", ".join(sorted({*SAFE_BUILTINS, *RULE_FUNCTIONS}))
_METHOD_LIST = ", ".join(sorted(SAFE_METHODS))
_OBJECTS_ONLY_IN_LOOPS = (
    "event.objects() and json_objects() can only be looped over: "
    'any(o.get("a") == 1 and o.get("b") == 2 for o in event.objects("x.*"))'
)

_REFUSED: Final[dict[type, str]] = {
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: (
        "a generator expression is only allowed as the argument of any() or all(), "
        'e.g. any(v == "x" for v in event.values("a.*.b"))'
    ),
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Starred: "unpacking with * is not allowed",
    ast.Dict: "dict displays are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Slice: "a slice is only allowed inside brackets",
}
_OPERATOR_SYMBOLS: Final[dict[type, str]] = {
    ast.Mult: "*",
    ast.MatMult: "@",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Invert: "~",
}


@dataclass(frozen=True, slots=True, eq=False)
class CompiledExpression:
    """A checked rule. `matches(event)` is True iff the rule evaluates to exactly True.

    `matches` propagates the rule's own exceptions (KeyError for a missing `event["key"]`,
    AttributeError for `None.endswith`): the rule set records them as evaluation errors.
    `keys` lists every flat key the rule reads; `guards` are the leading conjuncts that read one
    field each (see guards.py), by which the selector skips the rule for most records.
    """

    text: str
    keys: frozenset[str]
    matches: Callable[[dict[str, Any]], bool] = field(repr=False)
    guards: tuple[Guard, ...] = field(default=(), repr=False)
    covered: bool = False  # the guards are the whole rule (guards.covers_rule)


def compile_expression(text: str, *, setting: str) -> CompiledExpression:
    """Check `text` against the safe subset and compile it; RuleError(setting, text, why) if not."""
    source = text.lstrip(" \t")  # eval() ignores leading blanks; ast.parse would call them indentation
    if not source.strip():
        raise RuleError(setting, text, "the rule is empty")
    if len(source) > MAX_RULE_LENGTH:
        raise RuleError(setting, text, f"the rule is longer than {MAX_RULE_LENGTH} characters")
    tree = _parse(source, setting, text)
    checker = _Checker(setting, text)
    keys = checker.check(tree.body)
    matches = _compile(tree.body, keys | checker.record_keys, setting)
    specs = find_guards(tree.body)
    guards = tuple(
        Guard(
            spec.key,
            _compile(spec.node, {spec.key}, setting, exactly_true=False, on_value=True),
            spec.whole,
            ast.unparse(spec.node),
            string_test(spec.node, spec.key),
        )
        for spec in specs
    )
    return CompiledExpression(
        text=text,
        keys=frozenset(keys),
        matches=matches,
        guards=guards,
        covered=covers_rule(tree.body, specs),
    )


def _parse(source: str, setting: str, text: str) -> ast.Expression:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = "at the end of the rule"
        if exc.offset:
            where = (
                f"at column {exc.offset}"
                if (exc.lineno or 1) == 1
                else f"at line {exc.lineno}, column {exc.offset}"
            )
        detail = "" if exc.msg == "invalid syntax" else f": {exc.msg}"
        raise RuleError(setting, text, f"invalid syntax {where}{detail}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise RuleError(setting, text, f"cannot be parsed: {exc}") from None


class _Checker:
    """Walks a parsed rule and raises RuleError at the first construct outside the subset."""

    def __init__(self, setting: str, text: str) -> None:
        self._setting = setting
        self._text = text
        self._nodes = 0
        self.keys: set[str] = set()
        self.record_keys: set[str] = set()  # keys read from the objects of event.objects(...)
        self._loop_names: list[str] = []  # the loop variables of the quantifiers around a node
        self._records: set[str] = {patterns.EVENT}  # `event`, and loop variables over objects
        self._sources: set[int] = set()  # the calls of the quantifier source being checked

    def check(self, node: ast.expr) -> set[str]:
        """Validate the whole rule; return the flat keys it reads."""
        self._expr(node, 0)
        return self.keys

    def _refuse(self, reason: str) -> RuleError:
        return RuleError(self._setting, self._text, reason)

    def _expr(self, node: ast.expr, depth: int) -> None:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise self._refuse(f"the rule has more than {MAX_NODES} elements")
        if depth > MAX_DEPTH:
            raise self._refuse(f"the rule is nested more than {MAX_DEPTH} levels deep")
        handler = self._HANDLERS.get(type(node))
        if handler is None:
            raise self._refuse(_REFUSED.get(type(node), f"{type(node).__name__} expressions are not allowed"))
        handler(self, node, depth + 1)

    def _constant(self, node: ast.Constant, depth: int) -> None:
        value = node.value
        if value is not None and type(value) not in (str, int, float, bool):
            raise self._refuse(f"{type(value).__name__} literals are not allowed")

    def _name(self, node: ast.Name, depth: int) -> None:
        name = node.id
        if name in self._records and name != patterns.EVENT:
            raise self._refuse(f"{name!r} stands for an object: use {_uses(name)}")
        if name in self._loop_names:
            return
        if name == patterns.EVENT:
            raise self._refuse(f"'event' cannot be used on its own; use {_EVENT_USES}")
        if name in SAFE_BUILTINS or name in RULE_FUNCTIONS:
            raise self._refuse(f"builtin {name!r} can only be called, e.g. {name}(...)")
        raise self._refuse(f"name {name!r} is not allowed; only 'event' and calls to {_BUILTIN_LIST}")

    def _sequence(self, node: ast.Tuple | ast.List | ast.Set, depth: int) -> None:
        for element in node.elts:
            self._expr(element, depth)

    def _boolop(self, node: ast.BoolOp, depth: int) -> None:
        for value in node.values:
            self._expr(value, depth)

    def _unaryop(self, node: ast.UnaryOp, depth: int) -> None:
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            raise self._refuse(f"operator {_OPERATOR_SYMBOLS.get(type(node.op), '?')!r} is not allowed")
        self._expr(node.operand, depth)

    def _binop(self, node: ast.BinOp, depth: int) -> None:
        if not isinstance(node.op, ast.Add | ast.Sub):
            symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
            raise self._refuse(f"operator {symbol!r} is not allowed; only + and -")
        self._expr(node.left, depth)
        self._expr(node.right, depth)

    def _read(self, receiver: ast.expr, key: str) -> None:
        """Note that `key` is read, from the record or from an object of event.objects(...)."""
        (self.keys if patterns.is_event(receiver) else self.record_keys).add(key)

    def _compare(self, node: ast.Compare, depth: int) -> None:
        operands = [node.left, *node.comparators]
        if any(patterns.is_event(operand, self._records) for operand in operands):
            key = patterns.contains_key(node, self._records)
            if key is not None:
                self._read(node.comparators[0], key)
                return
            membership = len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn)
            if (
                membership
                and patterns.is_event(node.comparators[0], self._records)
                and not patterns.is_event(node.left, self._records)
            ):
                raise self._refuse('the left side of "in event" must be a string literal: "key" in event')
            record = next(o.id for o in operands if patterns.is_event(o, self._records))  # type: ignore[attr-defined]
            raise self._refuse(f"{record!r} can only be used as {_uses(record)}")
        for operand in operands:
            self._expr(operand, depth)

    def _ifexp(self, node: ast.IfExp, depth: int) -> None:
        self._expr(node.test, depth)
        self._expr(node.body, depth)
        self._expr(node.orelse, depth)

    def _subscript(self, node: ast.Subscript, depth: int) -> None:
        if patterns.is_event(node.value, self._records):
            key = patterns.str_literal(node.slice)
            if key is None:
                raise self._refuse('event keys must be string literals: event["key"]')
            self._read(node.value, key)
            return
        self._expr(node.value, depth)
        index = node.slice
        if isinstance(index, ast.Slice):
            parts = [part for part in (index.lower, index.upper, index.step) if part is not None]
        else:
            parts = [index]
        if not all(_is_int_literal(part) for part in parts):
            raise self._refuse("values can only be indexed with integer literals: v[0], v[-1], v[1:3]")

    def _attribute(self, node: ast.Attribute, depth: int) -> None:
        # Reached only for attributes that are not immediately called.
        if _is_dunder(node.attr):
            raise self._refuse(f"attribute {node.attr!r} is not allowed")
        if patterns.is_event(node.value, self._records) and node.attr == "get":
            raise self._refuse('event.get must be called: event.get("key"[, default])')
        raise self._refuse(
            f"attribute {node.attr!r} is not allowed; attributes can only be method calls such as v.lower()"
        )

    def _call(self, node: ast.Call, depth: int) -> None:
        if node.keywords:
            raise self._refuse("keyword arguments are not allowed")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise self._refuse("unpacking with * is not allowed")
        func = node.func
        if isinstance(func, ast.Name):
            self._builtin_call(func.id, node, depth)
        elif isinstance(func, ast.Attribute):
            self._method_call(func, node, depth)
        else:
            self._expr(func, depth)  # names the real problem first, e.g. "lambda is not allowed"
            raise self._refuse(f"only the builtins {_BUILTIN_LIST} and string methods can be called")

    def _builtin_call(self, name: str, node: ast.Call, depth: int) -> None:
        if name not in SAFE_BUILTINS and name not in RULE_FUNCTIONS:
            raise self._refuse(f"calls to {name!r} are not allowed; allowed functions: {_BUILTIN_LIST}")
        self._no_bare_event(node.args, f"{name}()")
        if name in ("any", "all") and len(node.args) == 1 and isinstance(node.args[0], ast.GeneratorExp):
            self._quantifier(name, node.args[0], depth)
            return
        if name in ("any", "all") and (
            len(node.args) != 1 or not isinstance(node.args[0], ast.List | ast.Tuple | ast.Set)
        ):
            raise self._refuse(
                f"{name}() takes one literal list, tuple or set, e.g. {name}([a, b]), "
                f'or a generator: {name}(v == "x" for v in event.values("a.*.b"))'
            )
        if name in RULE_FUNCTIONS:
            if name == "json_objects" and id(node) not in self._sources:
                raise self._refuse(_OBJECTS_ONLY_IN_LOOPS)
            self._function_literal(name, node)
        for arg in node.args:
            self._expr(arg, depth)

    def _function_literal(self, name: str, node: ast.Call) -> None:
        """json_values, re_search and in_cidr take a value and a string literal, checked here."""
        example = RULE_FUNCTIONS[name]
        literal = patterns.str_literal(node.args[1]) if len(node.args) == 2 else None
        if literal is None:
            raise self._refuse(f"{name}() takes a value and a string literal: {example}")
        try:
            if name in ("json_values", "json_objects"):
                functions.path_segments(literal)
            elif name == "re_search":
                functions.regex(literal)
            else:
                functions.network(literal)
        except ValueError as exc:
            raise self._refuse(f"{name}(): {exc}") from None

    def _quantifier(self, name: str, generator: ast.GeneratorExp, depth: int) -> None:
        """`any(<test> for v in <source> [if <test>])`: one loop over event.values, event.objects,
        json_values or json_objects (or a sum of one kind), one plain loop variable (see
        docs/rules.md for why this form). Over objects, the variable reads its object as `event`
        reads the record."""
        form = f'{name}(<test on v> for v in event.values("a.*.b"))'
        if len(generator.generators) != 1:
            raise self._refuse(f"{name}() over a generator takes exactly one 'for': {form}")
        loop = generator.generators[0]
        if loop.is_async:
            raise self._refuse("async generators are not allowed")
        if not isinstance(loop.target, ast.Name):
            raise self._refuse(f"the loop variable must be one plain name: {form}")
        variable = loop.target.id
        if (
            variable == patterns.EVENT
            or variable.startswith("_")
            or variable in SAFE_BUILTINS
            or variable in RULE_FUNCTIONS
        ):
            raise self._refuse(f"{variable!r} cannot be a loop variable; use a plain name such as v")
        if variable in self._loop_names:
            raise self._refuse(f"the loop variable {variable!r} is already used by an enclosing {name}()")
        if len(loop.ifs) > 1:
            raise self._refuse(f"{name}() over a generator takes at most one 'if'")
        source = loop.iter
        kind = _source_kind(source, self._records)
        if kind is None:
            raise self._refuse(
                f'{name}() can only loop over event.values("path"), event.objects("path"), '
                f'json_values(text, "path"), json_objects(text, "path"), or a sum of them '
                f"(all values or all objects): {form}"
            )
        over_objects = kind == "objects"
        outer, self._sources = self._sources, self._sources | {id(call) for call in _source_calls(source)}
        self._expr(source, depth)
        self._sources = outer
        self._loop_names.append(variable)
        if over_objects:
            self._records.add(variable)
        try:
            for test in loop.ifs:
                self._expr(test, depth)
            self._expr(generator.elt, depth)
        finally:
            self._loop_names.pop()
            self._records.discard(variable)

    def _method_call(self, func: ast.Attribute, node: ast.Call, depth: int) -> None:
        method = func.attr
        if _is_dunder(method):
            raise self._refuse(f"attribute {method!r} is not allowed")
        if patterns.is_event(func.value, self._records):
            if method in RECORD_METHODS:
                if method == "objects" and id(node) not in self._sources:
                    raise self._refuse(_OBJECTS_ONLY_IN_LOOPS)
                self._record_method(method, node)
                return
            if method != "get":
                record = func.value.id  # type: ignore[attr-defined]
                raise self._refuse(f"'{record}.{method}' is not allowed; only {_uses(record)}")
            if not 1 <= len(node.args) <= 2 or patterns.str_literal(node.args[0]) is None:
                raise self._refuse("event.get takes a string literal key and an optional default")
            self._no_bare_event(node.args[1:], "event.get()")
            self._read(func.value, node.args[0].value)  # type: ignore[attr-defined]
            for arg in node.args[1:]:
                self._expr(arg, depth)
            return
        self._expr(func.value, depth)  # the receiver first: `os.system()` is refused for `os`
        if method not in SAFE_METHODS:
            raise self._refuse(f"method {method!r} is not allowed; allowed methods: {_METHOD_LIST}")
        self._no_bare_event(node.args, f".{method}()")
        for arg in node.args:
            self._expr(arg, depth)

    def _record_method(self, method: str, node: ast.Call) -> None:
        """event.values("path.with.*") and event.text("key"): one string literal path."""
        path = patterns.str_literal(node.args[0]) if len(node.args) == 1 else None
        if path is None:
            raise self._refuse(f'event.{method} takes one string literal path: event.{method}("a.b")')
        try:
            segments = functions.path_segments(path)
        except ValueError as exc:
            raise self._refuse(f"event.{method}(): {exc}") from None
        if method == "text" and functions.WILDCARD in segments:
            raise self._refuse('event.text takes a key without "*"; event.values reads wildcard paths')

    def _no_bare_event(self, args: list[ast.expr], callee: str) -> None:
        for arg in args:
            if patterns.is_event(arg, self._records):
                record = arg.id  # type: ignore[attr-defined]
                raise self._refuse(f"{record!r} cannot be passed to {callee}; use {_uses(record)}")

    _HANDLERS: Final[dict[type, Callable[[_Checker, Any, int], None]]] = {
        ast.Constant: _constant,
        ast.Name: _name,
        ast.Tuple: _sequence,
        ast.List: _sequence,
        ast.Set: _sequence,
        ast.BoolOp: _boolop,
        ast.UnaryOp: _unaryop,
        ast.BinOp: _binop,
        ast.Compare: _compare,
        ast.IfExp: _ifexp,
        ast.Subscript: _subscript,
        ast.Attribute: _attribute,
        ast.Call: _call,
    }


def _uses(record: str) -> str:
    """How `event`, or a loop variable over objects, may be used: to end an error message."""
    if record == patterns.EVENT:
        return _EVENT_USES
    return f'{record}["key"], {record}.get("key"[, default]), "key" in {record}, {record}.values("path") or {record}.text("key")'


def _scans(op: ast.cmpop, right: ast.expr) -> bool:
    """True for `in`/`not in` whose right side is not a literal list, tuple or set."""
    return isinstance(op, ast.In | ast.NotIn) and not isinstance(right, ast.List | ast.Tuple | ast.Set)


def _search_count(node: ast.AST) -> int:
    """The searches through a value `node` makes itself (see _Lowering.lower)."""
    if isinstance(node, ast.Compare) and patterns.contains_key(node) is None:
        return sum(_scans(op, right) for op, right in zip(node.ops, node.comparators, strict=True))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return int(node.func.attr in bounded.SCANNING_METHODS)
    return 0


def _is_dunder(name: str) -> bool:
    return "__" in name


def _is_record_call(node: ast.AST, method: str, records: Collection[str]) -> bool:
    """True for `event.<method>(...)`, or the same on a loop variable over objects."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == method
        and patterns.is_event(node.func.value, records)
    )


def _source_kind(node: ast.AST, records: Collection[str]) -> str | None:
    """What a quantifier may loop over: "values" for event.values(...)/json_values(...), "objects"
    for event.objects(...)/json_objects(...), the same for a sum of one kind
    (`event.values("p.AWS") + event.values("p.AWS.*")`: one value or a list of them); else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _source_kind(node.left, records), _source_kind(node.right, records)
        return left if left == right else None
    if _is_record_call(node, "values", records) or _is_function_call(node, "json_values"):
        return "values"
    if _is_record_call(node, "objects", records) or _is_function_call(node, "json_objects"):
        return "objects"
    return None


def _source_calls(node: ast.AST) -> list[ast.AST]:
    """The calls a quantifier's source adds up (the source itself when it is one call)."""
    if isinstance(node, ast.BinOp):
        return [*_source_calls(node.left), *_source_calls(node.right)]
    return [node]


def _is_function_call(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _is_int_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


class _Lowering(ast.NodeTransformer):
    """Replaces event accesses with calls to per-key accessors, and the operations that build
    values, loop or search with their bounded versions (bounded.py, functions.py), which take the
    evaluation's Budget, `_fuel`. `fueled` says whether the rule needs one."""

    def __init__(self, names: dict[str, str], *, on_value: bool = False) -> None:
        self._names = names  # flat key -> suffix of its accessor names
        # A guard compiled on its field's value (see _compile): `event` is that value, so
        # `event.get(key, <constant>)` and `key in event` become inline tests, not calls.
        self._on_value = on_value
        self.fueled = False
        self.constants: dict[str, Any] = {}  # compiled patterns and networks, by namespace name
        self._records: set[str] = {patterns.EVENT}  # `event` and loop variables over objects
        self._charge_scans = False  # see `lower`

    def lower(self, body: ast.expr) -> ast.expr:
        """The lowered `body` (rewritten in place). A rule of many searches (`in`, find, count,
        startswith...) over fields of up to a megabyte could scan gigabytes, so past
        MAX_UNCHARGED_SCANS of them each is charged what it reads."""
        searches = sum(_search_count(node) for node in ast.walk(body))
        self._charge_scans = searches > bounded.MAX_UNCHARGED_SCANS
        return self.visit(body)  # type: ignore[no-any-return]

    def _is_missing(self, negate: bool = False) -> ast.Compare:
        op: ast.cmpop = ast.IsNot() if negate else ast.Is()
        event = ast.Name(id=patterns.EVENT, ctx=ast.Load())
        return ast.Compare(left=event, ops=[op], comparators=[ast.Name(id="_MISSING", ctx=ast.Load())])

    def _accessor(self, kind: str, key: str, *extra: ast.expr, record: str = patterns.EVENT) -> ast.Call:
        """`_<kind>_<n>(record, *extra)`: the accessor of `key` on the record (or on an object of
        event.objects(...), for a loop variable `record`)."""
        func = ast.Name(id=f"_{kind}_{self._names[key]}", ctx=ast.Load())
        return ast.Call(func=func, args=[ast.Name(id=record, ctx=ast.Load()), *extra], keywords=[])

    def _fueled(self, helper: str, *args: ast.expr) -> ast.Call:
        """`helper(_fuel, *args)`: a bounded operation charged to this evaluation's budget."""
        self.fueled = True
        fuel = ast.Name(id="_fuel", ctx=ast.Load())
        return ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[fuel, *args], keywords=[])

    def _constant(self, value: Any) -> ast.Name:
        name = f"_const_{len(self.constants)}"
        self.constants[name] = value
        return ast.Name(id=name, ctx=ast.Load())

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        key = patterns.subscript_key(node, self._records)
        if key is not None:
            return self._accessor("item", key, record=node.value.id)  # type: ignore[attr-defined]
        self.generic_visit(node)
        index = node.slice
        if isinstance(index, ast.Slice):
            parts = [part or ast.Constant(None) for part in (index.lower, index.upper, index.step)]
            return self._fueled("_slice", node.value, *parts)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.op, ast.Add):
            return self._fueled("_add", node.left, node.right)
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("any", "all") and node.args:
            generator = node.args[0]
            if isinstance(generator, ast.GeneratorExp):
                return self._quantifier(node, generator)
        self.generic_visit(node)
        key = patterns.get_key(node, self._records)
        if key is not None:
            default = node.args[1] if len(node.args) > 1 else ast.Constant(None)
            if self._on_value and isinstance(default, ast.Constant):  # evaluating it cannot raise
                event = ast.Name(id=patterns.EVENT, ctx=ast.Load())
                return ast.IfExp(test=self._is_missing(), body=default, orelse=event)
            record = node.func.value.id  # type: ignore[attr-defined]
            return self._accessor("get", key, *node.args[1:], record=record)
        if isinstance(func, ast.Attribute):
            return self._method(node, func)
        if isinstance(func, ast.Name):
            return self._function(node, func.id)
        return node

    def _method(self, node: ast.Call, func: ast.Attribute) -> ast.expr:
        if patterns.is_event(func.value, self._records) and func.attr in RECORD_METHODS:
            path = node.args[0].value  # type: ignore[attr-defined]
            segments = ast.Constant(functions.path_segments(path))
            record = func.value
            if func.attr == "values":
                return self._fueled("_values", record, ast.Constant(path), segments)
            if func.attr == "objects":
                return self._fueled("_objects", record, segments)
            return self._fueled("_text", record, segments)
        if func.attr in bounded.BUILDING_METHODS:
            return self._fueled("_method", func.value, ast.Constant(func.attr), *node.args)
        if self._charge_scans and func.attr in bounded.SCANNING_METHODS:
            func.value = self._fueled("_scanned", func.value)
        return node

    def _function(self, node: ast.Call, name: str) -> ast.expr:
        if name in ("str", "sorted", "min", "max", "int", "float"):
            return self._fueled(f"_{name}", *node.args)
        if name not in RULE_FUNCTIONS:
            return node
        value, literal = node.args[0], node.args[1].value  # type: ignore[attr-defined]
        if name in ("json_values", "json_objects"):
            segments = ast.Constant(functions.path_segments(literal))
            return self._fueled(f"_{name}", value, segments)
        if name == "re_search":
            return self._fueled("_re_search", self._constant(functions.regex(literal)), value)
        return self._fueled("_in_cidr", self._constant(functions.network(literal)), value)

    def _quantifier(self, node: ast.Call, generator: ast.GeneratorExp) -> ast.expr:
        """`any(t for v in xs)` -> `any(t for v in _each(_fuel, xs, <size of t>))`: every element
        pays for the test it runs, so a loop costs the budget what it costs the processor."""
        loop = generator.generators[0]
        units = bounded.LOOP_COST + sum(1 for part in (generator.elt, *loop.ifs) for _ in ast.walk(part))
        over_objects = _source_kind(loop.iter, self._records) == "objects"
        source = self.visit(loop.iter)  # evaluated outside the loop, as Python does
        variable = loop.target.id  # type: ignore[attr-defined]
        if over_objects:
            self._records.add(variable)
        try:
            generator.elt = self.visit(generator.elt)
            loop.ifs = [self.visit(test) for test in loop.ifs]
        finally:
            self._records.discard(variable)
        loop.iter = self._fueled("_each", source, ast.Constant(units))
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        key = patterns.contains_key(node, self._records)
        if key is None:
            self.generic_visit(node)
            if self._charge_scans:  # `x in <value>` scans the value: charge its length
                node.comparators = [
                    self._fueled("_scanned", right) if _scans(op, right) else right
                    for op, right in zip(node.ops, node.comparators, strict=True)
                ]
            return node
        negated = isinstance(node.ops[0], ast.NotIn)
        if self._on_value:
            return self._is_missing(negate=not negated)
        test = self._accessor("has", key, record=node.comparators[0].id)  # type: ignore[attr-defined]
        return ast.UnaryOp(op=ast.Not(), operand=test) if negated else test


def _compile(
    body: ast.expr, keys: set[str], setting: str, *, exactly_true: bool = True, on_value: bool = False
) -> Callable[[Any], Any]:
    """Turn a checked body into `lambda event: (<lowered body>) is True`, compiled once.

    With `exactly_true=False` the function returns the body's own value (a guard's conjunct).
    With `on_value=True` (a body reading one key) the function takes that key's resolved value
    (MISSING when absent) instead of the record. A body that builds values, loops or searches is
    compiled as `lambda event, _fuel: ...` and called with a fresh Budget per evaluation.
    """
    names = {key: str(position) for position, key in enumerate(sorted(keys))}
    namespace: dict[str, Any] = {"__builtins__": {}, **rule_namespace(), "_MISSING": MISSING}
    for key, suffix in names.items():
        item, get, contains = value_accessors(key) if on_value else accessors(KeyPath(key))
        namespace.update({f"_item_{suffix}": item, f"_get_{suffix}": get, f"_has_{suffix}": contains})
    lowering = _Lowering(names, on_value=on_value)
    lowered = lowering.lower(copy.deepcopy(body))  # the lowering rewrites nodes in place
    namespace.update(lowering.constants)
    test: ast.expr = lowered
    if exactly_true:
        test = ast.Compare(left=lowered, ops=[ast.Is()], comparators=[ast.Constant(True)])
    parameters = [ast.arg(arg=patterns.EVENT)] + ([ast.arg(arg="_fuel")] if lowering.fueled else [])
    arguments = ast.arguments(posonlyargs=[], args=parameters, kwonlyargs=[], kw_defaults=[], defaults=[])
    tree = ast.fix_missing_locations(ast.Expression(body=ast.Lambda(args=arguments, body=test)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. SyntaxWarning for `x is "literal"`, as eval() would
        code = compile(tree, f"<{setting} rule>", "eval")
    function_code = next(const for const in code.co_consts if isinstance(const, types.CodeType))
    function = types.FunctionType(function_code, namespace, "rule")
    if not lowering.fueled:
        return function
    budget = bounded.Budget

    def bounded_rule(event: Any) -> Any:
        return function(event, budget())

    return bounded_rule
