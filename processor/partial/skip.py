"""Counting, in bulk, the records of a log-file run that no rule can match.

Most records match nothing: the values of their guarded fields (eventName, errorCode,
userIdentity.type, ...; see rules/selector.py) leave no ignore rule and no rule to run. For a run
of partial views (msgspec Structs, before they become dicts) this is decided with the selector's
own per-value memos, a column at a time: each guarded field's values are read with one list
comprehension and turned into the selector's classes with one `map`; the tuple of classes maps
to "nothing to run" or to the plan, also remembered. The records that need nothing are counted instead
of becoming Records, and the backfill counts them as unmatched (or outside the time window),
exactly what evaluating them would have counted: no rule runs on them, so there is no verdict,
no rule failure and no threshold hit. So are the records an ignore rule is known to match (its
guards are the whole rule and all passed, Plan.ignored): counted as ignored, with no failure,
since no ignore rule before it in the plan could run.

A field whose values are mostly new (a source IP, an ARN) skips its memo for a while and has
its strings classified directly; a plan that later fields refine (`_Pending`) reads just those
fields' remembered classes with one generated function per element.

Exactness. A value is classified here only when it is a string, a boolean, null or absent (UNSET),
read by walking Structs member by member: then it is the value the selector's resolver finds in
the record's dict view, and its class is the selector's. On the way, an absent member, null, a
string or a list holds nothing further, so the field is absent, as in the flattened record (a
guard field has no list index after its first segment, and a member spelled with a dot is
refused by the schema, see schema.py). True and False are equal to 1 and 0 as dict keys, so a
field whose memo holds them has its numbers set apart before they can find a boolean's class.
A record with any other value (a number, say), or that is not a JSON object, is not counted here
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
from processor.partial.schema import (
    attribute_name,
    envelope_keys,
    envelope_type,
    located,
    object_type,
    record_type,
)
from processor.rules.lookup import MISSING, is_canonical_index, through_list

__all__ = ["IGNORED", "Skipped", "Skipper", "compile_function"]

# Distinct values remembered per field (and class tuples remembered): there are about 25 fields
# with the user rules of the bench, so 16,384 each held ~60 MB of strings once a big file filled
# them; a value seen more often than once in 4,096 records stays remembered anyway.
_MEMO_LIMIT: Final[int] = 4096
_UNSET: Final = msgspec.UNSET


class Skipped:
    """`count` consecutive elements no rule can match or an ignore rule is known to match:
    `outside` of them are outside the window, `ignored` of the others are ignored."""

    __slots__ = ("count", "outside", "ignored")

    def __init__(self, count: int, outside: int, ignored: int = 0) -> None:
        self.count = count
        self.outside = outside
        self.ignored = ignored


class Skipper:
    """Which elements of a decoded run need no rule: `split(structs)`."""

    def __init__(self, phases: Phases, in_window: Callable[[str], bool] | None) -> None:
        selector = self._selector = phases.rules.selector
        self._in_window = in_window  # eventTime string -> kept; None: no bounds, all kept
        self.has_window = in_window is not None
        self.fields = selector.fields
        self.enabled = bool(self.fields)
        everything = self._everything = (*selector.fields, *selector.later_fields)
        self._columns = [_Column(field) for field in self.fields]
        self._readers = [_compile_reader(field) for field in everything]  # one struct at a time
        self._paths = [
            tuple(attribute_name(segment) for segment in field.split(".")) for field in self.fields
        ]
        # eventName/eventSource (a record has both): the guards' columns when they are guarded
        self._present = [
            self.fields.index(field) if field in self.fields else _Column(field)
            for field in ("eventName", "eventSource")
        ]
        # value -> class, per field; cleared in place, never replaced: generated readers hold `get`
        self._memos: list[dict[Any, int]] = [{} for _ in everything]
        # Every guarded field's class in one comprehension (see _remembered), when eventName and
        # eventSource are guarded: their memos never hold UNSET, so an absent one is a miss.
        present = [found for found in self._present if found.__class__ is int]
        self._not_remembered = frozenset(present) if len(present) == 2 else frozenset()
        # (fields classified directly, see _remembered) -> the comprehension for the others
        self._keys: dict[tuple[int, ...], Callable[..., list[Any]]] | None = {} if len(present) == 2 else None
        self._keys_off = 0  # runs left to take the columns
        self._keys_missed = False  # ... because values were not remembered (not a missing member)
        self._missed = 0  # values the current run did not find in their memos (direct fields aside)
        self._classify_value = [selector.classifier(number) for number in range(len(everything))]
        self._classify_strings = [selector.string_classifier(number) for number in range(len(everything))]
        # True for a field whose memo holds True/False, which equal 1/0 as keys: see _numbers_apart
        self._bools = [False for _ in everything]
        # A field whose values are mostly new (a source IP): its strings are classified directly,
        # not looked up first (set when most of a run's values missed the memo; see _classes).
        self._direct = [0 for _ in self.fields]  # runs left to classify directly
        self._few_tests = [
            selector.string_tests(number) <= _DIRECT_TESTS for number in range(len(self.fields))
        ]
        self._plans: dict[tuple[int, ...], Any] = {}  # classes -> True, the Plan, or _Pending
        self._later_readers: dict[tuple[int, ...], Callable[[Any], Any]] = {}  # see _later_reader
        self._time = attribute_name("eventTime")
        # What `split` reads of a log file's records, and nothing else: the guarded fields,
        # eventName/eventSource (a record) and eventTime (the window). Most records are only
        # counted, so decoding eventID, eventTime and the rest for them is wasted (measured: the
        # strings and Structs msgspec builds and frees for phase 1's fields). A Kinesis payload
        # is skimmed for the same fields, plus errorCode (the AccessDenied metric counts it).
        #
        # Later fields join the skim only once records need them often (see _promote): each
        # one skimmed costs every record (its member, and the dotted spellings it refuses), while
        # most are read for a few records only (`requestParameters.policyArn` after
        # `eventName in [AttachUserPolicy, ...]`). Until then the records whose plan reads one
        # are decoded again from their bytes (a log-file record's, or a Kinesis payload's) for
        # just the plan's later fields (see _refine_all), or, where no bytes are at hand, left to
        # the usual evaluation.
        # Fields through a list index ("instancesSet.items.0.maxCount") never join it: arrays of
        # structs cost every record (measured on the bench corpus: the skim took 1.3x as long
        # with the four of the user rules).
        self._through_list = frozenset(
            number for number, field in enumerate(everything) if through_list(field)
        )
        self._unskimmed = set(range(len(self.fields), len(everything))) | self._through_list
        self._needed = [0 for _ in everything]  # records whose plan read the field unskimmed
        self._seen = 0  # records split since the counts were last halved
        # (later fields, of a Kinesis payload) -> the decoder of just those (see _unskimmed_struct)
        self._later_records: dict[tuple[tuple[int, ...], bool], msgspec.json.Decoder[Any]] = {}
        self.skim_keys = self._skim_keys()
        # A record's first member, decoded as a Raw: where a kept record is in its run (see
        # logruns.Run), unless a rule reads it (then kept records are found by a second scan).
        self.locator: str | None = None
        if not any(field.split(".")[0] == "eventVersion" for field in everything):
            self.locator = attribute_name("eventVersion")
        self._skim_run: msgspec.json.Decoder[Any] | None = None
        self._skim_payload: msgspec.json.Decoder[Any] | None = None
        self._skim_envelope: msgspec.json.Decoder[Any] | None = None

    def _skim_keys(self) -> frozenset[str]:
        skimmed = [field for number, field in enumerate(self._everything) if number not in self._unskimmed]
        return frozenset(
            {*skimmed, "eventName", "eventSource"} | ({"eventTime"} if self.has_window else set())
        )

    @property
    def skim_run(self) -> msgspec.json.Decoder[Any]:
        """A log-file run's decoder for `skim_keys` only (records it keeps are decoded again)."""
        if self._skim_run is None:
            keys = self.skim_keys | ({located("eventVersion")} if self.locator else set())
            self._skim_run = msgspec.json.Decoder(list[record_type(keys)])  # type: ignore[misc]
        return self._skim_run

    @property
    def skim_payload(self) -> msgspec.json.Decoder[Any]:
        """A Kinesis payload's decoder (EventBridge envelope or bare record) for `skim_keys` and
        errorCode (the Lambda's AccessDenied metric counts it in the records only counted)."""
        if self._skim_payload is None:
            keys = envelope_keys(self.skim_keys | {"errorCode"})
            self._skim_payload = msgspec.json.Decoder(object_type(keys))
        return self._skim_payload

    @property
    def skim_envelope(self) -> msgspec.json.Decoder[Any]:
        """`skim_payload` for a payload that is an EventBridge envelope: only its detail-type and
        detail are members (a bare record decodes with neither, and takes `skim_payload`)."""
        if self._skim_envelope is None:
            self._skim_envelope = msgspec.json.Decoder(envelope_type(self.skim_keys | {"errorCode"}))
        return self._skim_envelope

    def split(
        self,
        structs: list[Any],
        element: Callable[[int], Any] | None = None,
        payload_record: Callable[[Any], Any] | None = None,
    ) -> list[Any] | None:
        """Per element: True when no rule can match it, IGNORED when an ignore rule is known to
        match it (Plan.ignored), else its Plan (False: not known here).

        `element(position)` gives an element's bytes, for the few whose plan reads a field the
        skim leaves out; without it, those are not known here. They are a log-file record's, or,
        with `payload_record`, a Kinesis payload's (an EventBridge envelope or a bare record,
        decoded as either): `payload_record(decoded)` is the record in it, or None.
        None when the run needs the usual way (and always when no rule has a guard).
        """
        if not self.enabled:
            return None
        skips = self._remembered(structs)
        absent: list[int] = []
        if skips is None:
            found = self._by_columns(structs)
            if found is None:
                return None
            skips, absent = found
        pending = [position for position, skip in enumerate(skips) if skip.__class__ is _Pending]
        if pending:
            self._refine_all(structs, skips, pending, element, payload_record)
        self._promote(len(structs))
        for position in absent:
            skips[position] = False
        return skips

    def _by_columns(self, structs: list[Any]) -> tuple[list[Any], list[int]] | None:
        """`split`'s first answer for each struct, a column at a time, and the positions of the
        structs without eventName or eventSource; None when the run needs the usual way."""
        self._missed = 0
        try:
            columns = [self._column(number, structs) for number in range(len(self.fields))]
            classes = [self._classes(number, values) for number, values in enumerate(columns)]
            keys = list(zip(*classes, strict=True))
            skips = list(map(self._plans.get, keys))
            present = [
                columns[found] if found.__class__ is int else found(structs) for found in self._present
            ]
            absent = [
                position
                for values in present
                if _UNSET in values
                for position, value in enumerate(values)
                if value is _UNSET
            ]
        except (AttributeError, TypeError):  # an unusual shape, or a value that is not hashable
            return None
        if None in skips:
            for position, skip in enumerate(skips):
                if skip is None:
                    skips[position] = self._decide(keys[position])
        if self._keys_missed and self._missed * _MISSES_ONE_IN <= len(structs):
            self._keys_off = 0  # the memos now hold the values: the next run reads them at once
        return skips, absent

    def _remembered(self, structs: list[Any]) -> list[Any] | None:
        """`split`'s first answer for each struct (a pending plan not yet refined) when most of
        the run's values are remembered; None when the run takes the columns.

        One generated comprehension reads every guarded field of a struct and looks its class up
        in the field's memo (`_keys`), instead of a column and a `map` per field: half the time,
        measured on the bench's Kinesis batch. A value not remembered (a new source IP; an absent
        eventName or eventSource, which the memos never hold, see `_class`) leaves None in the
        tuple, and that struct is classified alone (`_decide_one`). When many are, or a member
        is missing on the way, or a value is not hashable, the columns classify the run in bulk
        (and the next _SLOW_RUNS runs, or until a run's values are found remembered), as do
        fields whose memo holds booleans (1 == True).
        """
        if self._keys is None or True in self._bools[: len(self.fields)]:
            return None
        if self._keys_off:
            self._keys_off -= 1
            return None
        # Fields classified directly (mostly new values: see _classes) are read as columns and
        # passed in; not eventName or eventSource, whose absence must show as a miss.
        direct = tuple(number for number, runs in enumerate(self._direct) if runs)
        if not self._not_remembered.isdisjoint(direct):
            return None
        reader = self._keys.get(direct)
        if reader is None:
            if len(self._keys) >= _MEMO_LIMIT:
                self._keys.clear()
            reader = self._keys[direct] = _keys_reader(self.fields, self._memos, direct)
        try:
            keys = reader(
                structs, *[self._classes(number, self._column(number, structs)) for number in direct]
            )
        except (AttributeError, TypeError):  # a member missing on the way, or a value not hashable
            self._keys_off, self._keys_missed = _SLOW_RUNS, False
            return None
        skips = list(map(self._plans.get, keys))
        if None in skips:
            misses = [position for position, skip in enumerate(skips) if skip is None]
            if len(misses) * _MISSES_ONE_IN > len(structs):  # many new values: columns, in bulk
                self._keys_off, self._keys_missed = _SLOW_RUNS, True
                return None
            for position in misses:
                skips[position] = self._decide_one(structs[position], keys[position])
        return skips

    def _decide_one(self, struct: Any, key: tuple[Any, ...]) -> Any:
        """What `split` first says of one struct whose tuple of remembered classes is `key`."""
        if None in key:
            classes = list(key)
            for number, found in enumerate(key):
                if found is None:
                    value = self._readers[number](struct)
                    if value is _UNSET and number in self._not_remembered:
                        return False  # no eventName or no eventSource: not known to be a record
                    classes[number] = self._class(
                        number, value, self._memos[number], self._classify_value[number]
                    )
            key = tuple(classes)
        found = self._plans.get(key)
        return found if found is not None else self._decide(key)

    def _column(self, number: int, structs: list[Any]) -> list[Any]:
        try:
            return self._columns[number](structs)
        except AttributeError:  # some element is not a JSON object
            path = self._paths[number]
            return [_walk(struct, path) for struct in structs]

    def _classes(self, number: int, values: list[Any]) -> list[Any]:
        """The class of each value of guarded field `number` (-1: left to the usual evaluation)."""
        memo = self._memos[number]
        if self._direct[number]:
            kinds = set(map(type, values))
            if kinds == _STR:
                self._direct[number] -= 1
                return self._classify_strings[number](values)  # type: ignore[misc]
            if kinds <= _STR_OR_EMPTY:  # strings, and the field absent or null in a few records
                self._direct[number] -= 1
                return self._strings_with_holes(number, values, memo)
        found = list(map(memo.get, values))
        if self._bools[number]:
            _numbers_apart(values, found)
        if None in found:
            self._missed += found.count(None)
            self._classify(number, values, found)
        return found

    def outside(self, struct: Any) -> bool | None:
        """True when the element is outside the window; None when it cannot be told from here."""
        if self._in_window is None:
            return False
        when = getattr(struct, self._time)
        if when.__class__ is not str:
            return None
        return not self._in_window(when)

    def _strings_with_holes(self, number: int, values: list[Any], memo: dict[Any, int]) -> list[Any]:
        """Direct classes of a column of strings with a few absent or null values among them."""
        holes = []
        for empty in (_UNSET, None):
            at = -1
            try:
                while True:
                    at = values.index(empty, at + 1)
                    holes.append(at)
            except ValueError:
                pass
        filled = values.copy()
        for at in holes:
            filled[at] = ""
        found = self._classify_strings[number](filled)  # type: ignore[misc]
        for at in holes:
            value = values[at]
            known = memo.get(value)
            found[at] = (
                known if known is not None else self._class(number, value, memo, self._classify_value[number])
            )
        return found

    def _classify(self, number: int, values: list[Any], found: list[Any]) -> None:
        memo, classify = self._memos[number], self._classify_value[number]
        positions = [position for position, known in enumerate(found) if known is None]
        missed = [values[position] for position in positions]
        if set(map(type, missed)) == _STR:  # the usual miss (a new source IP): classified in bulk
            strings = self._classify_strings[number]
            # (not on a memo's first run: every value is new to an empty memo)
            if strings is not None and number < len(self._direct) and 2 * len(missed) > len(values) and memo:
                self._direct[number] = _DIRECT_RUNS if self._few_tests[number] else 0
            classes = strings(missed) if strings is not None else list(map(classify, missed))
            for position, class_id in zip(positions, classes, strict=True):
                found[position] = class_id
            if len(memo) + len(missed) > _MEMO_LIMIT:
                memo.clear()
            memo.update(zip(missed, classes, strict=True))
            return
        for position, value in zip(positions, missed, strict=True):
            found[position] = self._class(number, value, memo, classify)

    def _class(self, number: int, value: Any, memo: dict[Any, int], classify: Callable[[Any], int]) -> int:
        """The class of one value read from a struct; -1 when the element is not an object, or
        the value is a container (a list or an object: not hashable, left to the usual evaluation)."""
        kind = value.__class__
        if value is _OTHER or kind is list or isinstance(value, msgspec.Struct):
            return -1
        found = classify(MISSING if value is _UNSET else value)
        if kind is int or kind is float:  # not remembered: 1 and True are one key
            return found
        if value is _UNSET and number in self._not_remembered:  # see _remembered
            return found
        if kind is bool:
            self._bools[number] = True
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[value] = found
        return found

    def _refine_all(
        self,
        structs: list[Any],
        skips: list[Any],
        pending: list[int],
        element: Callable[[int], Any] | None,
        payload_record: Callable[[Any], Any] | None,
    ) -> None:
        """Replace each pending plan by True or the final Plan, once its later fields are read.

        A pending plan carries a generated function reading just its later fields from a struct
        and looking their classes up (None on any miss), and remembers what those classes refine
        to: most elements cost one call and one lookup; the others take `_refine`.
        """
        needed = self._needed
        for position in pending:
            waiting = skips[position]
            struct = structs[position]
            if waiting.unskimmed:  # a later field the skim leaves out: read from the element's bytes
                for number in waiting.unskimmed:
                    needed[number] += 1
                struct = self._unskimmed_struct(position, element, waiting.plan.later, payload_record)
                if struct is None:
                    skips[position] = False
                    continue
            found = waiting.results.get(waiting.classes(struct))
            if found is None:
                found = self._refine(struct, waiting)
            skips[position] = found

    def _unskimmed_struct(
        self,
        position: int,
        element: Callable[[int], Any] | None,
        later: tuple[int, ...],
        payload_record: Callable[[Any], Any] | None,
    ) -> Any:
        """The element decoded with the later fields `later` (all a pending plan reads), or None
        when it cannot be."""
        if element is None:
            return None
        key = (later, payload_record is not None)
        decoder = self._later_records.get(key)
        if decoder is None:
            keys = {self._everything[number] for number in later}
            kind = object_type(envelope_keys(keys)) if payload_record is not None else record_type(keys)
            if len(self._later_records) >= _MEMO_LIMIT:
                self._later_records.clear()
            decoder = self._later_records[key] = msgspec.json.Decoder(kind)
        try:
            decoded = decoder.decode(element(position))
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None
        if payload_record is not None:
            decoded = payload_record(decoded)
            if not isinstance(decoded, msgspec.Struct):  # no record, or not an object
                return None
        return decoded

    def _promote(self, records: int) -> None:
        """Move into the skim the later fields that enough of the records split so far needed.

        Break-even, measured on the bench corpus: skimming a field costs every record about what
        decoding one record again costs divided by 200, so a field joins once more than one record
        in 200 needed it (and at least _PROMOTE_AT_LEAST did). The counts halve every _WINDOW
        records, so a field that becomes common later joins as soon. A field never leaves.
        """
        self._seen += records
        needed, seen = self._needed, self._seen
        promoted = [
            number
            for number in self._unskimmed
            if needed[number] >= _PROMOTE_AT_LEAST
            and needed[number] * _PROMOTE_ONE_IN > seen
            and number not in self._through_list
        ]
        if promoted:
            self._unskimmed.difference_update(promoted)
            self.skim_keys = self._skim_keys()
            self._skim_run = self._skim_payload = self._skim_envelope = None
            self._plans.clear()  # their _Pending know which later fields were unskimmed
        if seen > _WINDOW:
            self._seen //= 2
            self._needed = [count // 2 for count in needed]

    def _refine(self, struct: Any, waiting: _Pending) -> Any:
        """True, the final Plan, or False (a later value left to the usual evaluation)."""
        later = []
        for number in waiting.plan.later:
            value = self._readers[number](struct)
            memo = self._memos[number]
            kind = value.__class__
            found = (
                memo.get(value) if kind is str or kind is bool or value is None or value is _UNSET else None
            )
            if found is None:
                found = self._class(number, value, memo, self._classify_value[number])
                if found == -1:
                    return False
            later.append(found)
        classes = tuple(later)
        result = _outcome(self._selector.refine(waiting.key, classes))
        if len(waiting.results) >= _MEMO_LIMIT:
            waiting.results.clear()
        waiting.results[classes] = result
        return result

    def _decide(self, classes: tuple[int, ...]) -> Any:
        if -1 in classes:
            return False
        plan = self._selector.plan_for(classes)
        if plan.later:
            unskimmed = tuple(number for number in plan.later if number in self._unskimmed)
            found: Any = _Pending(plan, classes, self._later_reader(plan.later), unskimmed)
        else:
            found = _outcome(plan)
        if len(self._plans) >= _MEMO_LIMIT:
            self._plans.clear()
        self._plans[classes] = found
        return found

    def _later_reader(self, numbers: tuple[int, ...]) -> Callable[[Any], tuple[Any, ...] | None]:
        """`classes(struct)`: the remembered classes of the later fields `numbers` (None in them
        for a value not remembered; None for a value that is not a string, a bool or null)."""
        found = self._later_readers.get(numbers)
        if found is None:
            memos = {f"memo{number}": self._memos[number] for number in numbers}
            lines = ["def classes(s):"]
            for number in numbers:
                lines += [
                    f"    v = {_read(self._everything[number])}",
                    "    k = v.__class__",
                    "    if not (k is str or k is bool or v is None or v is UNSET):",
                    "        return None",
                    f"    c{number} = memo{number}.get(v)",
                ]
            lines.append("    return (" + "".join(f"c{number}, " for number in numbers) + ")")
            found = self._later_readers[numbers] = compile_function("\n".join(lines), "classes", memos)
        return found


def _outcome(plan: Any) -> Any:
    """What `split` says of an element with this final plan."""
    if plan.ignored:
        return IGNORED
    return True if not plan.ignore and not plan.rules else plan


def _numbers_apart(values: list[Any], found: list[Any]) -> None:
    """Forget what the memo found for numbers (1 and 1.0 find True's class): classify them anew."""
    kinds = set(map(type, values))
    if int in kinds or float in kinds:
        for position, value in enumerate(values):
            if value.__class__ is int or value.__class__ is float:
                found[position] = None


_OTHER: Final = object()  # an element that is not a JSON object: left to the usual evaluation
IGNORED: Final = object()  # what `split` says of an element an ignore rule is known to match
_STR: Final = {str}
_STR_OR_EMPTY: Final = {str, type(_UNSET), type(None)}
_SLOW_RUNS: Final[int] = 16
# A field whose values mostly miss its memo is classified directly for this many runs, then
# looked up again (its values may have become repetitive); only with a few tests on it (each is
# one pass over the column).
_DIRECT_RUNS: Final[int] = 16
_DIRECT_TESTS: Final[int] = 4
# A run whose values miss the memos in more than one struct in this many takes the columns.
_MISSES_ONE_IN: Final[int] = 16
# When a later field joins the skim (see Skipper._promote).
_PROMOTE_ONE_IN: Final[int] = 200
_PROMOTE_AT_LEAST: Final[int] = 16
_WINDOW: Final[int] = 1 << 16


class _Pending:
    """A plan that later fields still refine (Plan.later), as `_plans` remembers it: the classes
    of the first fields (`key`), how to read the later ones' classes, and what they refined to."""

    __slots__ = ("plan", "key", "classes", "results", "unskimmed")

    def __init__(
        self, plan: Any, key: tuple[int, ...], classes: Callable[[Any], Any], unskimmed: tuple[int, ...]
    ) -> None:
        self.plan = plan
        self.key = key
        self.classes = classes
        self.unskimmed = unskimmed  # the later fields the skim leaves out (read from the bytes)
        self.results: dict[Any, Any] = {}  # later classes -> True or the final Plan


def _walk(struct: Any, path: tuple[str, ...]) -> Any:
    """The value at `path`, as the column reads it; _OTHER when `struct` is not an object."""
    value = getattr(struct, path[0], _OTHER)
    if value is _OTHER:
        return _OTHER
    for name in path[1:]:
        value = getattr(value, name, _UNSET)
    return value


class _Column:
    """`column(structs)`: the field's value in each struct, read member by member.

    Past the first member, a value that is not an object (null, a string, a list) or is absent
    holds no member: the field is absent there, as in the flattened record (guard fields have no
    list index after their first segment, and a dotted spelling is refused by the schema). Only
    an element that is not an object raises AttributeError.

    Where every struct holds every member on the way (the usual case), plain attribute reads
    do it (the interpreter specialises them; `getattr` with a default is a call per value);
    otherwise a second comprehension walks it with defaults, and is used directly for the next
    runs, since a field that is often absent would fail the fast way every time.
    """

    __slots__ = ("_fast", "_slow", "_misses")

    def __init__(self, field: str) -> None:
        self._fast = compile_function(
            f"def column(structs):\n    return [{_attributes(field)} for s in structs]\n", "column"
        )
        self._slow = compile_function(
            f"def column(structs):\n    return [{_read(field)} for s in structs]\n", "column"
        )
        self._misses = 0  # runs to read the slow way before trying the fast way again

    def __call__(self, structs: list[Any]) -> list[Any]:
        if self._misses:
            self._misses -= 1
            return self._slow(structs)
        try:
            return self._fast(structs)
        except AttributeError:
            self._misses = _SLOW_RUNS
            return self._slow(structs)


def _keys_reader(
    fields: tuple[str, ...], memos: list[dict[Any, int]], direct: tuple[int, ...]
) -> Callable[..., list[Any]]:
    """`keys(structs, *classes)`: per struct, the tuple of its guarded fields' remembered classes
    (None for a value not remembered), read as `_Column` reads a column the fast way; the classes
    of the fields in `direct` are given, one list per field, in that order."""
    gets = {f"get{number}": memos[number].get for number in range(len(fields)) if number not in direct}
    reads = [
        f"c{number}" if number in direct else f"get{number}({_attributes(field)})"
        for number, field in enumerate(fields)
    ]
    given = "".join(f", k{number}" for number in direct)
    items = f"zip(structs{given}, strict=True)" if direct else "structs"
    names = "".join(f", c{number}" for number in direct)
    source = f"def keys(structs{given}):\n    return [({', '.join(reads)},) for s{names} in {items}]\n"
    return compile_function(source, "keys", gets)


def _attributes(field: str) -> str:
    """The expression reading `field` from a struct `s` member by member: `s.m_a.m_b` (raises
    AttributeError where a member is missing on the way; see `_read` for the reading that does not)."""
    return "s." + ".".join(attribute_name(segment) for segment in field.split("."))


def _compile_reader(field: str) -> Callable[[Any], Any]:
    """`read(s)`: the field's value in one struct, read as `_Column` reads it."""
    return compile_function(f"def read(s):\n    return {_read(field)}\n", "read")


def _read(field: str) -> str:
    """The expression reading `field` from a struct `s`: `getattr(s.m_a, "m_b", UNSET)`.

    A segment that is a list index ("items.0.x", later guards only) names the list's item or an
    object's member "0", as flatten does; see `_at`."""
    segments = field.split(".")
    read = f"s.{attribute_name(segments[0])}"
    for segment in segments[1:]:
        name = attribute_name(segment)
        if is_canonical_index(segment):
            read = f"at({read}, {int(segment)}, {name!r})"
        else:
            read = f"getattr({read}, {name!r}, UNSET)"
    return read


def _at(value: Any, index: int, name: str) -> Any:
    """Item `index` of a list, or member `name` ("0", ...) of an object; UNSET where there is none."""
    if value.__class__ is list:
        return value[index] if index < len(value) else _UNSET
    return getattr(value, name, _UNSET)


def compile_function(source: str, name: str, names: dict[str, Any] | None = None) -> Callable[..., Any]:
    """The function `name` defined by `source` (our own generated code, never a rule's text),
    seeing `names` too, and UNSET and `_at` as `_read`'s expressions use them."""
    namespace: dict[str, Any] = {"UNSET": _UNSET, "at": _at, **(names or {})}
    exec(compile(source, f"<{name}>", "exec"), namespace)  # noqa: S102 - our own code
    return namespace[name]
