"""CloudTrail log files (`{"Records": [...]}`, gzipped or not) to records, streamed in bounded memory.

A log file is read chunk by chunk: gzip is inflated incrementally, a bracket-aware splitter finds
the elements of the top-level `Records` array without parsing them, and orjson parses one record
at a time. Memory is one chunk plus the largest record, however big the file, and the hot path is
a C regex skipping over strings plus `orjson.loads` per record (no JSON library in pure Python).

Shared by the S3-notification Lambda and the backfill, so it lives in `processor/` (the Lambda
package holds nothing else).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from processor.decode.jsonload import json_kind
from processor.decode.result import DecodeFailure
from processor.decode.shapes import is_cloudtrail_record
from processor.errors import DecodeError
from processor.models import Record

if TYPE_CHECKING:
    from processor.partial.phases import Phases
    from processor.partial.skip import Skipper

SOURCE = "s3:cloudtrail-file"
GZIP_MAGIC = b"\x1f\x8b"
# Inflate at most this much per step: a gzip bomb never becomes gigabytes at once, and a step that
# fits the CPU cache parses measurably faster than a 1 MiB one.
INFLATE_STEP = 64 * 1024
# With two-phase decoding each step's complete records are decoded as one run and most are only
# counted (processor/partial), with a fixed cost per run and per column: on the bench corpus with
# 51 user rules, 1 MiB runs cost the backfill core about 7% less than 256 KiB ones, which cost
# about 7% less than 128 KiB ones (2 MiB: no better).
PARTIAL_INFLATE_STEP = 1024 * 1024
# A single CloudTrail record is at most a few hundred KiB; anything this big is not one.
MAX_RECORD_BYTES = 32 * 1024 * 1024

_WS = re.compile(rb"[ \t\r\n]*+")
# Everything up to the next bracket outside a string: strings are consumed whole, possessively,
# so brackets inside them never count and an unterminated string stops the match at its quote.
_SKIP = re.compile(rb'[^"{}\[\]]*+(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"[^"{}\[\]]*+)*+', re.DOTALL)
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_LITERAL = re.compile(rb"[-+.0-9A-Za-z]*+")


try:  # zlib-ng inflates about twice as fast, with zlib's API and error messages
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - a dependency; zlib does the same, slower
    _zlib = zlib  # type: ignore[assignment]


class LogFileError(DecodeError):
    """Raised when a whole object cannot be read as a CloudTrail log file: bad gzip, not JSON, not
    `{"Records": [...]}`, or cut short. Records yielded before the error were real and stay valid."""


class _Inflater:
    """Incremental gzip (including concatenated members, which gzip allows) with bounded output."""

    def __init__(self, step: int = INFLATE_STEP) -> None:
        self._inflater = _zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._fed = 0
        self._step = step

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._fed += len(data)
        while data:
            try:
                out = self._inflater.decompress(data, self._step)
            except _zlib.error as exc:
                raise LogFileError(f"gzip data is corrupt: {exc}") from None
            if out:
                yield out
            if self._inflater.unconsumed_tail:
                data = self._inflater.unconsumed_tail
            elif self._inflater.eof and self._inflater.unused_data:
                data = self._inflater.unused_data
                self._inflater = _zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            else:
                data = b""

    def finish(self) -> bytes:
        if not self._inflater.eof:
            raise LogFileError(f"gzip data is truncated: the stream ends after {self._fed} bytes")
        return self._inflater.flush()


# Splitter phases: where in `{"key": value, "Records": [elem, elem], ...}` the next byte belongs.
_START, _KEY_OR_CLOSE, _KEY, _COLON, _VALUE, _SKIP_VALUE, _AFTER_MEMBER = range(7)
_ELEMENT_OR_END, _ELEMENT_START, _ELEMENT, _AFTER_ELEMENT, _END = range(7, 12)

# Where an object element of `Records` may end: `}` then `,{` (the next record) or `]`.
_CANDIDATE = re.compile(rb"\}(?=[ \t\r\n]*+(?:,[ \t\r\n]*+\{|\]))")
# The opening of an object element up to its first key (`{"eventVersion":`). Records of one file
# share it, so `}` + `,` + that opening is almost surely the next record: nested arrays of objects
# (resources, items) never start with it, which `_CANDIDATE` cannot tell.
_HEAD = re.compile(rb'\{[ \t\r\n]*+"[A-Za-z0-9_$@.:-]{1,64}+"[ \t\r\n]*+:')
_BOUNDARIES: dict[bytes, re.Pattern[bytes]] = {}
# Failed guesses per element (and buffered bytes) before the exact bracket scan takes over.
_MAX_GUESSES = 8
_MAX_GUESS_BYTES = 4 * 1024 * 1024


class InvalidElement:
    """A `Records` element whose bytes are not valid JSON; `reason` is orjson's message."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class RecordsParser:
    """Push bytes of a JSON document in; get each element of its `Records` array out, parsed.

    Only the top level is tokenised (keys, colons, commas). An object element is delimited by
    guessing: its end is a `}` followed by `,{` or `]`, and since no proper prefix of a JSON object
    is itself a valid object, the first guess that orjson parses is the element, parsed once.
    A guess fails only on a nested array of objects, so a record costs about one `orjson.loads`.
    Anything unusual (scalars, elements that keep failing) falls back to an exact bracket count
    outside strings. Either way, memory is one element plus one chunk.
    """

    def __init__(self, phases: Phases | None = None, skipper: Skipper | None = None) -> None:
        self._phases = phases  # two-phase decoding: runs of records as partial views (processor.partial)
        self._skipper = skipper  # counts records no rule can match instead of returning them
        if phases is not None:
            from processor.partial import logruns  # msgspec: only when two-phase decoding is on

            self._run_end, self._decode_run = logruns.run_end, logruns.decode_run
        self._buf = b""
        self._pos = 0
        self._phase = _START
        self._key = b""
        self._start = 0  # where the value or element being delimited began
        self._depth = 0
        self._guess = True
        self._guesses = 0
        self._offset = 0  # bytes dropped from the front of _buf, for error positions
        self.saw_records = False

    def feed(self, data: bytes) -> list[Any]:
        keep = self._keep_from()
        self._buf = self._buf[keep:] + data
        elements: list[Any] = []
        self._advance(elements, final=False)
        return elements

    def finish(self) -> list[Any]:
        elements: list[Any] = []
        self._advance(elements, final=True)
        if self._phase != _END:
            if self._phase == _START and not self._buf[self._pos :].strip():
                raise LogFileError("not JSON: the object is empty")
            raise self._truncated()
        if not self.saw_records:
            raise LogFileError("JSON object has no 'Records' array: it is not a CloudTrail log file")
        return elements

    def _keep_from(self) -> int:
        keep = self._start if self._phase in (_ELEMENT, _SKIP_VALUE) else self._pos
        self._offset += keep
        self._pos -= keep
        self._start -= keep
        return keep

    def _truncated(self) -> LogFileError:
        where = "the 'Records' array" if self.saw_records else "the top-level object"
        return LogFileError(f"not a complete JSON document: it ends inside {where}")

    def _error(self, what: str) -> LogFileError:
        return LogFileError(f"not a CloudTrail log file: {what} at byte {self._offset + self._pos}")

    def _advance(self, out: list[Any], *, final: bool) -> None:
        buf, n = self._buf, len(self._buf)
        while True:
            phase = self._phase
            if phase == _ELEMENT:
                if not self._element(buf, n, final, out):
                    return
                continue
            if phase == _SKIP_VALUE:
                end = self._delimit(buf, n, final)
                if end is None:
                    return
                self._phase, self._pos = _AFTER_MEMBER, end
                continue
            self._pos = pos = _WS.match(buf, self._pos).end()
            if pos == n:
                return
            self._step(phase, buf[pos : pos + 1], buf, pos, final)
            if self._phase == phase and self._pos == pos:  # an incomplete key: wait for more bytes
                return

    def _step(self, phase: int, byte: bytes, buf: bytes, pos: int, final: bool) -> None:
        """One token of the top level: the punctuation around `Records` and other members."""
        if phase == _START:
            if byte != b"{":
                raise self._error(f"the document starts with {byte!r}, not a JSON object")
            self._phase, self._pos = _KEY_OR_CLOSE, pos + 1
        elif phase in (_KEY_OR_CLOSE, _KEY):
            if byte == b"}" and phase == _KEY_OR_CLOSE:
                self._phase, self._pos = _END, pos + 1
                return
            match = _STRING.match(buf, pos)
            if match is None:
                if byte == b'"' and not final:
                    return
                raise self._error("malformed object key")
            self._key, self._pos, self._phase = match.group(), match.end(), _COLON
        elif phase == _COLON:
            if byte != b":":
                raise self._error("expected ':'")
            self._phase, self._pos = _VALUE, pos + 1
        elif phase == _VALUE:
            if self._key == b'"Records"':
                if byte != b"[":
                    raise self._error("'Records' is not an array")
                self.saw_records = True
                self._phase, self._pos = _ELEMENT_OR_END, pos + 1
            else:
                self._phase, self._start, self._depth = _SKIP_VALUE, pos, 0
        elif phase == _AFTER_MEMBER:
            if byte == b",":
                self._phase, self._pos = _KEY, pos + 1
            elif byte == b"}":
                self._phase, self._pos = _END, pos + 1
            else:
                raise self._error("expected ',' or '}' after a member")
        elif phase in (_ELEMENT_OR_END, _ELEMENT_START):
            if byte == b"]" and phase == _ELEMENT_OR_END:
                self._phase, self._pos = _AFTER_MEMBER, pos + 1
            else:
                self._phase, self._start, self._depth = _ELEMENT, pos, 0
                self._guess, self._guesses = byte == b"{", 0
        elif phase == _AFTER_ELEMENT:
            if byte == b",":
                self._phase, self._pos = _ELEMENT_START, pos + 1
            elif byte == b"]":
                self._phase, self._pos = _AFTER_MEMBER, pos + 1
            else:
                raise self._error("expected ',' or ']' after a record")
        else:  # _END
            raise self._error("unexpected data after the JSON document")

    def _element(self, buf: bytes, n: int, final: bool, out: list[Any]) -> bool:
        """Delimit and parse the element at `_start`; False when more bytes are needed."""
        if self._guess:
            found = self._guess_end(buf, n, final, out)
            if found is not None:
                return found
        end = self._delimit(buf, n, final)
        if end is None:
            if n - self._start > MAX_RECORD_BYTES:
                raise self._error(f"a record larger than {MAX_RECORD_BYTES} bytes")
            return False
        try:
            out.append(orjson.loads(buf[self._start : end]))
        except orjson.JSONDecodeError as exc:
            out.append(InvalidElement(exc.msg))
        self._phase, self._pos = _AFTER_ELEMENT, end
        return True

    def _guess_end(self, buf: bytes, n: int, final: bool, out: list[Any]) -> bool | None:
        """Try candidate ends; True when parsed, False to wait for bytes, None to scan exactly."""
        if self._guesses == 0:
            self._run_of_records(buf, out)
        start = self._start
        scan = self._pos if self._pos > start else start
        for match in _CANDIDATE.finditer(buf, scan):
            end = match.end()
            try:
                out.append(orjson.loads(buf[start:end]))
            except orjson.JSONDecodeError:
                self._guesses += 1
                if self._guesses >= _MAX_GUESSES:
                    break
                continue
            self._phase, self._pos = _AFTER_ELEMENT, end
            return True
        else:
            if not final and n - start <= _MAX_GUESS_BYTES:
                # A `}` near the end may become a candidate once the next bytes arrive.
                brace = buf.rfind(b"}", scan, n)
                tail_open = brace >= 0 and not buf[brace + 1 : n].strip(b" \t\r\n,")
                self._pos = brace if tail_open else n
                return False
        self._guess, self._pos, self._depth = False, start, 0
        return None

    def _run_of_records(self, buf: bytes, out: list[Any]) -> None:
        """Parse consecutive elements that open like this one, each ended by `}` + `,` + that opening.

        The hot path: one regex search and one `orjson.loads` per record, no failed guesses and no
        trip through the top-level state machine. Like every guess, an end is only taken when
        orjson parses the bytes up to it (no proper prefix of an object is an object); on the first
        miss it stops, leaving the element where it started, for the general path.
        """
        start = self._start
        head = _HEAD.match(buf, start)
        if head is None:
            return
        boundary = _BOUNDARIES.get(head.group())
        if boundary is None:
            if len(_BOUNDARIES) > 64:
                _BOUNDARIES.clear()
            boundary = _BOUNDARIES[head.group()] = re.compile(
                rb"\}[ \t\r\n]*+,[ \t\r\n]*+(?=" + re.escape(head.group()) + rb")"
            )
        if self._phases is not None:
            found = self._run_end(buf, start, head.group())
            elements = (
                self._decode_run(self._phases, buf, start, found[0], self._skipper, head.group())
                if found
                else None
            )
            if elements is not None:
                out.extend(elements)
                start = found[1]  # type: ignore[index]
        search, loads, append = boundary.search, orjson.loads, out.append
        while (match := search(buf, start)) is not None:
            try:
                append(loads(buf[start : match.start() + 1]))
            except orjson.JSONDecodeError:
                break
            start = match.end()
        if start != self._start:
            self._start = self._pos = start

    def _delimit(self, buf: bytes, n: int, final: bool) -> int | None:
        """The end of the value starting at `_start` (resuming at `_pos`), or None for more data."""
        pos = self._pos if self._pos > self._start else self._start
        first = buf[self._start : self._start + 1]
        if first not in (b"{", b"["):
            return self._delimit_scalar(buf, n, final, first)
        depth = self._depth
        while True:
            pos = _SKIP.match(buf, pos).end()
            if pos >= n:
                break
            byte = buf[pos]
            if byte == 0x7B or byte == 0x5B:  # { [
                depth += 1
            elif byte == 0x7D or byte == 0x5D:  # } ]
                depth -= 1
                if depth == 0:
                    return pos + 1
            else:  # a quote whose string does not end in this buffer
                break
            pos += 1
        if final:
            raise self._truncated()
        self._pos, self._depth = pos, depth
        return None

    def _delimit_scalar(self, buf: bytes, n: int, final: bool, first: bytes) -> int | None:
        pattern = _STRING if first == b'"' else _LITERAL
        match = pattern.match(buf, self._start)
        if match is None or (match.end() == n and not final):
            if final:
                raise self._truncated()
            return None
        if match.end() == self._start:
            raise self._error(f"unexpected {first!r}")
        return match.end()


