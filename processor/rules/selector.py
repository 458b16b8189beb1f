"""Pick, for one record, the ignore rules and rules that can match it, by their guards.

For every field some rule tests first (see guards.py), the record's value is mapped to the
outcomes of all guards on that field: computed once per distinct value, on a stub record holding
only that field. The tuple of those outcome classes then maps to the rules that survive them,
also computed once. So a record costs one lookup per guarded field and one cache hit, and only
the rules that may be True, or may raise, for it are run. This is exact: a rule is dropped only
when one of its guards is falsy, without raising, after guards that all passed (see guards.py).

Unlike the eventName/eventSource index (dispatch.py), guards cover any field (errorCode,
userIdentity.type, ...) and any test on it (`.endswith`, `not in`, `is False`). Both caches hold
what depends only on values, so they are bounded and simply cleared when full.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Generic, NamedTuple, TypeVar

from processor.rules.dispatch import _HasExpression
from processor.rules.guards import FAIL, PASS, RAISES, Guard
from processor.rules.lookup import MISSING, KeyPath

_CACHE_LIMIT: Final[int] = 4096
_VALUE_LIMIT: Final[int] = 16384  # distinct values remembered per guarded field
_HASHED: Final = (int, bool, type(None), type(MISSING))  # compared by (type, value); str by value
_CONTAINERS: Final = (dict, list)

T = TypeVar("T", bound=_HasExpression)


class Selector(Generic[T]):
    """Ignore rules and rules, both ordered; `select(event)` gives the ones to run for `event`."""

    def __init__(self, ignore_rules: Sequence[T], rules: Sequence[T], *, use_guards: bool = True) -> None:
        self._ignore = tuple(ignore_rules)
        self._rules = tuple(rules)
        everything = (*self._ignore, *self._rules)
        self._guards = _Guards([rule.expression.guards if use_guards else () for rule in everything])
        self._selected: dict[tuple[int, ...], Plan[T]] = {}
        self._all = Plan(self._ignore, self._rules, _keys(everything))
        self._guarded = tuple(rule.expression.guards for rule in everything)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the guards read for every record."""
        return self._guards.fields

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
        return self.plan_for(classes) if found is None else found

    def class_of(self, number: int, value: Any) -> int:
        """The class of guarded field `number` (in `fields`) for a string value, or MISSING.

        Not remembered here: the caller keeps its own memo."""
        found = self._guards.memo(number).get(value)
        return self._guards.classify(number, value) if found is None else found

    def plan_for(self, classes: tuple[int, ...]) -> Plan[T]:
        """The plan for a tuple of classes (one per guarded field), as `select` makes it."""
        found = self._selected.get(classes)
        if found is None:
            guards = self._guards
            kept = guards.survivors(classes)
            split = len(self._ignore)
            ignore = tuple(self._ignore[p] for p in kept if p < split)
            rules = tuple(self._rules[p - split] for p in kept if p >= split)
            found = Plan(ignore, rules, _keys((*ignore, *rules)))
            if len(self._selected) >= _CACHE_LIMIT:
                self._selected.clear()
            self._selected[classes] = found
        return found


class Plan(NamedTuple, Generic[T]):
    """What to run for one record, and every key those rules may read."""

    ignore: tuple[T, ...]
    rules: tuple[T, ...]
    keys: frozenset[str]


def _keys(rules: Iterable[_HasExpression]) -> frozenset[str]:
    return frozenset().union(*(rule.expression.keys for rule in rules))


class _Guards:
    """Per guarded field: value -> outcome class; per tuple of classes: the surviving positions."""

    def __init__(self, per_rule: list[tuple[Guard, ...]]) -> None:
        # Only fields that some rule tests first are worth resolving for every record; a later
        # guard on another field (requestParameters.x after eventName) is left to the rule itself.
        first = {guards[0].key for guards in per_rule if guards}
        per_rule = [_leading(guards, first) for guards in per_rule]
        self.per_rule = self._per_rule = per_rule
        fields: dict[str, list[Guard]] = {}
        for guards in per_rule:
            for guard in guards:
                fields.setdefault(guard.key, []).append(guard)
        self.fields = tuple(fields)
        self._field_guards = [fields[field] for field in self.fields]
        self._segments = [field.split(".") for field in self.fields]
        self._tests = [[(guard.test, guard.whole) for guard in fields[field]] for field in self.fields]
        self._paths = [KeyPath(field).resolve for field in self.fields]
        self._values: list[dict[Any, int]] = [{} for _ in self.fields]
        self._class_ids: list[dict[tuple[int, ...], int]] = [{} for _ in self.fields]
        self._class_outcomes: list[list[dict[Guard, int]]] = [[] for _ in self.fields]
        self._classes = self._compile_classes()

    def classes(self, event: dict[str, Any]) -> tuple[int, ...]:
        """For each guarded field, the id of the outcomes its value gives every guard on it."""
        return self._classes(event)

    def _compile_classes(self) -> Callable[[dict[str, Any]], tuple[int, ...]]:
        """`classes` as one generated function: it runs for every record, so no loop, no calls
        for top-level fields, and a single dict lookup for a string value seen before."""
        lines = ["def classes(event):", "    if event.__class__ is not dict:", "        return slow(event)"]
        namespace: dict[str, Any] = {"MISSING": MISSING, "slow": self._slow_classes, "other": self._other}
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

    def memo(self, number: int) -> dict[Any, int]:
        return self._values[number]

    def classify(self, number: int, value: Any) -> int:
        """The class of a string value (or MISSING) of field `number`."""
        return self._classify(number, value)

    def _slow_classes(self, event: Any) -> tuple[int, ...]:
        return tuple(self._other(number, resolve(event)) for number, resolve in enumerate(self._paths))

    def _other(self, number: int, value: Any) -> int:
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
        if value is MISSING:  # guards.stub, inlined
            record: dict[str, Any] = {}
        else:
            segments = self._segments[number]
            record = {segments[-1]: value}
            for segment in segments[-2::-1]:
                record = {segment: record}
        outcomes: Any = []
        for test, whole in self._tests[number]:  # guards.outcome, inlined: this runs per new value
            try:
                result = test(record)
            except Exception:
                outcomes.append(RAISES)
                continue
            if whole:
                outcomes.append(PASS if result is True else FAIL)
            else:
                outcomes.append(PASS if result else FAIL)
        outcomes = tuple(outcomes)
        ids = self._class_ids[number]
        found = ids.get(outcomes)
        if found is None:
            found = ids[outcomes] = len(ids)
            self._class_outcomes[number].append(dict(zip(self._field_guards[number], outcomes, strict=True)))
        return found

    def survivors(self, classes: tuple[int, ...]) -> list[int]:
        """Positions of the rules not ruled out: no guard fails after guards that all passed."""
        by_guard: dict[Guard, int] = {}
        for number, class_id in enumerate(classes):
            by_guard.update(self._class_outcomes[number][class_id])
        kept = []
        for position, guards in enumerate(self._per_rule):
            for guard in guards:
                result = by_guard[guard]
                if result == FAIL:
                    break
                if result == RAISES:
                    kept.append(position)
                    break
            else:
                kept.append(position)
        return kept


def _leading(guards: tuple[Guard, ...], fields: set[str]) -> tuple[Guard, ...]:
    """The guards up to the first one on a field outside `fields`."""
    for position, guard in enumerate(guards):
        if guard.key not in fields:
            return guards[:position]
    return guards
