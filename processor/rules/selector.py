"""Pick, for one record, the ignore rules and rules that can match it, by their guards.

Every field some guard reads (eventName, errorCode, userIdentity.type, ...; see guards.py) is
resolved for each record, and its value is mapped to its *class*: the outcomes of all the guards
on that field, computed once per distinct value and remembered. The tuple of classes maps to the
plan: the rules whose guards do not rule them out, also computed once. So a record costs one memo
lookup per guarded field and one cache hit, and only the rules that may be True, or may raise, for
it run. This is exact: a rule is dropped only when one of its guards is falsy, without raising,
after guards that all passed.

The same selector serves `RuleSet.evaluate` (on a decoded record) and the fast path
(processor/fastpath.py, on the same fields read from a partial decode), and `trailalert rules
check` prints each rule's guards: one story for all three.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar

from processor.rules.guards import FAIL, RAISES, TRUE, Guard
from processor.rules.lookup import MISSING, KeyPath

__all__ = ["Plan", "Selector", "REMEMBERED_TYPES", "IGNORED", "UNMATCHED", "RUN", "REFINE"]

# Distinct values remembered per field, and class tuples remembered: each cache is simply
# cleared when full, since it holds only what depends on values.
MEMO_LIMIT: Final[int] = 4096
PLAN_LIMIT: Final[int] = 4096
# A column with at least this many new strings has them classified in bulk (guards.string_test).
BULK_STRINGS: Final[int] = 16

# Values remembered by value. Numbers are not: True == 1 == 1.0 as dict keys, yet a guard may tell
# them apart (`is True`), so a number is classified each time (rare in a guarded field).
REMEMBERED_TYPES: Final = frozenset({str, bool, type(None), type(MISSING)})
_STR_ONLY: Final = frozenset({str})


class _HasGuards(Protocol):
    @property
    def expression(self) -> Any: ...


T = TypeVar("T", bound=_HasGuards)


class Plan(NamedTuple, Generic[T]):
    """What to run for one record.

    `ignored`: the record is known to be ignored, by `ignore[0]`, the only rule left (its guards
    are the whole rule and all passed): it can be counted as ignored without being evaluated.
    `later` (numbers of `Selector.fields`): the plan is not final until the classes of those
    fields refine it; `classes` are the first-level classes it was made from. `verdict` sums it
    up: IGNORED, UNMATCHED (no rule can match the record, nor raise on it), RUN or REFINE.
    """

    ignore: tuple[T, ...]
    rules: tuple[T, ...]
    ignored: bool = False
    later: tuple[int, ...] = ()
    classes: tuple[int, ...] = ()
    verdict: str = "run"

    @property
    def empty(self) -> bool:
        """No rule can match the record, nor raise on it."""
        return not self.ignore and not self.rules


IGNORED, UNMATCHED, RUN, REFINE = "ignored", "unmatched", "run", "refine"


class Selector(Generic[T]):
    """Ignore rules and rules, both ordered; `select(event)` gives the ones to run for `event`.

    Fields come in two levels. The first (`fields[:first]`) are those some rule tests first
    (eventName, errorCode, userIdentity.type, ...): every record's values are classified. The
    others are read by later guards only (`requestParameters.roleArn` after `eventName ==
    "AssumeRole"`): a plan made from the first level names, in `Plan.later`, the ones its rules
    still depend on, and only those are classified, so a field whose values are mostly new (an
    ARN, a source IP) costs only the records that some rule's first guard let through.
    """

    def __init__(self, ignore_rules: Sequence[T], rules: Sequence[T], *, use_guards: bool = True) -> None:
        self._ignore = tuple(ignore_rules)
        self._rules = tuple(rules)
        everything = (*self._ignore, *self._rules)
        self._per_rule: list[tuple[Guard, ...]] = [
            tuple(rule.expression.guards) if use_guards else () for rule in everything
        ]
        self._covered = [
            bool(guards) and rule.expression.covered
            for rule, guards in zip(everything, self._per_rule, strict=True)
        ]
        by_field: dict[str, list[Guard]] = {guards[0].key: [] for guards in self._per_rule if guards}
        self.first = len(by_field)
        """How many of `fields` are first-level fields."""
        for guards in self._per_rule:
            for guard in guards:
                by_field.setdefault(guard.key, []).append(guard)
        self.fields: tuple[str, ...] = tuple(by_field)
        """Every field a guard reads: the first level, then the later one."""
        self._field_guards = [tuple(by_field[field]) for field in self.fields]
        self._where = {
            guard: (number, place)
            for number, guards in enumerate(self._field_guards)
            for place, guard in enumerate(guards)
        }
        self._resolvers = [KeyPath(field).resolve for field in self.fields]
        # Per field, when every guard on it is a plain string test: those tests, for many strings
        # at once, and the class of each combination of their results.
        self._string_tests = [
            [guard.on_strings for guard in guards] if all(g.on_strings for g in guards) else None
            for guards in self._field_guards
        ]
        self._by_results: list[dict[tuple[Any, ...], int]] = [{} for _ in self.fields]
        self._memos: list[dict[Any, int]] = [{} for _ in self.fields]  # value -> class
        self._class_ids: list[dict[tuple[int, ...], int]] = [{} for _ in self.fields]  # outcomes -> class
        self._outcomes: list[list[tuple[int, ...]]] = [[] for _ in self.fields]  # class -> outcomes
        self._plans: dict[tuple[int, ...], Plan[T]] = {}
        self._refined: dict[tuple[tuple[int, ...], tuple[int, ...]], Plan[T]] = {}
        self._all = Plan(self._ignore, self._rules)
        self.unguarded = tuple(
            rule for rule, guards in zip(everything, self._per_rule, strict=True) if not guards
        )
        """Rules no guard can rule out: they run on every record."""

    def select(self, event: dict[str, Any]) -> Plan[T]:
        """The ignore rules and rules whose guards do not rule them out for `event`, each in order."""
        if not self.fields:
            return self._all
        resolvers = self._resolvers
        plan = self.plan(self.classes([resolve(event) for resolve in resolvers[: self.first]]))
        if plan.later:
            plan = self.refine(plan, [resolvers[number](event) for number in plan.later])
        return plan

    def select_values(self, values: Sequence[Any]) -> Plan[T]:
        """`select` for a record whose fields' values are known already: `values` in the order of
        `fields`, each a JSON scalar, or MISSING where flatten has no such field."""
        if not self.fields:
            return self._all
        plan = self.plan(self.classes(values[: self.first]))
        if plan.later:
            plan = self.refine(plan, [values[number] for number in plan.later])
        return plan

    def classes(self, values: Sequence[Any], numbers: Sequence[int] | None = None) -> tuple[int, ...]:
        """The class of each value: of the fields `numbers` (default: the first `len(values)`)."""
        numbers = numbers or range(len(values))
        if REMEMBERED_TYPES.issuperset(map(type, values)):
            found = tuple(map(dict.get, [self._memos[n] for n in numbers], values))
            if None not in found:
                return found  # type: ignore[return-value]
            return tuple(
                self._class_of(number, value) if known is None else known
                for number, value, known in zip(numbers, values, found, strict=True)
            )
        return tuple(self._class_of(number, value) for number, value in zip(numbers, values, strict=True))

    def column_classes(self, number: int, values: list[Any]) -> list[int]:
        """The classes of many values of field `number` (JSON scalars, or MISSING).

        Values not remembered are classified one by one, except that many new strings of a field
        whose guards are plain string tests are classified in bulk: a field whose values are
        mostly new (an ARN, a source IP) costs a few C-level passes over them.
        """
        if not REMEMBERED_TYPES.issuperset(map(type, values)):  # numbers: never looked up by value
            return [self._class_of(number, value) for value in values]
        return self.remembered_classes(number, values)

    def remembered_classes(self, number: int, values: list[Any]) -> list[int]:
        """`column_classes` of values the caller knows are all of REMEMBERED_TYPES."""
        memo = self._memos[number]
        try:  # the usual column: every value remembered (a KeyError is cheaper than looking for None)
            return list(map(memo.__getitem__, values))
        except KeyError:
            found = list(map(memo.get, values))
        tests = self._string_tests[number]
        if tests is not None and found.count(None) >= BULK_STRINGS:
            if _STR_ONLY.issuperset(map(type, values)):  # every value through the tests, in C
                return self._string_classes(number, tests, values)
            new = [p for p, known in enumerate(found) if known is None and type(values[p]) is str]
            strings = [values[p] for p in new]
            for position, class_id in zip(new, self._string_classes(number, tests, strings), strict=True):
                found[position] = class_id
        for position, known in enumerate(found):
            if known is None:
                found[position] = self._class_of(number, values[position])
        return found  # type: ignore[return-value]

    def _string_classes(self, number: int, tests: list[Any], strings: list[str]) -> list[int]:
        """The classes of many strings of field `number` from the results of its string tests
        (guards.string_test), each combination of results classified once; remembered."""
        results = list(zip(*(list(test(strings)) for test in tests), strict=True))
        by_results = self._by_results[number]
        classes = list(map(by_results.get, results))
        if None in classes:
            for position, known in enumerate(classes):
                if known is None:
                    known = by_results.get(results[position])
                    if known is None:
                        known = by_results[results[position]] = self._class_of(number, strings[position])
                    classes[position] = known
        memo = self._memos[number]
        if len(memo) + len(strings) > MEMO_LIMIT:
            memo.clear()
        memo.update(zip(strings, classes, strict=True))
        return classes

    def plans(self, classes: list[tuple[int, ...]]) -> list[Plan[T]]:
        """`plan` of each tuple of first-level classes."""
        try:
            return list(map(self._plans.__getitem__, classes))
        except KeyError:
            return list(map(self.plan, classes))

    def plan(self, classes: tuple[int, ...]) -> Plan[T]:
        """The plan for these classes of the first-level fields (not final if `later` is set)."""
        found = self._plans.get(classes)
        if found is None:
            found = self._plan(dict(enumerate(classes)), classes)
            if len(self._plans) >= PLAN_LIMIT:
                self._plans.clear()
            self._plans[classes] = found
        return found

    def refine(self, plan: Plan[T], values: Sequence[Any]) -> Plan[T]:
        """The final plan, from a first-level plan and the values of its `later` fields (in order)."""
        return self.refined([plan.classes], plan.later, [self.classes(values, plan.later)])[0]

    def refined(
        self, first: list[tuple[int, ...]], later: tuple[int, ...], classes: list[tuple[int, ...]]
    ) -> list[Plan[T]]:
        """The final plans of records whose first-level plans (made from the classes `first`)
        all await the fields `later`, whose classes are `classes`."""
        keys = list(zip(first, classes, strict=True))
        try:
            return list(map(self._refined.__getitem__, keys))
        except KeyError:
            found = list(map(self._refined.get, keys))
        for position, known in enumerate(found):
            if known is None:
                first_classes, later_classes = keys[position]
                known = dict(enumerate(first_classes))
                known.update(zip(later, later_classes, strict=True))
                if len(self._refined) >= PLAN_LIMIT:
                    self._refined.clear()
                found[position] = self._refined[keys[position]] = self._plan(known, first_classes)
        return found  # type: ignore[return-value]

    def _class_of(self, number: int, value: Any) -> int:
        remembered = type(value) in REMEMBERED_TYPES
        memo = self._memos[number]
        if remembered:
            found = memo.get(value)
            if found is not None:
                return found
        outcomes = tuple(guard.outcome(value) for guard in self._field_guards[number])
        ids = self._class_ids[number]
        class_id = ids.get(outcomes)
        if class_id is None:
            class_id = ids[outcomes] = len(self._outcomes[number])
            self._outcomes[number].append(outcomes)
        if remembered:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[value] = class_id
        return class_id

    def _plan(self, known: dict[int, int], classes: tuple[int, ...]) -> Plan[T]:
        """The rules not ruled out by the guards on the fields of `known` (field number -> class);
        a rule whose guards reach a field not in `known` is kept, and `later` lists such fields."""
        kept: list[int] = []
        later: set[int] = set()
        true: set[int] = set()
        for position, guards in enumerate(self._per_rule):
            result = None
            for place, guard in enumerate(guards):
                number, at = self._where[guard]
                if number not in known:
                    kept.append(position)
                    later.update(self._where[other][0] for other in guards[place:])
                    later.difference_update(known)
                    break
                result = self._outcomes[number][known[number]][at]
                if result == FAIL:
                    break
                if result == RAISES:
                    kept.append(position)
                    break
            else:
                kept.append(position)
                if result == TRUE and self._covered[position]:
                    true.add(position)
        split = len(self._ignore)
        if kept and kept[0] < split and kept[0] in true:  # the first ignore rule to run is True
            return Plan((self._ignore[kept[0]],), (), ignored=True, verdict=IGNORED)
        ignore = tuple(self._ignore[p] for p in kept if p < split)
        rules = tuple(self._rules[p - split] for p in kept if p >= split)
        verdict = REFINE if later else RUN if kept else UNMATCHED
        return Plan(ignore, rules, later=tuple(sorted(later)), classes=classes, verdict=verdict)
