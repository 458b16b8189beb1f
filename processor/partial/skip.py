"""Counting, in bulk, the records of a log-file run that no rule can match.

Most records match nothing: the values of their guarded fields (eventName, errorCode,
userIdentity.type, ...; see rules/selector.py) leave no ignore rule and no rule to run. For a run
of partial views (msgspec Structs, before they become dicts) this is decided with the selector's
own per-value memos, a column at a time: each guarded field's values are read with one list
comprehension and turned into the selector's classes with one `map`; the tuple of classes maps
to "nothing to run" or to the plan, also remembered. The records that need nothing are counted instead
of becoming Records, and the backfill counts them as unmatched (or outside the time window),
exactly what evaluating them would have counted: no rule runs on them, so there is no verdict,
no rule failure and no threshold hit.

Exactness. A value is classified here only when it is a string or absent (UNSET), read by
walking Structs member by member: then it is the value the selector's resolver finds in the
record's dict view (a member spelled with a dot on the way is refused by the schema, see
schema.py; past an absent member the value is absent), and its class is the selector's. A record
with any other value (a number, say), or whose walk meets a list or a scalar, is not counted here
but evaluated as usual, and a container value (not hashable) sends the whole run the usual way.
A record is counted only when it has eventName and eventSource (so it is a CloudTrail record)
and, when the window has bounds, a string eventTime (the filter's input). For the records it
does not count, the plan made from the same classes is handed on, so it is not made twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import msgspec

from processor.partial.phases import Phases
from processor.partial.schema import attribute_name
from processor.rules.lookup import MISSING

__all__ = ["Skipped", "Skipper"]

_MEMO_LIMIT: Final[int] = 16384
_UNSET: Final = msgspec.UNSET


class Skipped:
    """`count` consecutive elements no rule can match; `outside` of them are outside the window."""

    __slots__ = ("count", "outside")

    def __init__(self, count: int, outside: int) -> None:
        self.count = count
        self.outside = outside


class Skipper:
    """Which elements of a decoded run need no rule: `split(structs)`."""

    def __init__(self, phases: Phases, in_window: Callable[[str], bool] | None) -> None:
        self._selector = phases.rules.selector
        self._in_window = in_window  # eventTime string -> kept; None: no bounds, all kept
        self.fields = self._selector.fields
        self.enabled = bool(self.fields)
        self._columns = [_compile_column(field) for field in self.fields]
        self._paths = [
            tuple(attribute_name(segment) for segment in field.split(".")) for field in self.fields
        ]
        self._present = [_compile_column(field) for field in ("eventName", "eventSource")]
        self._memos: list[dict[Any, int]] = [{} for _ in self.fields]  # value -> class, per field
        self._plans: dict[tuple[int, ...], Any] = {}  # classes -> True (nothing to run) or the Plan
        self._time = attribute_name("eventTime")

    def split(self, structs: list[Any]) -> list[Any] | None:
        """Per element: True when no rule can match it, else its Plan (False: not known here).

        None when the run needs the usual way.
        """
        try:
            columns = [self._column(number, structs) for number in range(len(self.fields))]
            classes = [list(map(memo.get, values)) for memo, values in zip(self._memos, columns, strict=True)]
            for number, found in enumerate(classes):
                if None in found:
                    self._classify(number, columns[number], found)
            skips = list(map(self._plans.get, zip(*classes, strict=True)))
            absent = [_UNSET in column(structs) for column in self._present]
        except (AttributeError, TypeError):  # an unusual shape, or a value that is not hashable
            return None
        if None in skips:
            for position, skip in enumerate(skips):
                if skip is None:
                    skips[position] = self._decide(tuple(found[position] for found in classes))
        if True in absent:
            for column in self._present:
                for position, value in enumerate(column(structs)):
                    if value is _UNSET:
                        skips[position] = False
        return skips  # type: ignore[return-value]

    def _column(self, number: int, structs: list[Any]) -> list[Any]:
        try:
            return self._columns[number](structs)
        except AttributeError:  # some walk met an absent parent, a list or a scalar
            path = self._paths[number]
            return [_walk(struct, path) for struct in structs]

    def outside(self, struct: Any) -> bool | None:
        """True when the element is outside the window; None when it cannot be told from here."""
        if self._in_window is None:
            return False
        when = getattr(struct, self._time)
        if when.__class__ is not str:
            return None
        return not self._in_window(when)

    def _classify(self, number: int, values: list[Any], found: list[Any]) -> None:
        memo = self._memos[number]
        for position, value in enumerate(values):
            if found[position] is None:
                if value.__class__ is str:
                    found[position] = self._selector.class_of(number, value)
                elif value is _UNSET:
                    found[position] = self._selector.class_of(number, MISSING)
                else:  # a number, a bool, null: left to the usual evaluation
                    found[position] = -1
                    continue
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[value] = found[position]

    def _decide(self, classes: tuple[int, ...]) -> Any:
        if -1 in classes:
            return False
        plan = self._selector.plan_for(classes)
        found = True if not plan.ignore and not plan.rules else plan
        if len(self._plans) >= _MEMO_LIMIT:
            self._plans.clear()
        self._plans[classes] = found
        return found


_OTHER: Final = object()  # a walk that met a list or a scalar: left to the usual evaluation


def _walk(struct: Any, path: tuple[str, ...]) -> Any:
    """The value at `path`; UNSET past an absent member (a dotted spelling is refused by the schema)."""
    value = struct
    for name in path:
        if value is _UNSET:
            return _UNSET
        value = getattr(value, name, _OTHER)
        if value is _OTHER:
            return _OTHER
    return value


def _compile_column(field: str) -> Callable[[list[Any]], list[Any]]:
    """`column(structs)`: the field's value in each struct, read member by member."""
    read = ".".join(["s", *(attribute_name(segment) for segment in field.split("."))])
    source = f"def column(structs):\n    return [{read} for s in structs]\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<column>", "exec"), namespace)  # noqa: S102 - our own code
    return namespace["column"]
