"""Pick, for one record, the rules that can match it, in their original order.

Rules indexed on eventName/eventSource (see indexing.py) are looked up by the record's value;
the others always run. The merged, ordered candidate list depends only on the record's values
of the index fields, so it is computed once per distinct pair and cached: a Lambda sees a few
hundred distinct event names, not millions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Generic, Protocol, TypeVar

from processor.rules.language import CompiledExpression
from processor.rules.lookup import MISSING, KeyPath

_CACHE_LIMIT: Final[int] = 4096


class _HasExpression(Protocol):
    @property
    def expression(self) -> CompiledExpression: ...


T = TypeVar("T", bound=_HasExpression)


class Dispatch(Generic[T]):
    """An ordered list of rules plus the index that lets most records skip most of them."""

    def __init__(self, rules: Sequence[T], *, use_index: bool = True) -> None:
        self.rules: tuple[T, ...] = tuple(rules)
        self._always: list[int] = []
        self._by_value: dict[str, dict[str, list[int]]] = {}  # field -> value -> positions
        self._by_field: dict[str, list[int]] = {}  # field -> every position indexed on it
        for position, rule in enumerate(self.rules):
            index = rule.expression.index if use_index else None
            if index is None:
                self._always.append(position)
                continue
            field, values = index
            self._by_field.setdefault(field, []).append(position)
            for value in values:
                self._by_value.setdefault(field, {}).setdefault(value, []).append(position)
        self._fields = tuple(self._by_field)
        self._paths = tuple(KeyPath(field) for field in self._fields)
        self._cache: dict[tuple[Any, ...], tuple[T, ...]] = {}

    def candidates(self, event: dict[str, Any]) -> tuple[T, ...]:
        """The rules that may match `event`; a rule whose indexed field is missing is kept."""
        if not self._paths:
            return self.rules
        paths = self._paths
        if len(paths) == 1:
            values: tuple[Any, ...] = (paths[0].resolve(event),)
        elif len(paths) == 2:
            values = (paths[0].resolve(event), paths[1].resolve(event))
        else:
            values = tuple([path.resolve(event) for path in paths])
        found = self._cache.get(values)
        if found is None:
            found = self._select(values)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[values] = found
        return found

    def _select(self, values: tuple[Any, ...]) -> tuple[T, ...]:
        positions = set(self._always)
        for field, value in zip(self._fields, values, strict=True):
            if value is MISSING:
                positions.update(self._by_field[field])
            else:
                positions.update(self._by_value.get(field, {}).get(value, ()))
        return tuple(self.rules[position] for position in sorted(positions))
