"""CloudTrail log files (`{"Records": [...]}`, gzipped or not) to Records, streamed in bounded memory.

Shared by the backfill and the S3-notification Lambda. A log file arrives as chunks; its gzip
members are inflated a step at a time; the JSON document is split into the elements of its
`Records` array (`_Splitter`) without parsing them in Python; each run of complete elements goes
to the fast path (processor/fastpath.py), when there is one, and the elements it keeps are decoded
in full with orjson. Memory is one step of inflated bytes plus the largest record, whatever the
size of the file; time is linear in it.

Damage loses nothing before it: a truncated or corrupt file yields every complete record before
the damage, then `LogFileError` says what was wrong and where. An element that is not a
CloudTrail record (or not JSON) is a failure of its own (`LogFileReader.failures`) and the file
goes on.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec
import orjson

from processor.decode import DecodeFailure, is_cloudtrail_record, json_kind
from processor.errors import DecodeError
from processor.models import Record

if TYPE_CHECKING:
    from processor.fastpath import FastPath

try:  # zlib-ng inflates about twice as fast, with zlib's API and error messages
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - a dependency; zlib does the same, slower
    _zlib = zlib  # type: ignore[assignment]

SOURCE: Final = "s3:cloudtrail-file"
GZIP_MAGIC: Final = b"\x1f\x8b"
# Inflated bytes per step: each step's complete records are sorted as one run (the fast path
# has a small fixed cost per run), and a gzip bomb never becomes gigabytes at once.
INFLATE_STEP: Final = 1024 * 1024
# A CloudTrail record is at most a few hundred KiB; an element bigger than this is skipped and
# reported, so memory stays bounded.
MAX_RECORD_BYTES: Final = 32 * 1024 * 1024
# What one object may inflate to in all: CloudTrail files are tens of MB at most; a bomb stops here.
MAX_OBJECT_BYTES: Final = 8 * 1024 * 1024 * 1024
MAX_KEY_BYTES: Final = 64 * 1024  # a top-level member name longer than this is not a log file's

_WS: Final = b" \t\r\n"
_SPACES = re.compile(rb"[ \t\r\n]*+")
_MEMBER_NAME = re.compile(rb'"(?:[^"\\]|\\.)*+"', re.DOTALL)
# An element's opening up to its first member's name: records of one file share it
# (`{"eventVersion":`), so it marks where the next record starts.
_HEAD = re.compile(rb'\{[ \t\r\n]*+"[A-Za-z0-9_$@.:-]{1,64}+"[ \t\r\n]*+:')
_OUTSIDE_STRINGS = re.compile(rb'[^"{}\[\]]*+')  # up to the next quote or bracket
_INSIDE_STRING = re.compile(rb'[^"\\]*+')  # up to the next quote or backslash
_LITERAL = re.compile(rb"[-+.0-9A-Za-z]*+")  # a number, true, false or null (orjson checks which)
_RAW_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])


class LogFileError(DecodeError):
    """A whole object cannot be read (on) as a CloudTrail log file: bad gzip, not JSON, not
    `{"Records": [...]}`, or cut short. Records read before the error were real and stay valid."""


@dataclass
class Counted:
    """Records the fast path counted instead of returning."""

    unmatched: int = 0
    ignored: int = 0
    outside: int = 0  # outside the time window

    @property
    def total(self) -> int:
        return self.unmatched + self.ignored + self.outside


class LogFileReader:
    """Turns the chunks of one log file into Records; bad elements are collected, not raised.

    With a fast path, the records no rule can match (or that an ignore rule is known to match,
    or outside `in_window`) are only counted in `counted`; the others are returned as usual.
    A file unreadable as a whole raises LogFileError from `records()`, after every record before
    the damage.
    """

    def __init__(
        self,
        item_id: str,
        *,
        source: str = SOURCE,
        fast: FastPath | None = None,
        in_window: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self.item_id = item_id
        self.source = source
        self.failures: list[DecodeFailure] = []
        self.counted = Counted()
        self.bytes_read = 0
        self._fast = fast
        self._in_window = in_window

    def records(self, chunks: Iterable[bytes]) -> Iterator[Record]:
        splitter = _Splitter()
        inflater: _Inflater | None = None
        head: bytes | None = b""  # the first bytes, until there are enough to tell gzip from JSON
        for chunk in chunks:
            self.bytes_read += len(chunk)
            if head is not None:
                head += chunk
                if len(head) < len(GZIP_MAGIC):
                    continue
                chunk, head = head, None
                inflater = _Inflater() if chunk.startswith(GZIP_MAGIC) else None
            # Each piece's complete elements come out at once, so when the input breaks off,
            # everything before the damage has been read already.
            for piece in inflater.feed(chunk) if inflater else _plain(chunk):
                yield from self._read(splitter.feed(piece))
        if head:
            yield from self._read(splitter.feed(head))
        if inflater is not None:
            inflater.finish()
        yield from self._read(splitter.finish())

    def _read(self, runs: list[_Run]) -> Iterator[Record]:
        for run in runs:
            if run.failure is not None:
                self._fail(run.first, run.failure)
                continue
            keep: Iterable[int] = range(len(run.raws))
            if self._fast is not None:
                found = self._fast.log_records(run.raws, run.whole, self._in_window)
                self.counted.unmatched += found.unmatched
                self.counted.ignored += found.ignored
                self.counted.outside += found.outside
                keep = found.keep
            for position in keep:
                record = self._record(run.raws[position], run.first + position)
                if record is not None:
                    yield record

    def _record(self, raw: Any, index: int) -> Record | None:
        try:
            event = orjson.loads(memoryview(raw))
        except orjson.JSONDecodeError as exc:
            self._fail(index, f"is not valid JSON: {exc.msg}")
            return None
        if is_cloudtrail_record(event):
            return Record(event=event, item_id=self.item_id, index=index, source=self.source)
        if isinstance(event, dict):
            self._fail(index, "is a JSON object without 'eventName' and 'eventSource'")
        else:
            self._fail(index, f"is a JSON {json_kind(event)}, not a CloudTrail record")
        return None

    def _fail(self, index: int, reason: str) -> None:
        self.failures.append(DecodeFailure(self.item_id, f"Records[{index}] {reason}"))


def read_log_file(chunks: Iterable[bytes], item_id: str) -> Iterator[Record]:
    """Records of one log file; convenience for callers that do not need the per-element failures."""
    return LogFileReader(item_id).records(chunks)


def _plain(chunk: bytes) -> Iterator[bytes]:
    """An uncompressed file's chunk, in pieces of at most one step (like inflated ones)."""
    for start in range(0, len(chunk), INFLATE_STEP):
        yield chunk[start : start + INFLATE_STEP]


