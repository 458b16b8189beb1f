"""Pick, for one record, the ignore rules and rules that can match it, by their guards.

For every field a guard tests (see guards.py), the record's value is mapped to the outcomes of
all guards on that field: computed once per distinct value, each guard compiled as a function of
that value. Later guards count too (`eventName == "AssumeRole" and roleArn.endswith(...)`): a
record whose roleArn fails is not evaluated at all. The tuple of those outcome classes then maps to the rules that survive them,
also computed once. So a record costs one lookup per guarded field and one cache hit, and only
the rules that may be True, or may raise, for it are run. This is exact: a rule is dropped only
when one of its guards is falsy, without raising, after guards that all passed (see guards.py).

Unlike the eventName/eventSource index (dispatch.py), guards cover any field (errorCode,
userIdentity.type, ...) and any test on it (`.endswith`, `not in`, `is False`). Both caches hold
what depends only on values, so they are bounded and simply cleared when full.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Generic, NamedTuple, TypeVar

from processor.rules.dispatch import _HasExpression
from processor.rules.guards import FAIL, PASS, RAISES, TRUE, Guard
from processor.rules.lookup import MISSING, KeyPath, through_list

_CACHE_LIMIT: Final[int] = 4096
_VALUE_LIMIT: Final[int] = 4096  # distinct values remembered per guarded field (see skip.py)
_HASHED: Final = (int, bool, type(None), type(MISSING))  # compared by (type, value); str by value
_CONTAINERS: Final = (dict, list)

T = TypeVar("T", bound=_HasExpression)


class Selector(Generic[T]):
    """Ignore rules and rules, both ordered; `select(event)` gives the ones to run for `event`.

    Fields come in two levels. `fields` are those some rule tests first (eventName, errorCode,
    userIdentity.type, ...): every record's values are classified. `later_fields` are read by later
    guards only (`requestParameters.roleArn` after `eventName == "AssumeRole"`): a plan made from
    the first level names, in `Plan.later`, the ones its rules still depend on, and `refine` reads
    just those, so the records most rules already ruled out pay nothing for them.
    """

    def __init__(self, ignore_rules: Sequence[T], rules: Sequence[T], *, use_guards: bool = True) -> None:
        self._ignore = tuple(ignore_rules)
        self._rules = tuple(rules)
        everything = (*self._ignore, *self._rules)
        self._guards = _Guards(
            [rule.expression.guards if use_guards else () for rule in everything],
            [bool(rule.expression.guards) and rule.expression.covered for rule in everything],
        )
        self._selected: dict[tuple[int, ...], Plan[T]] = {}
        self._refined: dict[tuple[tuple[int, ...], tuple[int, ...]], Plan[T]] = {}
        self._all = Plan(self._ignore, self._rules, _keys(everything))

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the guards read for every record (numbered from 0)."""
        return self._guards.fields

    @property
    def later_fields(self) -> tuple[str, ...]:
        """Fields only later guards read (numbered after `fields`), for `Plan.later`."""
        return self._guards.later_fields

    def unguarded_keys(self) -> frozenset[str]:
        """Keys of the rules no guard can rule out: every record needs them."""
        everything = (*self._ignore, *self._rules)
        return _keys(
            rule for rule, guards in zip(everything, self._guards.per_rule, strict=True) if not guards
        )

    def select(self, event: dict[str, Any]) -> Plan[T]:
        """The ignore rules and rules whose guards do not rule them out for `event`, each in order."""
        guards = self._guards
        if not guards.fields:
            return self._all
        classes = guards.classes(event)
        found = self._selected.get(classes)
        if found is None:
            found = self.plan_for(classes)
        if found.later:
            later = tuple(guards.other(number, guards.resolve(number, event)) for number in found.later)
            return self.refine(classes, later)
        return found

    def classifier(self, number: int) -> Callable[[Any], int]:
        """`classify(value)` for field `number` (of `fields` + `later_fields`): not remembered."""
        return self._guards.classifier(number)

    def string_classifier(self, number: int) -> Callable[[list[str]], list[int]] | None:
        """`classify_all(strings)`: the classes of many string values of field `number` at once,
        when every guard on it is a plain string test (guards.str_test); else None."""
        return self._guards.string_classifier(number)

    def string_tests(self, number: int) -> int:
        """How many guards test field `number` (each is one pass of `string_classifier`)."""
        return len(self._guards.field_guards(number))

    def plan_for(self, classes: tuple[int, ...]) -> Plan[T]:
        """The plan for the classes of `fields`, as `select` makes it before any refinement."""
        found = self._selected.get(classes)
        if found is None:
            found = self._plan(dict(enumerate(classes)))
            if len(self._selected) >= _CACHE_LIMIT:
                self._selected.clear()
            self._selected[classes] = found
        return found

    def refine(self, classes: tuple[int, ...], later: tuple[int, ...]) -> Plan[T]:
        """The final plan, from the classes of `fields` and of the plan's `later` fields (in order)."""
        key = (classes, later)
        found = self._refined.get(key)
        if found is None:
            known = dict(enumerate(classes))
            known.update(zip(self.plan_for(classes).later, later, strict=True))
            found = self._plan(known)
            if len(self._refined) >= _CACHE_LIMIT:
                self._refined.clear()
            self._refined[key] = found
        return found

    def _plan(self, known: dict[int, int]) -> Plan[T]:
        kept, later, true = self._guards.survivors(known)
        split = len(self._ignore)
        if kept and kept[0] < split and kept[0] in true:  # the first ignore rule to run is True
            ignore = (self._ignore[kept[0]],)
            return Plan(ignore, (), _keys(ignore), (), ignored=True)
        ignore = tuple(self._ignore[p] for p in kept if p < split)
        rules = tuple(self._rules[p - split] for p in kept if p >= split)
        return Plan(ignore, rules, _keys((*ignore, *rules)), later)


