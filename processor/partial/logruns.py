"""Phase 1 for CloudTrail log files: runs of consecutive records decoded in one msgspec call.

The log-file splitter (processor/logfiles.py) finds where a record may end by the bytes that open
the next one (`},{"eventVersion":`). Here, all complete records from the current one to the last
such boundary in the buffer are decoded at once, as a JSON array, into partial views. A boundary
inside a record (a nested array whose objects open alike) cannot pass: the bytes up to it are not
a sequence of complete values, so the decode fails and the splitter goes on record by record, as
before. So does any run that is not pure ASCII or valid UTF-8, or that holds a value the partial
view refuses (see schema.py): every failure of phase 1 leaves the run to the full decode.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
import orjson

from processor.decode.jsonload import json_kind
from processor.decode.shapes import is_cloudtrail_record
from processor.errors import DecodeError
from processor.partial.address import buffer_address
from processor.partial.kinesis import utf8
from processor.partial.phases import Phases
from processor.partial.records import PartialRecord
from processor.partial.skip import IGNORED, Skipped, Skipper

__all__ = ["PartialElement", "Run", "decode_run", "run_end", "to_record"]

# The opening of a CloudTrail record, whose first member Skipper.locator decodes as a Raw.
LOCATED_OPENING: Final = b'{"eventVersion":'
_FAILED: Final = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)
_WHITESPACE: Final = b" \t\r\n"


class Run:
    """The bytes of one decoded run; each element's own bytes only when one is needed in full.

    An element is found where it is, when the skim located it (Skipper.locator): its first
    member's value was decoded as a msgspec.Raw, a view into the run, so the value's address
    tells its offset. It is taken only when the bytes there are exactly `{"eventVersion":`: a
    member that an object's `{` precedes is that object's first, and this object is the element,
    whose own member the Raw is. The element ends where the next one starts, less the `,` and
    whitespace between them (the run decoded as a list, so only those lie between), or at the
    run's closing `]`.

    Otherwise the elements' bytes come from decoding the run again as a list of msgspec.Raw: a
    scan of the whole run, done once, when the first kept element needs its bytes. With the kept
    positions known (`keep`), only part of the run is scanned when they are all near one end: a
    prefix that ends just after the last kept one, or a suffix that starts at or before the
    first. Either is exact or refused: a prefix cut at `,` before a record's opening
    (`{"eventVersion":`) decodes as a list only when that opening is an element's, not a nested
    object's (a nested one leaves brackets open), and then holds exactly the run's first
    elements; a suffix from such an opening decodes only when it is an element's (a nested one
    leaves closers unmatched), and holds exactly the run's last elements.
    """

    __slots__ = (
        "_wrapped",
        "_raws",
        "_phases",
        "_head",
        "_count",
        "_kept",
        "_first",
        "_structs",
        "_locator",
        "_base",
    )

    def __init__(
        self,
        wrapped: bytes,
        phases: Phases,
        head: bytes = b"",
        count: int = 0,
        structs: list[Any] | None = None,
        locator: str | None = None,
    ) -> None:
        self._wrapped = wrapped
        self._phases = phases
        self._head = head  # the opening every element of the run is expected to start with
        self._count = count  # elements in the run
        self._kept: list[int] = []  # positions whose bytes will be asked for, in order
        self._raws: list[msgspec.Raw] | None = None
        self._first = 0  # the position of _raws[0]
        # The skimmed structs, when they located their elements: the attribute holding the Raw
        self._structs = structs if locator is not None and buffer_address is not None else None
        self._locator = locator
        self._base = -1  # the address of the run's first byte, once asked for

    def keep(self, positions: list[int]) -> None:
        self._kept = positions

    def raw(self, position: int) -> msgspec.Raw | memoryview:
        if self._structs is not None:
            found = self._located(position)
            if found is not None:
                return found
        if self._raws is None:
            self._raws, self._first = self._part() or self._whole()
        if not 0 <= position - self._first < len(self._raws):  # not in the part: the whole run
            self._raws, self._first = self._whole()
        return self._raws[position - self._first]

    def _located(self, position: int) -> memoryview | None:
        """The element's bytes found by where its first member is, or None (see the class)."""
        start = self._start(position)
        if start < 0:
            return None
        wrapped = self._wrapped
        if position + 1 < self._count:
            after = self._start(position + 1)
            if after < 0:
                return None
            end = wrapped.rfind(b",", start, after)  # the separator: only whitespace follows it
            if end < 0 or wrapped[end + 1 : after].strip(_WHITESPACE):
                return None
        else:
            end = len(wrapped) - 1  # the run's closing "]"
        while wrapped[end - 1] in _WHITESPACE:
            end -= 1
        return memoryview(wrapped)[start:end]

    def _start(self, position: int) -> int:
        """Where element `position` starts, when its first member located it; else -1."""
        value = getattr(self._structs[position], self._locator, None)  # type: ignore[index, arg-type]
        if value.__class__ is not msgspec.Raw:
            return -1
        if self._base < 0:
            self._base = buffer_address(self._wrapped)  # type: ignore[misc]
        start = buffer_address(value) - self._base - len(LOCATED_OPENING)  # type: ignore[misc]
        if start < 0 or not self._wrapped.startswith(LOCATED_OPENING, start):
            return -1
        return start

    def _whole(self) -> tuple[list[msgspec.Raw], int]:
        return self._phases.raw_run.decode(self._wrapped), 0

    def _part(self) -> tuple[list[msgspec.Raw], int] | None:
        """(raws, position of the first) of a prefix or suffix holding every kept position."""
        kept, count, head, wrapped = self._kept, self._count, self._head, self._wrapped
        if not kept or not head or not count:
            return None
        # The share of the run's bytes up to the last kept element, or from the first, estimated
        # by position (records differ in size: a margin makes a too short part rarer).
        prefix, suffix = (kept[-1] + 1) / count + _MARGIN, (count - kept[0]) / count + _MARGIN
        if min(prefix, suffix) > _PART_AT_MOST:
            return None
        try:
            if prefix <= suffix:
                cut = wrapped.find(head, int(len(wrapped) * prefix))
                if cut < 0:
                    return None
                body = wrapped[:cut].rstrip(_WHITESPACE)
                if not body.endswith(b","):
                    return None
                raws = self._phases.raw_run.decode(b"".join((body[:-1], b"]")))
                return (raws, 0) if len(raws) > kept[-1] else None
            start = wrapped.rfind(head, 1, int(len(wrapped) * (1 - suffix)) + 1)
            if start < 1:
                return None
            raws = self._phases.raw_run.decode(b"".join((b"[", memoryview(wrapped)[start:])))
            first = count - len(raws)
            return (raws, first) if 0 <= first <= kept[0] else None
        except _FAILED:
            return None


