"""Bounded evaluation: every value a rule builds is bounded in size, and each evaluation in work.

A rule of a few hundred characters can ask for astronomically large values: `len(str(sorted(...)))`
nested 11 times around "ab" grows the text five-fold per level (4.6 s of CPU per event), `str([...])`
nested 28 times around a backslash doubles it per level (1.28 GB), a sum of `replace` chains builds
hundreds of megabytes. The checker cannot tell such a rule from a useful one, so the operations that
build values are charged as they run instead:

* each building operation (`str`, `sorted`, `+`, `replace`, `split`/`rsplit`, the case and strip
  methods, slices, the repr of containers, `event.values`, `event.text`, `json_values`,
  `re_search`) computes or bounds the size of its result *before* building it, and refuses to
  build anything over MAX_VALUE characters (or MAX_ELEMENTS list elements);
* the sizes built and scanned are charged to a Budget of WORK_LIMIT units per evaluation (one unit
  per character or element; a quantifier also pays, per element, the size of its test), so one
  rule on one event costs at most a few tens of milliseconds and megabytes however it is written.

Going over either bound raises LimitExceeded: a rule error for that rule on that event, counted and
logged with the rule's id like any other (ruleset.py), never a failure of the batch. A rule that
uses none of these operations (most rules: comparisons of fields with literals) is compiled without
a budget and costs nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

__all__ = [
    "MAX_VALUE",
    "MAX_ELEMENTS",
    "WORK_LIMIT",
    "Budget",
    "LimitExceeded",
    "bounded_add",
    "bounded_method",
    "bounded_replace",
    "bounded_slice",
    "bounded_sorted",
    "bounded_str",
    "charged",
]

# A CloudTrail record is at most a few hundred kilobytes (EventBridge: 256 KB), so a value larger
# than any record is never needed to test one.
MAX_VALUE: Final[int] = 1_000_000  # characters of a string a rule builds
MAX_ELEMENTS: Final[int] = 100_000  # elements of a list a rule builds (sorted, split, values)
# Units one evaluation of one rule may spend. A unit is about 5 ns of CPU at worst: a character
# built or scanned costs 1 (copying one costs less), and the fixed costs below are calibrated on
# the costliest rules found (tests/rules/test_bounded.py), so the whole budget is about 20 ms.
WORK_LIMIT: Final[int] = 4_000_000
CALL_COST: Final[int] = 50  # every bounded operation: the call itself, whatever it builds
ELEMENT_COST: Final[int] = 10  # each element event.values/json_values walk through
COMPARE_COST: Final[int] = 4  # each comparison sorted() may make (n log n of them)
LOOP_COST: Final[int] = 20  # each element a quantifier tests, besides one unit per node of its test

_CONTAINERS: Final = (list, tuple, set, frozenset)
_COPYING: Final = frozenset({"lower", "upper", "casefold", "strip", "lstrip", "rstrip"})
_SPLITTING: Final = frozenset({"split", "rsplit"})
BUILDING_METHODS: Final[frozenset[str]] = _COPYING | _SPLITTING | {"replace"}
"""Methods that build a value: a rule calling one is compiled with a Budget."""


class LimitExceeded(ValueError):
    """A rule asked for a value, or an amount of work, over the bounds: a rule error for this event."""


class Budget:
    """The work one evaluation of one rule may still do, in units (see WORK_LIMIT)."""

    __slots__ = ("left",)

    def __init__(self, units: int = WORK_LIMIT) -> None:
        self.left = units

    def spend(self, units: int) -> None:
        """Charge `units` (plus CALL_COST); LimitExceeded once the evaluation has spent more than
        WORK_LIMIT."""
        self.left -= units + CALL_COST
        if self.left < 0:
            raise LimitExceeded(f"the rule did more than {WORK_LIMIT} units of work on this event")

    def room(self, size: int, what: str, limit: int = MAX_VALUE) -> None:
        """Refuse, before building it, a result of `size` characters/elements; else charge it."""
        if size > limit:
            raise LimitExceeded(f"{what} would build {size} characters or elements; the limit is {limit}")
        self.spend(size)


def charged(budget: Budget, items: Iterable[Any], units: int) -> Iterator[Any]:
    """`items`, charging `units` per element: a quantifier's test runs once per element."""
    for item in items:
        budget.left -= units
        if budget.left < 0:
            budget.spend(0)  # raises
        yield item


def bounded_str(budget: Budget, *args: Any) -> Any:
    """`str(x)`; the repr of a container is measured before it is built."""
    if len(args) != 1:
        return str(*args)
    value = args[0]
    kind = type(value)
    if kind is str:
        budget.spend(0)
        return value
    if kind in _CONTAINERS:
        size = repr_size(value, min(MAX_VALUE, max(budget.left, 0)))
        budget.room(size, "str()")
        return repr(value)
    text = str(value)  # a number, a bool or None: a few characters (ints stop at 4300 digits)
    budget.spend(len(text))
    return text