class LogFileReader:
    """Turns the chunks of one log file into Records; bad elements are collected, not raised.

    `failures` lists elements that are not CloudTrail records (the rest of the file still counts);
    a file that is unreadable as a whole raises LogFileError from `records()`.
    """

    def __init__(
        self,
        item_id: str,
        *,
        source: str = SOURCE,
        phases: Phases | None = None,
        skipper: Skipper | None = None,
    ) -> None:
        self.item_id = item_id
        self._phases = phases
        self._partial: Any = None
        self._skipped: Any = None
        if phases is not None:
            from processor.partial import logruns  # msgspec: only when two-phase decoding is on

            self._partial = logruns
            if skipper is not None and skipper.enabled:
                self._skipped = logruns.Skipped
        self._skipper = skipper if self._skipped is not None else None
        self.counts_in_bulk = self._skipper is not None  # some records are counted, not returned
        self.source = source
        self.failures: list[DecodeFailure] = []
        self.bytes_read = 0
        self._index = 0
        # With a skipper (processor.partial.skip): records no rule can match, or that an ignore
        # rule is known to match, are not returned but counted here: as unmatched or ignored (in
        # the window), or outside the window.
        self.skipped_unmatched = 0
        self.skipped_ignored = 0
        self.skipped_outside = 0

    @property
    def skipped(self) -> int:
        """Records counted instead of returned so far (unmatched, ignored or outside the window)."""
        return self.skipped_unmatched + self.skipped_ignored + self.skipped_outside

    def records(self, chunks: Iterable[bytes]) -> Iterator[Record]:
        parser = RecordsParser(self._phases, self._skipper)
        inflater: _Inflater | None = None
        head: bytes | None = b""  # the first bytes, until there are enough to tell gzip from JSON
        for chunk in chunks:
            self.bytes_read += len(chunk)
            if head is not None:
                head += chunk
                if len(head) < len(GZIP_MAGIC):
                    continue
                chunk, head = head, None
                step = INFLATE_STEP if self._phases is None else PARTIAL_INFLATE_STEP
                inflater = _Inflater(step) if chunk.startswith(GZIP_MAGIC) else None
            pieces = inflater.feed(chunk) if inflater else (chunk,)
            for piece in pieces:
                yield from self._parse(parser.feed(piece))
        if head:
            yield from self._parse(parser.feed(head))
        if inflater is not None:
            yield from self._parse(parser.feed(inflater.finish()))
        yield from self._parse(parser.finish())

    def _parse(self, elements: list[Any]) -> Iterator[Record]:
        for event in elements:
            index = self._index
            self._index += 1
            if self._partial is not None and type(event) is self._partial.PartialElement:
                found = self._partial.to_record(self._phases, event, self.item_id, index, self.source)
                if type(found) is str:
                    self._fail(index, found)
                else:
                    yield found
            elif type(event) is self._skipped:
                self._index += event.count - 1
                self.skipped_outside += event.outside
                self.skipped_ignored += event.ignored
                self.skipped_unmatched += event.count - event.outside - event.ignored
            elif is_cloudtrail_record(event):
                yield Record(event=event, item_id=self.item_id, index=index, source=self.source)
            elif isinstance(event, InvalidElement):
                self._fail(index, f"is not valid JSON: {event.reason}")
            elif isinstance(event, dict):
                self._fail(index, "is a JSON object without 'eventName' and 'eventSource'")
            else:
                self._fail(index, f"is a JSON {json_kind(event)}, not a CloudTrail record")

    def _fail(self, index: int, reason: str) -> None:
        self.failures.append(DecodeFailure(self.item_id, f"Records[{index}] {reason}"))


def read_log_file(chunks: Iterable[bytes], item_id: str) -> Iterator[Record]:
    """Records of one log file; convenience for callers that do not need the per-element failures."""
    return LogFileReader(item_id).records(chunks)