# Past this share of the run, a part costs about what the whole does: the whole is decoded.
_PART_AT_MOST: Final = 0.8
_MARGIN: Final = 0.1


class PartialElement:
    """One element of a decoded run: its partial view and where its bytes are."""

    __slots__ = ("view", "run", "position", "plan")

    def __init__(self, view: Any, run: Run, position: int, plan: Any = None) -> None:
        self.view = view  # None: skimmed, to be decoded from the element's bytes
        self.run = run
        self.position = position
        self.plan = plan  # the rules' plan, when the Skipper already made it


def run_end(buf: bytes, start: int, head: bytes) -> tuple[int, int] | None:
    """(end of the last element that a boundary closes, start of the element after it), if any."""
    at = buf.rfind(head, start + 1)
    while at > start:
        end = _close_before(buf, at)
        if end > start:
            return end, at
        at = buf.rfind(head, start + 1, at)
    return None


def _close_before(buf: bytes, at: int) -> int:
    """`pos + 1` when `buf[pos:at]` is `}` + whitespace + `,` + whitespace, else -1."""
    pos = at - 1
    while pos >= 0 and buf[pos] in _WHITESPACE:
        pos -= 1
    if pos < 0 or buf[pos] != 0x2C:  # ,
        return -1
    pos -= 1
    while pos >= 0 and buf[pos] in _WHITESPACE:
        pos -= 1
    return pos + 1 if pos >= 0 and buf[pos] == 0x7D else -1  # }


def decode_run(
    phases: Phases, buf: bytes, start: int, end: int, skipper: Skipper | None = None, head: bytes = b""
) -> list[PartialElement | Skipped] | None:
    """The elements in `buf[start:end]` as partial views, or None to leave them to the full decode.

    With a `skipper`, consecutive elements that no rule can match come out as one Skipped.
    """
    wrapped = b"".join((b"[", memoryview(buf)[start:end], b"]"))  # one copy, not three
    if not utf8(wrapped):
        return None
    try:
        structs = (phases.run if skipper is None else skipper.skim_run).decode(wrapped)
    except _FAILED:
        return None
    run = Run(wrapped, phases, head, len(structs), structs, skipper.locator if skipper is not None else None)
    skips = skipper.split(structs, run.raw) if skipper is not None else None
    if skips is None:
        if skipper is not None:  # skimmed: the views need phase 1's fields after all
            try:
                structs = phases.run.decode(wrapped)
            except _FAILED:
                return None
        views = phases.to_view(structs)
        return [PartialElement(view, run, position) for position, view in enumerate(views)]
    return _with_skipped(phases, skipper, structs, skips, run)  # type: ignore[arg-type]


