"""Write a realistic, deterministic CloudTrail bucket to disk for the bench (also a CLI).

Layout and names are CloudTrail's (`AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/
<acct>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<unique>.json.gz`, gzipped `{"Records": [...]}`), so
the backfill lists and reads it exactly as it would a real bucket. Exactly one event in every
block of 200 matches a default rule (at a seeded position), so the alert rate is ~1/200 by
construction; everything else is a weighted mix of routine calls (see events.py).

    python -m bench.corpus --events 100000 --out build/corpus
    python -m bench.corpus --large-mb 300 --out build/large   # one huge file, streamed
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import string
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.events import ALERTING, ROUTINE, Builder, Ctx

ACCOUNTS = ("111122223333", "444455556666", "777788889999")
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "us-west-2")
FUNCTION_NAME = "trailalert"  # the default FUNCTION_NAME: self-update alerts name it
ALERT_EVERY = 200
START = datetime(2024, 3, 11, tzinfo=UTC)
MANIFEST = "MANIFEST"  # JSON; not *.json, so a backfill over the folder does not try to read it


@dataclass(frozen=True)
class CorpusInfo:
    """What was written: enough for the bench to check a cached corpus and to report sizes."""

    events: int
    seed: int
    files: int
    compressed_bytes: int
    raw_bytes: int
    function_name: str = FUNCTION_NAME


class EventStream:
    """Records in corpus order; exactly one alerting record per ALERT_EVERY, at a seeded offset."""

    def __init__(self, rng: random.Random, function_name: str = FUNCTION_NAME) -> None:
        self._rng = rng
        self._function_name = function_name
        self._routine, self._routine_weights = zip(*ROUTINE, strict=True)
        self._alerting, self._alerting_weights = zip(*ALERTING, strict=True)
        self._count = 0
        self._alert_at = 0

    def next(self, account: str, region: str, when: datetime) -> dict[str, Any]:
        rng = self._rng
        position = self._count % ALERT_EVERY
        if position == 0:
            self._alert_at = rng.randrange(ALERT_EVERY)
        self._count += 1
        pool, weights = (
            (self._alerting, self._alerting_weights)
            if position == self._alert_at
            else (self._routine, self._routine_weights)
        )
        builder: Builder = rng.choices(pool, weights)[0]
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        return builder(Ctx(rng, account, region, stamp, self._function_name))


def log_key(account: str, region: str, delivered: datetime, unique: str) -> str:
    folder = f"AWSLogs/{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
    return folder + f"{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{unique}.json.gz"


def generate(
    events: int, seed: int = 7, *, min_file: int = 20, max_file: int = 800
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(key, records) per log file, `events` records in all; the same seed gives the same files."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    stream = EventStream(rng)
    delivered = START
    left = events
    while left > 0:
        size = min(left, rng.randint(min_file, max_file))
        delivered += timedelta(seconds=rng.randrange(20, 120))
        account, region = rng.choice(ACCOUNTS), rng.choice(REGIONS)
        unique = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(16))
        first = delivered - timedelta(minutes=5)
        times = sorted(first + timedelta(seconds=rng.randrange(300)) for _ in range(size))
        yield log_key(account, region, delivered, unique), [stream.next(account, region, t) for t in times]
        left -= size


def write_corpus(out: Path, events: int, seed: int = 7) -> CorpusInfo:
    """Write the bucket under `out` (plus MANIFEST) and return what was written."""
    files = compressed = raw = 0
    for key, records in generate(events, seed):
        body = orjson.dumps({"Records": records})
        data = gzip.compress(body, compresslevel=6, mtime=0)
        path = out / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files, compressed, raw = files + 1, compressed + len(data), raw + len(body)
    info = CorpusInfo(events=events, seed=seed, files=files, compressed_bytes=compressed, raw_bytes=raw)
    (out / MANIFEST).write_text(json.dumps(asdict(info), indent=2) + "\n")
    return info


def write_large_file(path: Path, raw_megabytes: int, seed: int = 7) -> CorpusInfo:
    """One log file of about `raw_megabytes` uncompressed, streamed so the writer stays small too."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    stream = EventStream(rng)
    target = raw_megabytes * 1024 * 1024
    account, region = ACCOUNTS[0], REGIONS[1]
    when = START
    written = count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", compresslevel=1, mtime=0) as handle:
        handle.write(b'{"Records":[')
        while written < target:
            body = orjson.dumps(stream.next(account, region, when))
            handle.write(body if count == 0 else b"," + body)
            written, count = written + len(body) + 1, count + 1
            if count % 500 == 0:
                when += timedelta(seconds=1)
        handle.write(b"]}")
    return CorpusInfo(
        events=count, seed=seed, files=1, compressed_bytes=path.stat().st_size, raw_bytes=written
    )


def read_manifest(out: Path) -> CorpusInfo | None:
    try:
        return CorpusInfo(**json.loads((out / MANIFEST).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def corpus_files(out: Path) -> list[Path]:
    """Every log file of a corpus, in the order the backfill reads them (sorted walk)."""
    return sorted(out.glob("AWSLogs/**/*.json.gz"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events in all (default 100000)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the bucket into")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--large-mb", type=int, help="instead: one log file of this many MB uncompressed")
    args = parser.parse_args(argv)
    if args.large_mb:
        target = args.out / log_key(ACCOUNTS[0], REGIONS[1], START, "LARGEFILE0000000")
        info = write_large_file(target, args.large_mb, args.seed)
    else:
        info = write_corpus(args.out, args.events, args.seed)
    print(json.dumps(asdict(info)))


if __name__ == "__main__":
    main()
