"""What to read: SOURCE arguments, the objects they hold, and how to open one as a stream of chunks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def local_objects(source: LocalSource, selection: Selection) -> Iterator[ObjectRef]:
    """A file as given, or a folder walked recursively in name order (so runs are reproducible)."""
    path = source.path.resolve()
    if path.is_file():
        if selection.wants(path.name, explicit=True):
            yield ObjectRef(str(path), None, str(path), path.stat().st_size)
        return
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = Path(folder, name)
            relative = full.relative_to(path).as_posix()
            if selection.wants(relative):
                yield ObjectRef(str(full), None, str(full), full.stat().st_size)


def open_chunks(ref: ObjectRef, s3: Any, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The object's bytes in chunks, streamed: neither an S3 body nor a file is read whole."""
    if ref.bucket is None:
        with open(ref.key, "rb") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk
        return
    body = s3.get_object(Bucket=ref.bucket, Key=ref.key)["Body"]
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()