class Plan(NamedTuple, Generic[T]):
    """What to run for one record, and every key those rules may read.

    `later` (field numbers): the plan is not final until those fields refine it (Selector.refine).
    `ignored`: the record is known to be ignored, by `ignore[0]`, the only rule left (its guards are
    the whole rule and all passed): it can be counted as ignored without being evaluated.
    """

    ignore: tuple[T, ...]
    rules: tuple[T, ...]
    keys: frozenset[str]
    later: tuple[int, ...] = ()
    ignored: bool = False


def _keys(rules: Iterable[_HasExpression]) -> frozenset[str]:
    return frozenset().union(*(rule.expression.keys for rule in rules))


class _Guards:
    """Per guarded field: value -> outcome class; per tuple of classes: the surviving positions."""

    def __init__(self, per_rule: list[tuple[Guard, ...]], covers: list[bool]) -> None:
        # A first guard on a key through a list index ("items.0.x") would have every record
        # resolve it: such a rule has no guards (later guards on such keys are kept).
        cut = [_up_to_list_keys(guards) for guards in per_rule]
        self._covered = [
            c == whole and covered for c, whole, covered in zip(cut, per_rule, covers, strict=True)
        ]
        self.per_rule = self._per_rule = per_rule = cut
        first = {guards[0].key: True for guards in per_rule if guards}
        fields: dict[str, list[Guard]] = {key: [] for key in first}
        for guards in per_rule:
            for guard in guards:
                fields.setdefault(guard.key, []).append(guard)
        everything = tuple(fields)
        self.fields, self.later_fields = everything[: len(first)], everything[len(first) :]
        self._number = {field: number for number, field in enumerate(everything)}
        self._field_guards = [fields[field] for field in everything]
        self._paths = [KeyPath(field).resolve for field in everything]
        self._values: list[dict[Any, int]] = [{} for _ in everything]
        self._class_ids: list[dict[tuple[int, ...], int]] = [{} for _ in everything]
        self._class_outcomes: list[list[dict[Guard, int]]] = [[] for _ in everything]
        self._classifiers = [self._compile_classifier(number) for number in range(len(everything))]
        self._classes = self._compile_classes()

    def classes(self, event: dict[str, Any]) -> tuple[int, ...]:
        """For each guarded field, the id of the outcomes its value gives every guard on it."""
        return self._classes(event)

    def _compile_classes(self) -> Callable[[dict[str, Any]], tuple[int, ...]]:
        """`classes` as one generated function: it runs for every record, so no loop, no calls
        for top-level fields, and a single dict lookup for a string value seen before."""
        lines = ["def classes(event):", "    if event.__class__ is not dict:", "        return slow(event)"]
        namespace: dict[str, Any] = {"MISSING": MISSING, "slow": self._slow_classes, "other": self.other}
        for number, field in enumerate(self.fields):
            namespace[f"memo{number}"] = self._values[number]
            namespace[f"miss{number}"] = functools.partial(self._remember, number)
            if "." in field:
                namespace[f"resolve{number}"] = self._paths[number]
                lines.append(f"    v = resolve{number}(event)")
            else:
                lines.append(f"    v = event.get({field!r}, MISSING)")
            lines += [
                "    if v.__class__ is str or v is MISSING:",
                f"        c{number} = memo{number}.get(v)",
                f"        if c{number} is None:",
                f"            c{number} = miss{number}(v, v)",
                "    else:",
                f"        c{number} = other({number}, v)",
            ]
        lines.append("    return (" + "".join(f"c{number}, " for number in range(len(self.fields))) + ")")
        exec(compile("\n".join(lines), "<guard classes>", "exec"), namespace)  # noqa: S102 - our own code
        return namespace["classes"]

    def classifier(self, number: int) -> Callable[[Any], int]:
        return self._classifiers[number]

    def field_guards(self, number: int) -> list[Guard]:
        return self._field_guards[number]

    def string_classifier(self, number: int) -> Callable[[list[str]], list[int]] | None:
        guards = self._field_guards[number]
        tests = [guard.on_strings for guard in guards]
        if any(test is None for test in tests):
            return None
        vectors = [_string_vector(*test) for test in tests]  # type: ignore[misc]
        by_results: dict[Any, int] = {}  # a guard's bool, or a tuple of them -> class id
        classify = self._classifiers[number]

        def classify_all(values: list[str]) -> list[int]:
            results: Any = (
                vectors[0](values) if len(vectors) == 1 else zip(*(v(values) for v in vectors), strict=True)
            )
            found = list(map(by_results.get, results))
            if None in found:  # a combination of results not seen yet: classify one value with it
                for position, class_id in enumerate(found):
                    if class_id is None:
                        found[position] = class_id = classify(values[position])
                        results = tuple(bool(v(values[position : position + 1])[0]) for v in vectors)
                        by_results[results[0] if len(vectors) == 1 else results] = class_id
            return found  # type: ignore[return-value]

        return classify_all

    def resolve(self, number: int, event: Any) -> Any:
        """Field `number`'s value in `event` (MISSING when absent)."""
        return self._paths[number](event)

    def _slow_classes(self, event: Any) -> tuple[int, ...]:
        return tuple(self.other(number, self._paths[number](event)) for number in range(len(self.fields)))

    def other(self, number: int, value: Any) -> int:
        """The class of a value that is not a plain string (or of a top-level container)."""
        if isinstance(value, _CONTAINERS):
            value = MISSING  # what the resolver would have said of a top-level dict or list
        kind = value.__class__
        if kind is str:
            memo_key: Any = value
        elif kind is float:
            memo_key = (float, repr(value))  # 0.0 and -0.0 are equal but may test differently
        elif kind in _HASHED:
            memo_key = (kind, value)  # 1, 1.0 and True are equal as dict keys
        else:  # not from JSON (a test's datetime, say): not remembered
            return self._classify(number, value)
        found = self._values[number].get(memo_key)
        return self._remember(number, memo_key, value) if found is None else found

    def _remember(self, number: int, memo_key: Any, value: Any) -> int:
        found = self._classify(number, value)
        memo = self._values[number]
        if len(memo) >= _VALUE_LIMIT:
            memo.clear()
        memo[memo_key] = found
        return found

    def _classify(self, number: int, value: Any) -> int:
        return self._classifiers[number](value)

    def _compile_classifier(self, number: int) -> Callable[[Any], int]:
        """`classify(value)`: the class of one value of field `number`, every guard on it run once.

        Generated (guards.outcome inlined per guard): a high-cardinality field (a source IP, an
        ARN) classifies a new value on most records."""
        guards = self._field_guards[number]
        namespace: dict[str, Any] = {"new": functools.partial(self._new_class, number)}
        namespace["ids"] = self._class_ids[number]
        lines = ["def classify(value):"]
        for position, guard in enumerate(guards):
            namespace[f"test{position}"] = guard.test
            passed = FAIL if guard.whole else f"{PASS} if result else {FAIL}"  # a whole rule: True only
            lines += [
                "    try:",
                f"        result = test{position}(value)",
                "    except Exception:",
                f"        o{position} = {RAISES}",
                "    else:",
                f"        o{position} = {TRUE} if result is True else {passed}",
            ]
        outcomes = "(" + "".join(f"o{position}, " for position in range(len(guards))) + ")"
        lines += [
            f"    found = ids.get({outcomes})",
            f"    return new({outcomes}) if found is None else found",
        ]
        exec(compile("\n".join(lines), "<guard classifier>", "exec"), namespace)  # noqa: S102 - our own code
        return namespace["classify"]

    def _new_class(self, number: int, outcomes: tuple[int, ...]) -> int:
        ids = self._class_ids[number]
        found = ids[outcomes] = len(ids)
        self._class_outcomes[number].append(dict(zip(self._field_guards[number], outcomes, strict=True)))
        return found

    def survivors(self, known: dict[int, int]) -> tuple[list[int], tuple[int, ...], set[int]]:
        """Positions of the rules not ruled out (no guard fails after guards that all passed), the
        later fields whose guards are still to decide some of them, and the positions of the rules
        known to be True (guards that cover the whole rule, all passed, the last one exactly True).

        `known` maps field numbers to classes; a guard on a field not in it keeps its rule, and
        every later field that rule's guards read is returned."""
        by_guard: dict[Guard, int] = {}
        for number, class_id in known.items():
            by_guard.update(self._class_outcomes[number][class_id])
        kept = []
        later: set[int] = set()
        true: set[int] = set()
        for position, guards in enumerate(self._per_rule):
            result = None
            for guard in guards:
                result = by_guard.get(guard)
                if result is None:
                    kept.append(position)
                    later.update(self._number[other.key] for other in guards if other not in by_guard)
                    break
                if result == FAIL:
                    break
                if result == RAISES:
                    kept.append(position)
                    break
            else:
                kept.append(position)
                if result == TRUE and self._covered[position]:
                    true.add(position)
        return kept, tuple(sorted(later)), true


