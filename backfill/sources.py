"""What to read: SOURCE arguments, the objects they hold, and how to open one as a stream of chunks."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click

from backfill.window import TimeWindow
from processor.logkeys import LOG_SUFFIXES, is_digest, parse_log_key

CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class S3Source:
    bucket: str
    prefix: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True, slots=True)
class LocalSource:
    path: Path

    def __str__(self) -> str:
        return str(self.path)


Source = S3Source | LocalSource


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One log file. `url` (`s3://bucket/key` or a local path) is its name in records, output and state."""

    url: str
    bucket: str | None
    key: str
    size: int = 0


class SourceType(click.ParamType):
    """`s3://bucket[/prefix]` or an existing local file or folder."""

    name = "SOURCE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Source:
        if isinstance(value, S3Source | LocalSource):
            return value
        text = str(value)
        if text.startswith("s3://"):
            bucket, _, prefix = text.removeprefix("s3://").partition("/")
            if not bucket:
                self.fail(f"{text!r} names no bucket (expected s3://bucket[/prefix])", param, ctx)
            return S3Source(bucket, prefix)
        path = Path(text)
        if not path.exists():
            self.fail(f"{text!r} is neither s3://bucket[/prefix] nor an existing file or folder", param, ctx)
        return LocalSource(path)


@dataclass
class Selection:
    """Which listed keys become objects to read; counts what it leaves out, so nothing vanishes silently."""

    window: TimeWindow
    accounts: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    digests: int = 0
    filtered: int = 0
    not_logs: int = 0
    seen: set[str] = field(default_factory=set)

    def wants(self, key: str, *, explicit: bool = False) -> bool:
        """A digest never; another file if its name fits the filters (a name that does not parse fits)."""
        if is_digest(key):
            self.digests += 1
            return False
        if not explicit and not key.endswith(LOG_SUFFIXES):
            self.not_logs += 1
            return False
        parsed = parse_log_key(key)
        if parsed is not None and (
            (self.accounts and parsed.account not in self.accounts)
            or (self.regions and parsed.region not in self.regions)
            or not self.window.may_hold(parsed.time)
        ):
            self.filtered += 1
            return False
        return True


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A folder entry that is not a file we can read: a symlink loop, a dangling link, a FIFO, ...

    `wanted` when its name is a log file's that the filters would read: its events are then
    missing, so the run reports it as failed; anything else is reported as skipped.
    """

    url: str
    reason: str
    wanted: bool


def local_objects(source: LocalSource, selection: Selection) -> Iterator[ObjectRef | Unreadable]:
    """A file as given, or a folder walked recursively in name order (so runs are reproducible).

    Only regular files are ever opened. Symlinks are followed; one that loops, dangles, or leads to
    a folder already walked is reported and skipped, as are FIFOs, sockets and devices (opening a
    FIFO would wait for a writer for ever), and the walk goes on with the rest of the folder.
    """
    root = source.path.resolve()
    try:
        info = os.stat(root)
    except OSError as exc:
        yield Unreadable(str(root), _stat_problem(root, exc), wanted=True)
        return
    if stat.S_ISDIR(info.st_mode):
        yield from _walk(root, info, selection)
    elif not stat.S_ISREG(info.st_mode):
        yield Unreadable(str(root), _not_regular(info), wanted=True)
    elif selection.wants(root.name, explicit=True):
        yield ObjectRef(str(root), None, str(root), info.st_size)


def _walk(root: Path, info: os.stat_result, selection: Selection) -> Iterator[ObjectRef | Unreadable]:
    """Depth first, a folder's files before its subfolders (os.walk's order), without recursion."""
    walked = {(info.st_dev, info.st_ino): root}  # every folder entered, so a link back is not re-entered
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            yield Unreadable(str(folder), f"folder cannot be listed: {exc.strerror or exc}", wanted=False)
            continue
        subfolders: list[Path] = []
        for entry in entries:
            path = Path(entry.path)
            relative = path.relative_to(root).as_posix()
            try:
                found = os.stat(path)  # follows symlinks
            except OSError as exc:
                yield from _problem(path, relative, _stat_problem(path, exc), selection)
                continue
            if stat.S_ISDIR(found.st_mode):
                first = walked.setdefault((found.st_dev, found.st_ino), path)
                if first is path:
                    subfolders.append(path)
                else:
                    reason = f"leads to {first}, already walked (a symlink loop or a second path to it)"
                    yield Unreadable(str(path), reason, wanted=False)
            elif not stat.S_ISREG(found.st_mode):
                yield from _problem(path, relative, _not_regular(found), selection)
            elif selection.wants(relative):
                yield ObjectRef(str(path), None, str(path), found.st_size)
        folders.extend(reversed(subfolders))


def _problem(path: Path, relative: str, reason: str, selection: Selection) -> Iterator[Unreadable]:
    """An entry that cannot be read: failed if the filters want a log file of that name, else skipped."""
    if not relative.endswith(LOG_SUFFIXES):
        yield Unreadable(str(path), reason, wanted=False)
    elif selection.wants(relative):
        yield Unreadable(str(path), reason, wanted=True)
    # else: a digest or a log file outside the filters, counted as such by the selection


def _stat_problem(path: Path, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "symlink loop: not read"
    if error.errno == errno.ENOENT and path.is_symlink():
        return f"dangling symlink (to {os.readlink(path)}): not read"
    return f"cannot be read: {error.strerror or error}"


def _not_regular(info: os.stat_result) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    kind = next((name for test, name in kinds if test(info.st_mode)), "not a regular file")
    return f"{kind}, not a regular file: not opened"


def open_chunks(ref: ObjectRef, s3: Any, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The object's bytes in chunks, streamed: neither an S3 body nor a file is read whole."""
    if ref.bucket is None:
        with _open_regular(ref.key) as handle:
            while chunk := handle.read(chunk_size):
                yield chunk
        return
    body = s3.get_object(Bucket=ref.bucket, Key=ref.key)["Body"]
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def _open_regular(path: str) -> IO[bytes]:
    """Opens a file only if it is a regular one (it may have been replaced since it was listed).

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; it changes
    nothing for a regular file.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, _not_regular(info), path)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