class _Inflater:
    """Incremental gzip, every member (gzip allows several), at most INFLATE_STEP bytes at a time
    and MAX_OBJECT_BYTES in all."""

    def __init__(self) -> None:
        self._inflater = _zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._fed = 0
        self._out = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._fed += len(data)
        while data:
            try:
                out = self._inflater.decompress(data, INFLATE_STEP)
            except _zlib.error as exc:
                raise LogFileError(f"gzip data is corrupt: {exc} (at compressed byte {self._fed})") from None
            self._out += len(out)
            if self._out > MAX_OBJECT_BYTES:
                raise LogFileError(f"gzip data inflates to more than {MAX_OBJECT_BYTES} bytes")
            if out:
                yield out
            if self._inflater.unconsumed_tail:
                data = self._inflater.unconsumed_tail
            elif self._inflater.eof and self._inflater.unused_data:
                data = self._inflater.unused_data
                self._inflater = _zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            else:
                data = b""

    def finish(self) -> None:
        if not self._inflater.eof:
            raise LogFileError(f"gzip data is truncated: the stream ends after {self._fed} bytes")


@dataclass
class _Run:
    """Consecutive elements of `Records`, from index `first`: `raws[i]` is one element's bytes,
    `whole` is `[` + all of them + `]` (the fast path reads them all at once); or, with
    `failure`, element `first` alone, which could not be kept (too large)."""

    first: int
    raws: list[Any]
    whole: bytes = b""
    failure: str | None = None


