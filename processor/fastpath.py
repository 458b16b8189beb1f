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
  and numbers in guarded fields are rare); in a field CloudTrail documents as a string
  (STRING_FIELDS), anything but a string or null is refused by the partial decode;
* msgspec skips the members it does not read without checking two things orjson refuses: UTF-8
  (a record that is not ASCII is checked by Python's decoder) and numbers beyond a double's range
  (not checked: a record holding `1e400` where no rule reads is counted like any other when no
  rule can match it; docs/architecture.md says why). Nesting deeper than orjson reads is looked
  for in long records (`_unless_deep`): msgspec's own limit follows the interpreter's.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import compress
from typing import Annotated, Any, Final, Union

import msgspec

from processor.log import is_access_denied_code
from processor.rules.lookup import MISSING, is_canonical_index
from processor.rules.ruleset import RuleSet
from processor.rules.selector import IGNORED, REMEMBERED_TYPES, RUN, UNMATCHED

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
        # A member read only by later guards (`requestParameters` after `eventName == ...`) is
        # kept raw and decoded for the few records a later guard reads it in: as a Struct for
        # every record, it cost the partial decode about a third of its time with the bench's rules.
        every = {key.split(".")[0] for key in [*self.fields[: self._first], _NAME, _SOURCE, _ERROR, _TIME]}
        lazy = {key.split(".")[0] for key in self.fields[self._first :] if "." in key} - every - set(wanted)
        self._record, columns = _schema([tuple(key.split(".")) for key in wanted], "Record", frozenset(lazy))
        self._columns = [columns[tuple(key.split("."))] for key in self.fields]
        self._strings_only = [key in STRING_FIELDS for key in self.fields]
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
            records = [
                None if might_be_refused(bytes(raw)) else _decoded(self._decode_record, raw) for raw in raws
            ]
        return self._sort(_unless_deep(records, raws), raws, in_window, count_access_denied=False)

    def kinesis_payloads(self, payloads: Sequence[bytes]) -> Sorted:
        """Sort Kinesis payloads: an EventBridge envelope or a bare record each (anything else,
        KPL aggregates and CloudWatch Logs among them, is kept for the full decode)."""
        envelopes = _unless_deep(self._envelopes(payloads), payloads)
        if None not in envelopes:  # the usual batch: every payload an envelope from CloudTrail
            detail_types = list(map(_detail_type, envelopes))
            if set(map(type, detail_types)) == {str} and _DETAIL_TYPES.issuperset(detail_types):
                return self._sort(list(map(_detail, envelopes)), payloads, None, count_access_denied=True)
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
        return self._sort(records, payloads, None, count_access_denied=True)

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
        raws: Sequence[Any],
        in_window: Callable[[dict[str, Any]], bool] | None,
        *,
        count_access_denied: bool,
    ) -> Sorted:
        """Sort partially decoded records (None: keep it), a column at a time; `raws[i]` holds
        the bytes `records[i]` was decoded from (a member kept raw is checked in them)."""
        result = Sorted([])
        positions: Sequence[int] = range(len(records))
        if set(map(type, records)) != {self._record}:  # an envelope's detail may be anything
            positions = [p for p in positions if type(records[p]) is self._record]
            result.keep.extend(sorted(set(range(len(records))).difference(positions)))
            records = [records[p] for p in positions]
            raws = [raws[p] for p in positions]
        if not records:
            return result
        # Kept whatever the rules: a record without eventName or eventSource (the full decode
        # says what it is), and one with a number in a guarded field (see the module docstring).
        odd: set[int] = set()
        read: dict[Any, list[Any]] = {}  # column -> its values: a key read twice is read once
        for column in (self._name, self._source):
            values = read[column] = column(records)
            if MISSING in values:
                odd.update(n for n, value in enumerate(values) if value is MISSING)
        selector = self._selector
        classes = [self._classes(number, records, odd, read=read) for number in range(self._first)]
        plans = selector.plans(list(zip(*classes, strict=True)) if classes else [()] * len(records))
        self._refine(plans, records, raws, odd)
        verdicts = list(map(_VERDICT, plans))
        if in_window is not None:
            times = read.get(self._time) or self._time(records)
            for n, when in enumerate(times):
                if n not in odd and not in_window({_TIME: when}):
                    verdicts[n] = _OUTSIDE
        for n in odd:
            verdicts[n] = RUN
        result.unmatched = verdicts.count(UNMATCHED)
        result.ignored = verdicts.count(IGNORED)
        result.outside = verdicts.count(_OUTSIDE)
        if count_access_denied and result.unmatched:
            errors = read.get(self._error) or self._error(records)
            codes = filter(_PRESENT, compress(errors, map(UNMATCHED.__eq__, verdicts)))
            result.access_denied = sum(map(is_access_denied_code, codes))
        result.keep.extend(compress(positions, map(RUN.__eq__, verdicts)))
        result.keep.sort()
        return result

    def _classes(
        self,
        number: int,
        records: list[Any],
        odd: set[int],
        raws: Sequence[Any] = (),
        read: dict[Any, list[Any]] | None = None,
    ) -> list[int]:
        """The selector's classes of field `number` in `records`; a record whose value is a
        number, or that the partial decode cannot tell, goes into `odd`. `read` holds the
        columns read already (and gets this one)."""
        reader = self._columns[number]
        column = read.get(reader) if read is not None else None
        if column is None:
            column = reader(records, raws)
            if read is not None:
                read[reader] = column
        if self._strings_only[number] or REMEMBERED_TYPES.issuperset(map(type, column)):
            return self._selector.remembered_classes(number, column)
        numbers: set[int] = set()
        column = _as_leaves(column, numbers)
        odd.update(numbers)
        return self._selector.column_classes(number, column)

    def _refine(self, plans: list[Any], records: list[Any], raws: Sequence[Any], odd: set[int]) -> None:
        """Replace each plan that awaits later fields by its final plan, a group of records
        awaiting the same fields at a time."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for n, plan in enumerate(plans):
            if plan.later:
                groups.setdefault(plan.later, []).append(n)
        for later, members in groups.items():
            group = [records[n] for n in members]
            group_raws = [raws[n] for n in members]
            numbers: set[int] = set()
            classes = [self._classes(number, group, numbers, group_raws) for number in later]
            odd.update(members[n] for n in numbers)
            first = [plans[n].classes for n in members]
            refined = self._selector.refined(first, later, list(zip(*classes, strict=True)))
            for n, plan in zip(members, refined, strict=True):
                plans[n] = plan


_VERDICT = operator.attrgetter("verdict")
_PRESENT = partial(operator.is_not, MISSING)  # a record has the field (most have no errorCode)
_detail_type = operator.attrgetter("detail_type")
_detail = operator.attrgetter("detail")
# The detail-types EventBridge gives CloudTrail events (the full decode accepts any "... via
# CloudTrail"; a batch with another is sorted one envelope at a time).
_DETAIL_TYPES: Final = frozenset(
    {
        "AWS API Call via CloudTrail",
        "AWS Console Sign In via CloudTrail",
        "AWS Service Event via CloudTrail",
        "AWS Insight via CloudTrail",
    }
)
_OUTSIDE: Final = "outside"


# msgspec refuses nesting deeper than its stack allows with RecursionError (orjson's limit is
# higher): such a record is kept, and the full decode decides.
_REFUSED: Final = (msgspec.DecodeError, RecursionError)


def _decoded(decode: Callable[[Any], Any], data: Any) -> Any:
    """`decode(data)`, or None when msgspec refuses it (the full decode will say why)."""
    try:
        return decode(data)
    except _REFUSED:
        return None


def _unless_deep(decoded: list[Any], raws: Sequence[Any]) -> list[Any]:
    """`decoded`, with None for each record that may nest deeper than orjson reads (1,024
    levels): msgspec's own limit follows the interpreter's recursion limit, which may be higher."""
    long = list(compress(raws, map(_DEEP_BYTES.__le__, map(len, raws))))
    if not long or max(map(_openers, long)) < _DEEP:
        return decoded
    return [
        None if len(raw) >= _DEEP_BYTES and _openers(raw) >= _DEEP else found
        for raw, found in zip(raws, decoded, strict=True)
    ]


def _openers(raw: Any) -> int:
    """How many `[` and `{` `raw` holds (deleting them runs at memchr's speed, counting does not)."""
    data = raw if type(raw) is bytes else bytes(raw)
    return len(data) - len(data.replace(b"[", b"").replace(b"{", b""))


# A record nested deeper than orjson reads has more opening brackets than this, and twice as many bytes.
_DEEP: Final = 1024
_DEEP_BYTES: Final = 2 * _DEEP
_first_byte = operator.itemgetter(0)
_last_byte = operator.itemgetter(-1)
_OPEN: Final = {ord("{")}
_CLOSE: Final = {ord("}")}


def _as_leaves(values: list[Any], numbers: set[int]) -> list[Any]:
    """The values as flatten has them: a container is no field (MISSING), an integer within 64
    bits is what orjson makes of it too; the position of any other number (a float, or an
    integer beyond 64 bits, which orjson turns into a float) goes into `numbers`, its record to
    be kept and decoded in full."""
    out = []
    for position, value in enumerate(values):
        kind = type(value)
        if kind in REMEMBERED_TYPES or (kind is int and _INT64[0] <= value <= _INT64[1]):
            out.append(value)
        elif kind is int or kind is float or value is ODD:
            numbers.add(position)
            out.append(MISSING)
        else:  # an object or an array
            out.append(MISSING)
    return out


_INT64: Final = (-(2**63), 2**63 - 1)


# --- The partial decode: msgspec Structs holding just the wanted fields ---------------------------

_Object = msgspec.defstruct("Object", [], gc=False)  # an object none of whose members is read
# A member of this type refuses every value: no string is both at least 2 and at most 1 long.
_REFUSE: Any = Annotated[str, msgspec.Meta(min_length=2, max_length=1)]


def _value(struct: type | None) -> Any:
    """Any JSON value where a field is read; an object as `struct`, or unread when None."""
    return Union[struct or _Object, list[msgspec.Raw], str, int, float, bool, None]  # noqa: UP007


# The fields CloudTrail's record contents document as strings. The partial decode reads them as
# a string or null only: a record holding anything else there fails it and is kept (decoded in
# full), so their columns hold strings, None and MISSING, and need no look at their types.
STRING_FIELDS: Final = frozenset(
    """
    eventTime eventVersion eventSource eventName awsRegion sourceIPAddress userAgent errorCode
    errorMessage requestID eventID eventType apiVersion recipientAccountId sharedEventID
    vpcEndpointId vpcEndpointAccountId eventCategory userIdentity.type userIdentity.principalId
    userIdentity.arn userIdentity.accountId userIdentity.accessKeyId userIdentity.userName
    userIdentity.invokedBy userIdentity.identityProvider userIdentity.credentialId
    """.split()  # noqa: SIM905 - a paragraph reads better than 27 lines
)
_STRING_OR_NULL: Any = Union[str, None]  # noqa: UP007


def _member(name: str) -> Any:
    return msgspec.field(default=MISSING, name=name)


class _Column:
    """Reads one key of decoded records, with flatten's meaning: all of them at once (one C call
    when every object on the way is there), or one record's.

    `steps` walk the key a segment at a time: the attribute holding the segment's member in the
    Structs that may hold it, and the segment's index when a list may stand there instead
    (`items.0.x` reads element 0 of a list, or the member "0" of an object). Anything else on the
    way (a missing member, null, a string, a list indexed by a name) reads as MISSING.
    """

    def __init__(self, steps: list[tuple[str, int | None, frozenset[type]]]) -> None:
        self.steps = steps
        self._all = operator.attrgetter(".".join(attribute for attribute, _, _ in steps))

    def __call__(self, records: list[Any], raws: Sequence[Any] = ()) -> list[Any]:
        try:
            return list(map(self._all, records))
        except AttributeError:  # something on the way is not an object holding the member
            return list(map(self.one, records))

    def one(self, record: Any) -> Any:
        node = record
        for attribute, index, structs in self.steps:
            kind = type(node)
            if kind in structs:
                node = getattr(node, attribute)
            elif kind is list and index is not None:
                if index >= len(node):
                    return MISSING
                node = node[index]
            else:
                return MISSING
        return node


class _LazyColumn:
    """Reads one key below a member kept raw (see `_schema`): the member is decoded, with the
    Struct it would have had, for the records read only; `ODD` when it cannot be, or when the
    record's bytes may spell the key with a dot in a member's name (`"requestParameters.roleArn"`:
    the decode of the record refuses no such spelling for a member kept raw, to spare every
    record the scan of those names; a backslash may hide one behind an escape): such a record is
    kept and decoded in full."""

    def __init__(self, member: str, attribute: str, struct: Any, inner: _Column) -> None:
        self._member_of = operator.attrgetter(attribute)
        decoder = msgspec.json.Decoder(struct)
        self._decode, self._decode_lines = decoder.decode, decoder.decode_lines
        self._inner = inner
        self._dotted = b'"' + member.encode() + b"."

    def __call__(self, records: list[Any], raws: Sequence[Any] = ()) -> list[Any]:
        """The key of every record, the members decoded in one msgspec call (each Raw is one
        whole JSON value, so a newline between two parts them exactly); only the records whose
        bytes hold a backslash or the dotted spelling are looked at one by one, to be kept."""
        members = list(map(self._member_of, records))
        whole = b"\n".join(raws)
        if self._dotted in whole or b"\\" in whole:
            members = [
                ODD if self._suspect(raw) else member for raw, member in zip(raws, members, strict=True)
            ]
        present = [member for member in members if member is not MISSING and member is not ODD]
        try:
            values = iter(self._inner(self._decode_lines(b"\n".join(present))))
        except _REFUSED:  # some member is refused: one at a time, to tell which
            values = map(self._key_of, present)
        return [member if member is MISSING or member is ODD else next(values) for member in members]

    def _key_of(self, member: Any) -> Any:
        """The key in one member, or ODD when the member is refused (a refused spelling below,
        or too deep for msgspec): the full decode decides."""
        try:
            return self._inner.one(self._decode(member))
        except _REFUSED:
            return ODD

    def _suspect(self, raw: Any) -> bool:
        data = bytes(raw)
        return self._dotted in data or b"\\" in data


class _Odd:
    """A value the partial decode cannot tell: its record is kept and decoded in full."""


ODD: Final = _Odd()


# msgspec finds a member by scanning a Struct's fields from the one after the field found last:
# fields in the order CloudTrail writes them (an envelope's and userIdentity's too) are found at
# once, and the refusing spellings (never found) go last. On the bench corpus this order costs
# the partial decode about 0.8x the time of no particular order.
_DOCUMENT_ORDER: Final = {
    name: rank
    for rank, name in enumerate(
        """
        version id detail-type source account time region detail
        eventVersion userIdentity type principalId arn accountId accessKeyId userName sessionContext
        invokedBy eventTime eventSource eventName awsRegion sourceIPAddress userAgent errorCode
        errorMessage requestParameters responseElements additionalEventData requestID eventID
        readOnly resources eventType apiVersion managementEvent recipientAccountId sharedEventID
        vpcEndpointId eventCategory tlsDetails serviceEventDetails insightDetails
        """.split()  # noqa: SIM905 - a paragraph reads better than 43 lines
    )
}


def _schema(
    keys: list[tuple[str, ...]], name: str, lazy: frozenset[str] = frozenset(), path: tuple[str, ...] = ()
) -> tuple[type, dict[tuple[str, ...], Any]]:
    """The Struct of an object holding `keys` (segment tuples), and a column reader per key;
    `path` is where the object is in the record (a field of STRING_FIELDS is a string or null).

    A member named in `lazy` is kept as a msgspec.Raw, decoded (with the same Struct it would
    have had) only when a key below it is read.

    A member whose keys go on with a list index (`items.0.x`) may be a list as well as an
    object: its list's elements are Structs of what follows the indexes. Every spelling of a key
    through a member name holding a dot (`"a.b"` for `a.b.c`) is a member of type _REFUSE, so a
    record holding one fails to decode and is kept: when two spellings of a flat key exist,
    which one flatten keeps depends on document order, which a Struct does not keep.
    """
    members: dict[str, list[tuple[str, ...]]] = {}
    dotted: set[str] = set()
    for key in keys:
        rests = members.setdefault(key[0], [])
        if len(key) > 1:
            rests.append(key[1:])
            if key[0] not in lazy:  # a lazy member's spellings are looked for in its record's bytes
                dotted.update(".".join(key[:end]) for end in range(2, len(key) + 1))
    fields: list[tuple[str, Any, Any]] = []
    steps: dict[tuple[str, ...], list[tuple[str, int | None, frozenset[type]]]] = {}
    lazy_columns: dict[tuple[str, ...], _LazyColumn] = {}
    for member, rests in sorted(members.items(), key=lambda item: _DOCUMENT_ORDER.get(item[0], 99)):
        attribute = _attribute(member)
        if (member,) in keys:
            steps[(member,)] = []
        if not rests:
            string = ".".join((*path, member)) in STRING_FIELDS
            fields.append((attribute, _STRING_OR_NULL if string else _value(None), _member(member)))
            continue
        child, below = _schema(rests, f"{name}_{len(fields)}", path=(*path, member))
        tails = [rest[1:] for rest in rests if is_canonical_index(rest[0]) and len(rest) > 1]
        element, in_element = (
            _schema(tails, f"{name}_{len(fields)}e", path=(*path, member, "0")) if tails else (None, {})
        )
        indexed = any(is_canonical_index(rest[0]) for rest in rests)
        elements = list[_value(element)] if indexed else list[msgspec.Raw]  # type: ignore[misc]
        value = Union[child, elements, str, int, float, bool, None]  # noqa: UP007
        fields.append((attribute, msgspec.Raw if member in lazy else value, _member(member)))
        for rest, column in below.items():
            walk = list(column.steps)
            if is_canonical_index(rest[0]):  # a list may stand where the object does
                first_attribute, _, structs = walk[0]
                walk[0] = (first_attribute, int(rest[0]), structs)
                if element is not None and len(rest) > 1:  # the element's own walk, merged in
                    for step, (_, _, element_structs) in enumerate(in_element[rest[1:]].steps, start=1):
                        attribute_of, index, structs = walk[step]
                        walk[step] = (attribute_of, index, structs | element_structs)
            steps[(member, *rest)] = walk
            if member in lazy:
                lazy_columns[(member, *rest)] = _LazyColumn(member, attribute, value, _Column(walk))
    fields += [(f"r{n}", _REFUSE, _member(spelling)) for n, spelling in enumerate(sorted(dotted))]
    struct = msgspec.defstruct(name, fields, gc=False)
    columns: dict[tuple[str, ...], Any] = {
        key: _Column([(_attribute(key[0]), None, frozenset({struct})), *walk]) for key, walk in steps.items()
    }
    return struct, {**columns, **lazy_columns}


def _attribute(member: str) -> str:
    """The attribute holding JSON member `member`, the same in every Struct (so a walk through
    a list's element and through an object's member "0" reads the same attributes)."""
    return "m_" + member.encode().hex()


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