def repr_size(value: Any, limit: int) -> int:
    """len(repr(value)), or some number over `limit` as soon as it is known to exceed it.

    Never builds more than one element's repr at a time, and an element's only when the element is
    small enough (a string's repr is at most 10 characters per character: \\U0001xxxx).
    """
    kind = type(value)
    if kind is str:
        return len(value) + 2 if len(value) > limit else len(repr(value))
    if kind not in _CONTAINERS:
        return len(repr(value))
    count = len(value)
    if not count:
        return 2 if kind is list or kind is tuple else len(repr(value))  # set(), frozenset()
    size = 2 + 2 * (count - 1) + (1 if kind is tuple and count == 1 else 0)
    if kind is frozenset:
        size += len("frozenset()")
    if size + count > limit:  # each element's repr is at least one character
        return size + count
    if set(map(type, value)) == {str}:  # the usual case (sorted, split, values): in C
        lower = size + sum(map(len, value)) + 2 * count
        if lower > limit:
            return lower
        return size + sum(map(len, map(repr, value)))  # each repr at most 10 x its string
    for element in value:
        size += repr_size(element, limit - size)
        if size > limit:
            return size
    return size


def bounded_sorted(budget: Budget, *args: Any) -> Any:
    """`sorted(x)`: at most MAX_ELEMENTS elements, charged n log n for the comparisons."""
    budget.spend(0)
    if len(args) == 1 and hasattr(args[0], "__len__"):
        count = len(args[0])
        budget.room(count, "sorted()", MAX_ELEMENTS)
        budget.spend(COMPARE_COST * count * max(count.bit_length(), 1))
    return sorted(*args)


def bounded_add(budget: Budget, left: Any, right: Any) -> Any:
    """`left + right`: a concatenation is measured before it is built."""
    kind = type(left)
    if kind is type(right) and kind in (str, list, tuple):
        budget.room(len(left) + len(right), "+", MAX_VALUE if kind is str else MAX_ELEMENTS)
    else:
        budget.spend(0)  # numbers
    return left + right


def bounded_slice(budget: Budget, value: Any, lower: Any, upper: Any, step: Any) -> Any:
    """`value[lower:upper:step]`: a copy of at most the value, charged as such."""
    budget.spend(len(value) if isinstance(value, str | list | tuple) else 0)
    return value[lower:upper:step]


def bounded_replace(budget: Budget, receiver: Any, *args: Any) -> Any:
    """`receiver.replace(*args)`, refusing a result over MAX_VALUE characters before building it."""
    budget.spend(0)
    if type(receiver) is str and len(args) >= 2 and type(args[0]) is str and type(args[1]) is str:
        old, new = args[0], args[1]
        budget.spend(len(receiver))  # counting the matches scans the receiver
        hits = receiver.count(old) if old else len(receiver) + 1
        if len(args) > 2 and type(args[2]) is int and args[2] >= 0:
            hits = min(hits, args[2])
        budget.room(len(receiver) + hits * (len(new) - len(old)), "replace()")
    return receiver.replace(*args)


def bounded_method(budget: Budget, receiver: Any, method: str, *args: Any) -> Any:
    """`receiver.<method>(*args)` for a building method other than replace (BUILDING_METHODS)."""
    if method == "replace":
        return bounded_replace(budget, receiver, *args)
    call = getattr(receiver, method)  # `method` is one of BUILDING_METHODS, checked at start
    if type(receiver) is not str:
        budget.spend(0)
        return call(*args)
    budget.spend(len(receiver))
    if method in _SPLITTING:
        return _bounded_split(budget, receiver, method, args)
    result = call(*args)  # at most 3 characters per character (casefold("ß") == "ss")
    budget.room(len(result), f"{method}()")
    return result


def _bounded_split(budget: Budget, receiver: str, method: str, args: tuple[Any, ...]) -> Any:
    """split/rsplit building at most MAX_ELEMENTS pieces: split at most that many times, and
    refuse when that cap (not the rule's own maxsplit) was reached."""
    separator = args[0] if args else None
    most = args[1] if len(args) > 1 else -1
    if type(most) is not int or (separator is not None and type(separator) is not str):
        return getattr(receiver, method)(*args)  # raises TypeError, as the rule would
    capped = MAX_ELEMENTS if most < 0 or most > MAX_ELEMENTS else most
    pieces = getattr(receiver, method)(separator, capped)
    if len(pieces) > capped and capped != most:  # the cap, not the rule's maxsplit, stopped it
        raise LimitExceeded(f"{method}() would build more than {MAX_ELEMENTS} pieces")
    budget.spend(len(pieces))
    return pieces