def _string_vector(kind: str, literal: Any) -> Callable[[list[str]], Any]:
    """`test(values)`: one result per string value that tells a guard's outcomes apart, each one
    C call. A negated test ("ne", "not in", "not contains") gives the results of the plain one:
    the classes are learned from the results (`string_classifier`), so the polarity is in them.
    """
    if kind in ("startswith", "endswith"):
        method = getattr(str, kind)
        return lambda values: list(map(method, values, itertools.repeat(literal)))
    if kind in ("eq", "ne"):
        if type(literal) is not str:  # a string never equals a number, a bool or None
            return lambda values: [False] * len(values)
        return lambda values: list(map(literal.__eq__, values))
    if kind in ("contains", "not contains"):  # a substring: `literal in value`
        return lambda values: list(map(operator.contains, values, itertools.repeat(literal)))
    return lambda values: list(map(literal.__contains__, values))  # "in" / "not in": a frozenset


def _up_to_list_keys(guards: tuple[Guard, ...]) -> tuple[Guard, ...]:
    """The guards, unless the first reads a key that may go through a list ("items.0.x"): every
    record would resolve it, and a column cannot hold it cheaply. A later guard may (only the
    records whose plans name it read it: `requestParameters.instancesSet.items.0.maxCount` after
    `eventName == "RunInstances"`)."""
    if guards and through_list(guards[0].key):
        return ()
    return guards