def _with_skipped(
    phases: Phases, skipper: Skipper, structs: list[Any], skips: list[Any], run: Run
) -> list[PartialElement | Skipped]:
    if not skipper.has_window:
        return _with_skipped_anytime(skips, run)
    out: list[PartialElement | Skipped] = []
    kept: list[int] = []
    count = outside = ignored = 0
    for position, skip in enumerate(skips):
        if skip is True or skip is IGNORED:
            away = skipper.outside(structs[position])
            if away is not None:
                count += 1
                if away:
                    outside += 1
                elif skip is IGNORED:
                    ignored += 1
                continue
        if count:
            out.append(Skipped(count, outside, ignored))
            count = outside = ignored = 0
        kept.append(position)
        out.append(position)  # type: ignore[arg-type] - replaced below
    if count:
        out.append(Skipped(count, outside, ignored))
    if kept:  # skimmed views: to_record decodes phase 1's fields of these few from their bytes
        run.keep(kept)
        out = [
            item if type(item) is Skipped else PartialElement(None, run, item, _plan(skips[item]))  # type: ignore
            for item in out
        ]
    return out


def _with_skipped_anytime(skips: list[Any], run: Run) -> list[PartialElement | Skipped]:
    """`_with_skipped` without a window (every element is inside it): in bulk, since most are
    counted, walking only the kept few and counting the ignored ones between them."""
    kept = [position for position, skip in enumerate(skips) if skip is not True and skip is not IGNORED]
    run.keep(kept)
    out: list[PartialElement | Skipped] = []
    start = 0
    for position in (*kept, len(skips)):
        if position > start:
            out.append(Skipped(position - start, 0, _ignored(skips, start, position)))
        if position < len(skips):
            out.append(PartialElement(None, run, position, _plan(skips[position])))
        start = position + 1
    return out


def _ignored(skips: list[Any], start: int, end: int) -> int:
    """How many of `skips[start:end]` (all True or IGNORED) are IGNORED."""
    return end - start - skips[start:end].count(True)


def _plan(found: Any) -> Any:
    """The Plan the Skipper found, or None (True, False, IGNORED: to be made from the view)."""
    return None if found.__class__ is bool or found is IGNORED else found


def to_record(phases: Phases, element: PartialElement, item_id: str, index: int, source: str) -> Any:
    """A PartialRecord, or the reason the element is not a CloudTrail record (as a str)."""
    view = element.view
    whole = False
    raw = None  # the element's bytes, found once (locating them reads addresses, see Run)
    if view is None:  # skimmed (see skip.py): phase 1's fields from the element's own bytes
        raw = element.run.raw(element.position)
        try:
            view = phases.to_view(phases.record.decode(raw))
        except _FAILED:
            try:
                view, whole = orjson.loads(memoryview(raw)), True
            except orjson.JSONDecodeError as exc:  # what the record-by-record path would say
                return f"is not valid JSON: {exc.msg}"
    if not is_cloudtrail_record(view):
        if isinstance(view, dict):
            return "is a JSON object without 'eventName' and 'eventSource'"
        return f"is a JSON {json_kind(view)}, not a CloudTrail record"
    plan = element.plan
    if plan is None:
        plan = phases.rules.plan(view)
    if not whole and not plan.keys <= phases.first:  # the rules that may match read more: decode those too
        if raw is None:
            raw = element.run.raw(element.position)
        try:
            view = phases.to_view(phases.second_record(plan.keys).decode(raw))
        except _FAILED:
            try:
                view = orjson.loads(memoryview(raw))  # the full record
            except orjson.JSONDecodeError as exc:  # what the record-by-record path would say
                return f"is not valid JSON: {exc.msg}"
    # The record keeps a copy of its own bytes, not the run: a batch of records must not pin a
    # quarter-megabyte run buffer per record (memory would grow with the size of a file).
    if raw is None:
        raw = element.run.raw(element.position)
    return PartialRecord(view, item_id, index, source, plan, _full, bytes(memoryview(raw)))


def _full(data: bytes) -> dict[str, Any]:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:  # only a number beyond a double's range gets here
        raise DecodeError(f"is not valid JSON: {exc.msg}") from None
