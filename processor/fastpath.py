"""The fast path: which raw records no rule can match, told without decoding them in full.

A rule reads two or three fields of a record and about one record in 200 alerts, so decoding every
record in full is most of the work. The two sources (the Kinesis batch and the log-file reader)
therefore hand their raw records here first:

* each record is decoded *partially*, with msgspec, into just the fields the selector's guards
  read (processor/rules/selector.py) plus eventName/eventSource (a CloudTrail record has both),
  errorCode (the Lambda's AccessDenied metric) and eventTime (the backfill's window);
* the selector turns those values into a plan, exactly as it does for a decoded record;
* a record whose plan is empty is counted as unmatched, one an ignore rule is known to match as
  ignored, one outside the window as outside; every other record is *kept*: the source decodes it
  in full with orjson and it goes through the ordinary pipeline as an ordinary Record.

Nothing after the sources knows this module exists. It is exact: every verdict, count and rule
failure equals decoding every record in full (tests/fastpath/ checks it on generated records).
A record is counted only when the partial decode is known to read what orjson reads; anything
else is kept, and the full decode decides:

* a member spelled with a dot on a guarded key's path (`{"userIdentity.type": ...}` resolves like
  the nested one) is refused by the partial decode (a member of an impossible type);
* a guarded value that is a number is kept (msgspec and orjson differ on integers beyond 64 bits;
  and numbers in guarded fields are rare);
* msgspec skips the members it does not read without checking two things orjson refuses: UTF-8
  (a record that is not ASCII is checked by Python's decoder) and numbers beyond a double's range
  (`might_overflow`). Nesting beyond msgspec's depth limit (lower than orjson's) fails the
  partial decode, so such records are kept too.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Union

import msgspec

from processor.deliver.metrics import is_access_denied_code
from processor.rules.lookup import MISSING
from processor.rules.ruleset import RuleSet
from processor.rules.selector import REMEMBERED_TYPES

__all__ = ["FastPath", "Sorted", "decode_mode", "might_be_refused"]

_VIA_CLOUDTRAIL: Final = " via CloudTrail"
# What the pipeline reads of every record besides the guarded fields.
_NAME, _SOURCE, _ERROR, _TIME = "eventName", "eventSource", "errorCode", "eventTime"


@dataclass
class Sorted:
    """What the fast path made of a batch: the positions to decode in full, and the others counted."""

    keep: list[int]
    unmatched: int = 0
    ignored: int = 0
    outside: int = 0  # outside the time window (a backfill's --start/--end)
    access_denied: int = 0  # counted records with an AccessDenied*/*UnauthorizedOperation errorCode

    @property
    def counted(self) -> int:
        return self.unmatched + self.ignored + self.outside


def decode_mode(rules: RuleSet, setting: str = "auto") -> tuple[FastPath | None, str]:
    """The fast path for `rules` (None: every record is decoded in full) and why, in one line.

    `setting` is TRAILALERT_DECODE (Settings.decode): "auto", or "full" to decode every record.
    """
    if setting == "full":
        return None, "decode mode: full (TRAILALERT_DECODE=full)"
    unguarded = rules.selector.unguarded
    if unguarded:
        names = ", ".join(rule.ref.id for rule in unguarded[:3]) + (", ..." if len(unguarded) > 3 else "")
        return None, f"decode mode: full (no guard rules out {names} for any record, so every record runs it)"
    fast = FastPath(rules)
    return fast, (
        f"decode mode: fast path (every record is decoded partially for {len(fast.fields)} fields; "
        "only records some rule may match are decoded in full)"
    )


class FastPath:
    """Built once per rule set; `log_records` and `kinesis_payloads` sort raw records.

    Records are sorted a batch at a time, a column per field: one msgspec call decodes the batch,
    one `map` reads a field of every record, and the selector's memos classify a column with one
    more (Python runs only for values not seen before and for the records some rule's first guard
    lets through).
    """

    def __init__(self, rules: RuleSet) -> None:
        self._selector = rules.selector
        self.fields = self._selector.fields
        self._first = self._selector.first
        wanted = dict.fromkeys([*self.fields, _NAME, _SOURCE, _ERROR, _TIME])
        self._record, columns = _schema([tuple(key.split(".")) for key in wanted], "Record")
        self._columns = [columns[tuple(key.split("."))] for key in self.fields]
        self._name, self._source, self._error, self._time = (
            columns[(key,)] for key in (_NAME, _SOURCE, _ERROR, _TIME)
        )
        self._decode_record = msgspec.json.Decoder(self._record).decode
        self._decode_records = msgspec.json.Decoder(list[self._record]).decode  # type: ignore[name-defined]
        envelope = msgspec.defstruct(
            "Envelope",
            [
                ("detail_type", _value(None), _member("detail-type")),
                ("detail", _value(self._record), _member("detail")),
            ],
            gc=False,
        )
        self._decode_envelope = msgspec.json.Decoder(envelope).decode
        self._decode_envelopes = msgspec.json.Decoder(envelope).decode_lines

    def log_records(
        self,
        raws: Sequence[Any],
        whole: bytes,
        in_window: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Sorted:
        """Sort elements of a log file's `Records`: `raws[i]` is one element's bytes and `whole`
        is `[` + all of them + `]`. With `in_window` (the backfill's time window, called with
        `{"eventTime": value}`), records outside it are counted as such before any rule."""
        records = None if might_be_refused(whole) else _decoded(self._decode_records, whole)
        if records is None:  # some element is not read here as in full: one at a time
            records = [None if might_be_refused(bytes(raw)) else _decoded(self._decode_record, raw) for raw in raws]
        return self._sort(records, in_window, count_access_denied=False)

    def kinesis_payloads(self, payloads: Sequence[bytes]) -> Sorted:
        """Sort Kinesis payloads: an EventBridge envelope or a bare record each (anything else,
        KPL aggregates and CloudWatch Logs among them, is kept for the full decode)."""
        envelopes = self._envelopes(payloads)
        records: list[Any] = []
        for payload, envelope in zip(payloads, envelopes, strict=True):
            record = None
            if envelope is not None:
                detail_type = envelope.detail_type
                if detail_type is MISSING or detail_type is None:  # no envelope: a bare record?
                    record = _decoded(self._decode_record, payload)
                elif type(detail_type) is str and detail_type.endswith(_VIA_CLOUDTRAIL):
                    record = envelope.detail
            records.append(record if type(record) is self._record else None)
        return self._sort(records, None, count_access_denied=True)

    def _envelopes(self, payloads: Sequence[bytes]) -> list[Any]:
        """Each payload decoded as an envelope (None where that fails), in one msgspec call when
        every payload is one object: starting with `{` and ending with `}`, a payload cannot
        share a value with the next one across the newline that joins them (a string cannot hold
        a raw newline, and `}` followed by `{` is no JSON inside a value), so the call gives one
        value per payload exactly when it gives as many as there are payloads."""
        try:
            whole = b"\n".join(payloads)
            if (
                set(map(_first_byte, payloads)) == _OPEN
                and set(map(_last_byte, payloads)) == _CLOSE
                and not might_be_refused(whole)
            ):
                envelopes = self._decode_envelopes(whole)
                if len(envelopes) == len(payloads):
                    return envelopes
        except (*_REFUSED, IndexError):  # IndexError: an empty payload
            pass
        return [None if might_be_refused(p) else _decoded(self._decode_envelope, p) for p in payloads]

    def _sort(
        self,
        records: list[Any],
        in_window: Callable[[dict[str, Any]], bool] | None,
        *,
        count_access_denied: bool,
    ) -> Sorted:
        """Sort partially decoded records (None: keep it), a column at a time."""
        result = Sorted([])
        positions = range(len(records))
        if None in records:
            result.keep.extend(p for p in positions if records[p] is None)
            positions = [p for p in positions if records[p] is not None]
            records = [records[p] for p in positions]
        if not records:
            return result
        # A record lacks eventName or eventSource, or a guarded field is a number: the full decode decides.
        odd = {n for n, value in enumerate(self._name(records)) if value is MISSING}
        odd.update(n for n, value in enumerate(self._source(records)) if value is MISSING)
        selector = self._selector
        classes: list[list[int]] = []
        for number in range(self._first):
            column = self._columns[number](records)
            if not REMEMBERED_TYPES.issuperset(map(type, column)):
                column = _as_leaves(column, odd)
            classes.append(selector.column_classes(number, column))
        plans = selector.plans(list(zip(*classes, strict=True)) if classes else [()] * len(records))
        times = self._time(records) if in_window is not None else None
        errors = self._error(records) if count_access_denied else None
        for n, plan in enumerate(plans):
            if n in odd:
                result.keep.append(positions[n])
                continue
            if times is not None and not in_window({_TIME: times[n]}):  # type: ignore[misc]
                result.outside += 1
                continue
            if plan.later:
                values = [self._columns[number].one(records[n]) for number in plan.later]
                if not REMEMBERED_TYPES.issuperset(map(type, values)):
                    values = _as_leaves(values, numbers := set())
                    if numbers:
                        result.keep.append(positions[n])
                        continue
                plan = selector.refine(plan, values)
            if plan.ignored:
                result.ignored += 1
            elif plan.empty:
                result.unmatched += 1
                if errors is not None:
                    result.access_denied += is_access_denied_code(errors[n])
            else:
                result.keep.append(positions[n])
        result.keep.sort()
        return result


# msgspec refuses nesting deeper than its stack allows with RecursionError (orjson's limit is
# higher): such a record is kept, and the full decode decides.
_REFUSED: Final = (msgspec.DecodeError, RecursionError)


def _decoded(decode: Callable[[Any], Any], data: Any) -> Any:
    """`decode(data)`, or None when msgspec refuses it (the full decode will say why)."""
    try:
        return decode(data)
    except _REFUSED:
        return None


_first_byte = operator.itemgetter(0)
_last_byte = operator.itemgetter(-1)
_OPEN: Final = {ord("{")}
_CLOSE: Final = {ord("}")}


def _as_leaves(values: list[Any], numbers: set[int]) -> list[Any]:
    """The values as flatten has them (a container is no field: MISSING); the position of a
    number goes into `numbers` (its record is kept: see the module's docstring)."""
    out = []
    for position, value in enumerate(values):
        kind = type(value)
        if kind in REMEMBERED_TYPES:
            out.append(value)
        elif kind is int or kind is float:
            numbers.add(position)
            out.append(MISSING)
        else:  # an object or an array
            out.append(MISSING)
    return out


# --- The partial decode: msgspec Structs holding just the wanted fields ---------------------------

_Object = msgspec.defstruct("Object", [], gc=False)  # an object none of whose members is read
# A member of this type refuses every value: no string is both at least 2 and at most 1 long.
_REFUSE: Any = Annotated[str, msgspec.Meta(min_length=2, max_length=1)]


def _value(struct: type | None) -> Any:
    """Any JSON value where a field is read; an object as `struct`, or unread when None."""
    return Union[struct or _Object, list[msgspec.Raw], str, int, float, bool, None]  # noqa: UP007


def _member(name: str) -> Any:
    return msgspec.field(default=MISSING, name=name)


class _Column:
    """Reads one key of decoded records: all of them at once (one C call when every object on
    the way is there), or one record's. A key whose parent is not an object reads as MISSING,
    as flatten has it."""

    def __init__(self, attributes: tuple[str, ...], parents: tuple[type, ...]) -> None:
        self._attributes = attributes
        self._parents = parents  # the Struct expected at each level below the record
        self._all = operator.attrgetter(".".join(attributes))

    def __call__(self, records: list[Any]) -> list[Any]:
        try:
            return list(map(self._all, records))
        except AttributeError:  # some object on the way is missing, null or not an object
            return list(map(self.one, records))

    def one(self, record: Any) -> Any:
        node = record
        for attribute, parent in zip(self._attributes, self._parents, strict=False):
            node = getattr(node, attribute)
            if type(node) is not parent:
                return MISSING
        return getattr(node, self._attributes[-1])


def _schema(
    keys: list[tuple[str, ...]], name: str
) -> tuple[type, dict[tuple[str, ...], _Column]]:
    """The Struct of an object holding `keys` (segment tuples), and a column reader per key.

    Every spelling of a key through a member name holding a dot (`"a.b"` for `a.b.c`) is a
    member of type _REFUSE, so a record holding one fails to decode and is kept: when two
    spellings of a flat key exist, which one flatten keeps depends on document order, which a
    Struct does not keep.
    """
    members: dict[str, list[tuple[str, ...]]] = {}
    dotted: set[str] = set()
    for key in keys:
        rests = members.setdefault(key[0], [])
        if len(key) > 1:
            rests.append(key[1:])
            dotted.update(".".join(key[:end]) for end in range(2, len(key) + 1))
    fields: list[tuple[str, Any, Any]] = []
    columns: dict[tuple[str, ...], _Column] = {}
    for number, (member, rests) in enumerate(members.items()):
        attribute = f"m{number}"
        child = None
        if rests:
            child, below = _schema(rests, f"{name}_{number}")
            for rest, column in below.items():
                columns[(member, *rest)] = _Column(
                    (attribute, *column._attributes), (child, *column._parents)
                )
        if (member,) in keys:
            columns[(member,)] = _Column((attribute,), ())
        fields.append((attribute, _value(child), _member(member)))
    fields += [(f"r{n}", _REFUSE, _member(spelling)) for n, spelling in enumerate(sorted(dotted))]
    return msgspec.defstruct(name, fields, gc=False), columns


# --- What msgspec skips without checking, and orjson refuses --------------------------------------


def might_be_refused(data: bytes) -> bool:
    """True when `data` is not UTF-8: msgspec does not check the strings it skips, orjson does.
    (ASCII, nearly always, is told at memory speed.)"""
    if data.isascii():
        return False
    try:
        data.decode()
    except UnicodeDecodeError:
        return True
    return False