class _ValueEnd:
    """Where one JSON value ends, scanned piece by piece: exact for strings, escapes and nesting
    (syntax is left to the parser), and holding no bytes, so a value of any size costs no memory."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False
        self.literal = False
        self.started = False

    def scan(self, buf: bytes, pos: int) -> int | None:
        """The position just after the value's end, scanning `buf` from `pos` (the value's first
        byte, or where the last scan stopped); None when the value goes on past `buf`."""
        end = len(buf)
        if not self.started:
            self.started = True
            first = buf[pos]
            if first == 0x7B or first == 0x5B:  # { [
                self.depth, pos = 1, pos + 1
            elif first == 0x22:  # "
                self.in_string, pos = True, pos + 1
            else:
                self.literal = True
        if self.literal:
            pos = _LITERAL.match(buf, pos).end()  # type: ignore[union-attr]
            return pos if pos < end else None
        while pos < end:
            if self.escaped:
                self.escaped, pos = False, pos + 1
                continue
            if self.in_string:
                pos = _INSIDE_STRING.match(buf, pos).end()  # type: ignore[union-attr]
                if pos >= end:
                    return None
                if buf[pos] == 0x5C:  # a backslash escapes the next byte
                    self.escaped, pos = True, pos + 1
                    continue
                self.in_string, pos = False, pos + 1
                if self.depth == 0:
                    return pos
                continue
            pos = _OUTSIDE_STRINGS.match(buf, pos).end()  # type: ignore[union-attr]
            if pos >= end:
                return None
            byte = buf[pos]
            pos += 1
            if byte == 0x22:
                self.in_string = True
            elif byte == 0x7B or byte == 0x5B:
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth == 0:
                    return pos
        return None


# Where the splitter is in `{"key": value, ..., "Records": [element, ...], ...}`.
_START, _KEY_OR_END, _KEY, _COLON, _VALUE, _SKIP_VALUE, _AFTER_VALUE = range(7)
_ELEMENT_OR_END, _ELEMENT, _IN_ELEMENT, _SKIP_ELEMENT, _AFTER_ELEMENT, _END = range(7, 13)


class _Splitter:
    """Push the bytes of a JSON document in; get the elements of its `Records` array out, unparsed.

    Only the top level is tokenised. Elements are delimited two ways, both exact:
    * a run: from an element's start to the last place in the buffer where one element ends and
      the next begins as the first one did (`},{"eventVersion":`), taken only when msgspec reads
      `[` + run + `]` as an array: the run starts at an element's start, so the array is valid
      exactly when the run ends between two elements. This is the usual case: one C call per
      step of inflated bytes, however many records it holds;
    * one element at a time, with `_ValueEnd`, when no run is found (the last element, a file
      whose records open differently) or where a run was refused (a damaged element: it is then
      reported alone), until the end of what the refused run covered.
    Other top-level members are skipped without being kept, whatever their size.
    """

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0  # the next byte to look at
        self._keep = 0  # bytes before this are done with
        self._offset = 0  # bytes dropped from the front of _buf, for error positions
        self._state = _START
        self._key = b""
        self._value: _ValueEnd | None = None
        self._index = 0  # of the next element
        self._head: bytes | None = None  # how elements open, learned from the first one
        self._exact_until = 0  # a run was refused up to here: delimit one element at a time
        self._element_start = 0  # of the element `_value` is delimiting
        self.saw_records = False

    def feed(self, data: bytes) -> list[_Run]:
        buf, keep = self._buf, self._keep
        if keep:
            self._offset += keep
            self._pos -= keep
            self._element_start -= keep
            self._exact_until = max(0, self._exact_until - keep)
            buf = buf[keep:]
            self._keep = 0
        self._buf = buf + data if buf else data
        runs: list[_Run] = []
        self._advance(runs, final=False)
        return runs

    def finish(self) -> list[_Run]:
        """The rest, at the end of the document; LogFileError if it is not complete."""
        runs: list[_Run] = []
        self._advance(runs, final=True)
        if self._state != _END:
            if self._state == _START and not self._buf[self._pos :].strip(_WS):
                raise LogFileError("not JSON: the object is empty")
            raise self._truncated()
        if not self.saw_records:
            raise LogFileError("JSON object has no 'Records' array: it is not a CloudTrail log file")
        return runs

    def _truncated(self) -> LogFileError:
        where = "inside the top-level object"
        if self._state in (_IN_ELEMENT, _SKIP_ELEMENT):
            where = f"inside Records[{self._index}]"
        elif self._state in (_ELEMENT_OR_END, _ELEMENT, _AFTER_ELEMENT):
            where = "inside the 'Records' array"
        return LogFileError(f"not a complete JSON document: it ends {where}")

    def _error(self, what: str) -> LogFileError:
        return LogFileError(f"not a CloudTrail log file: {what} at byte {self._offset + self._pos}")

    def _advance(self, runs: list[_Run], *, final: bool) -> None:
        buf, end = self._buf, len(self._buf)
        while True:
            state = self._state
            if state in (_IN_ELEMENT, _SKIP_ELEMENT, _SKIP_VALUE):
                if not self._continue_value(runs, final):
                    break
                continue
            pos = self._pos = _SPACES.match(buf, self._pos).end()  # type: ignore[union-attr]
            if pos >= end:
                break
            if state == _ELEMENT:  # a run of elements, else one element delimited exactly
                if pos < self._exact_until or not self._take_run(runs):
                    self._start_element()
                continue
            if not self._token(state, buf[pos], final):
                break
        # What the next feed keeps: the element being delimited, else nothing already looked at.
        self._keep = self._element_start if self._state == _IN_ELEMENT else self._pos

    def _token(self, state: int, byte: int, final: bool) -> bool:
        """One step of the top level; False when it needs more bytes."""
        buf, pos = self._buf, self._pos
        if state == _START:
            if byte != 0x7B:
                raise self._error(f"the document starts with {bytes([byte])!r}, not a JSON object")
            self._state, self._pos = _KEY_OR_END, pos + 1
        elif state in (_KEY_OR_END, _KEY):
            if byte == 0x7D and state == _KEY_OR_END:  # }
                self._state, self._pos = _END, pos + 1
                return True
            match = _MEMBER_NAME.match(buf, pos) if byte == 0x22 else None
            if match is None:
                if byte == 0x22 and not final and len(buf) - pos <= MAX_KEY_BYTES:
                    return False  # the name goes on in the next bytes
                raise self._error("expected a member name")
            self._key, self._state, self._pos = match.group(), _COLON, match.end()
        elif state == _COLON:
            if byte != 0x3A:
                raise self._error("expected ':'")
            self._state, self._pos = _VALUE, pos + 1
        elif state == _VALUE:
            if self._key == b'"Records"':
                if self.saw_records:
                    raise self._error("a second 'Records' member")
                if byte != 0x5B:
                    raise self._error("'Records' is not an array")
                self.saw_records = True
                self._state, self._pos = _ELEMENT_OR_END, pos + 1
            else:
                self._state, self._value = _SKIP_VALUE, _ValueEnd()
        elif state == _AFTER_VALUE:
            if byte == 0x2C:  # ,
                self._state, self._pos = _KEY, pos + 1
            elif byte == 0x7D:
                self._state, self._pos = _END, pos + 1
            else:
                raise self._error("expected ',' or '}' after a member")
        elif state == _ELEMENT_OR_END:
            if byte == 0x5D:  # ]
                self._state, self._pos = _AFTER_VALUE, pos + 1
            else:
                self._state = _ELEMENT
        elif state == _AFTER_ELEMENT:
            if byte == 0x2C:
                self._state, self._pos = _ELEMENT, pos + 1
            elif byte == 0x5D:
                self._state, self._pos = _AFTER_VALUE, pos + 1
            else:
                raise self._error(f"expected ',' or ']' after Records[{self._index - 1}]")
        else:  # _END
            raise self._error("unexpected data after the JSON document")
        return True

    def _take_run(self, runs: list[_Run]) -> bool:
        """Take the complete elements from here to the last element start in the buffer, if
        msgspec reads them as an array; True when a run was taken."""
        buf, start = self._buf, self._pos
        if self._head is None:
            head = _HEAD.match(buf, start)
            if head is None:
                return False
            self._head = head.group()
        next_start = buf.rfind(self._head, start + 1)
        if next_start < 0:
            return False
        cut = next_start - 1
        while cut > start and buf[cut] in _WS:
            cut -= 1
        if buf[cut] != 0x2C:  # a comma between two elements
            return False
        cut -= 1
        while cut > start and buf[cut] in _WS:
            cut -= 1
        whole = b"".join((b"[", memoryview(buf)[start : cut + 1], b"]"))
        try:
            raws = _RAW_ARRAY.decode(whole)
        except (msgspec.DecodeError, RecursionError):  # a damaged or deep element, or a false head
            self._exact_until = next_start
            return False
        runs.append(_Run(self._index, raws, whole))
        self._index += len(raws)
        self._pos = next_start
        return True

    def _start_element(self) -> None:
        self._element_start = self._pos
        self._value = _ValueEnd()
        self._state = _IN_ELEMENT

    def _continue_value(self, runs: list[_Run], final: bool) -> bool:
        """Scan the value or element in progress; False when it needs more bytes."""
        value, buf = self._value, self._buf
        assert value is not None
        found = value.scan(buf, self._pos)
        if found is None and final and value.literal:
            found = len(buf)  # a number or literal ends where the document does
        if found is None:
            self._pos = len(buf)
            if self._state == _IN_ELEMENT and len(buf) - self._element_start > MAX_RECORD_BYTES:
                runs.append(
                    _Run(self._index, [], failure=f"is larger than {MAX_RECORD_BYTES} bytes: skipped")
                )
                self._state = _SKIP_ELEMENT
            return False
        self._pos = found
        if self._state == _IN_ELEMENT:
            element = buf[self._element_start : found]
            runs.append(_Run(self._index, [element], b"[" + element + b"]"))
        if self._state == _SKIP_VALUE:
            self._state = _AFTER_VALUE
        else:
            self._index += 1
            self._state = _AFTER_ELEMENT
        self._value = None
        return True
