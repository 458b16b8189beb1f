"""`trailalert backfill s3://... --on-lambda`: list here, read on Lambda (docs/backfill.md, docs/scale.md).

The objects are listed with the local backfill's own lister and filters (s3listing.py, sources.py),
then handed to the backfill worker Lambda (backfill/worker.py) through the stack's SQS queue:
messages of up to MESSAGE_OBJECTS objects (and MESSAGE_BYTES of log files), sent ten at a time.
Before a message is sent, its objects are written to the runs table as `queued` (backfill/runs.py),
so `trailalert backfill status RUN_ID` can name every object that has no result yet: a message
that is lost, or dead-lettered after its retries, never takes an object out of sight.

THREADS threads write and send while the listing goes on (each group of objects: its items, then
its messages), at most IN_FLIGHT groups at a time, so memory stays bounded however big the bucket.
With AWS's latencies (bench/fleet.py --fan-out-objects) 16 threads keep up with the listing, about
8,000 objects/s; 4 made it 3,900 (docs/scale.md).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from backfill.runs import FAILED, RunsTable
from backfill.s3listing import S3Lister, case_warning, describe_error
from backfill.sources import ObjectRef, S3Source, Selection
from backfill.window import TimeWindow

MESSAGE_OBJECTS = 10
MESSAGE_BYTES = 64 * 1024 * 1024  # of log files (compressed) per message: seconds of a worker's time
SEND_BATCH = 10  # SQS SendMessageBatch's limit
GROUP_OBJECTS = MESSAGE_OBJECTS * SEND_BATCH
THREADS = 16
IN_FLIGHT = 32
SEND_ATTEMPTS = 3
MESSAGE_VERSION = 1


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by time, unique by its random part: `20261202T174612Z-3fa9c1`."""
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Work:
    """One message: the objects to read for a run, with the run's window and mode."""

    run: str
    objects: tuple[ObjectRef, ...]
    window: TimeWindow
    send: bool


def message_body(run: str, objects: list[ObjectRef], window: TimeWindow, send: bool) -> str:
    return orjson.dumps(
        {
            "v": MESSAGE_VERSION,
            "run": run,
            "objects": [[ref.bucket, ref.key, ref.size] for ref in objects],
            "start": window.start.isoformat() if window.start else None,
            "end": window.end.isoformat() if window.end else None,
            "send": send,
        }
    ).decode()


def parse_message(body: str) -> Work:
    """Raises ValueError naming what is wrong: a queue may hold anything someone could send to it."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("v") != MESSAGE_VERSION:
        raise ValueError(f"not a backfill message of version {MESSAGE_VERSION}")
    run, objects, send = data.get("run"), data.get("objects"), data.get("send")
    if not isinstance(run, str) or not run or not isinstance(objects, list) or not isinstance(send, bool):
        raise ValueError("a backfill message needs run (string), objects (list) and send (bool)")
    refs = []
    for entry in objects:
        if not (
            isinstance(entry, list)
            and len(entry) == 3
            and all(isinstance(part, str) and part for part in entry[:2])
            and isinstance(entry[2], int)
        ):
            raise ValueError(f"an object must be [bucket, key, size]: {str(entry)[:200]!r}")
        bucket, key, size = entry
        refs.append(ObjectRef(f"s3://{bucket}/{key}", bucket, key, size))
    try:
        window = TimeWindow(_time(data.get("start")), _time(data.get("end")))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad start or end: {exc}") from None
    return Work(run, tuple(refs), window, send)


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass
class FanOutResult:
    run: str
    objects: int = 0
    messages: int = 0
    not_sent: list[tuple[str, str]] = field(default_factory=list)  # (object, reason)
    listing_failures: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    selection: Selection | None = None
    seconds: float = 0.0
    interrupted: bool = False


@dataclass
class FanOut:
    """Build with the clients; `run` once. `progress` is the local backfill's Progress."""

    sources: tuple[S3Source, ...]
    window: TimeWindow
    accounts: frozenset[str]
    regions: frozenset[str]
    send: bool
    runs: RunsTable
    sqs: Any
    queue_url: str
    s3: Any
    progress: Any
    s3_timeout: float
    run_id: str = field(default_factory=new_run_id)

    def run(self) -> FanOutResult:
        started = time.monotonic()
        selection = Selection(self.window, self.accounts, self.regions)
        result = FanOutResult(self.run_id, selection=selection)
        for source in self.sources:
            if (warning := case_warning(source)) is not None:
                result.notes.append(warning)
                self.progress.warn(warning)
        self.runs.put_manifest(
            self.run_id,
            {
                "created_at": int(time.time()),
                "sources": [str(source) for source in self.sources],
                "start": self.window.start.isoformat() if self.window.start else None,
                "end": self.window.end.isoformat() if self.window.end else None,
                "accounts": sorted(self.accounts),
                "regions": sorted(self.regions),
                "send": self.send,
                "queue_url": self.queue_url,
                "listing_complete": False,
            },
        )
        pending: list[Future[tuple[int, list[tuple[str, str]]]]] = []

        def collect(future: Future[tuple[int, list[tuple[str, str]]]]) -> None:
            sent, not_sent = future.result()  # in this thread: the result has no lock to share
            result.messages += sent
            result.not_sent += not_sent

        with ThreadPoolExecutor(THREADS, thread_name_prefix="backfill-fanout") as pool:
            try:
                for group in self._groups(selection, result):
                    while len(pending) >= IN_FLIGHT:
                        collect(pending.pop(0))
                    pending.append(pool.submit(self._queue, group))
                    result.objects += len(group)
            except KeyboardInterrupt:  # what was submitted is queued; the run is closed at that
                result.interrupted = True
                result.notes.append(
                    f"interrupted (Ctrl-C) after {result.objects:,} objects were queued: the rest of the "
                    "listing was not; run the command again for everything (a new run)"
                )
            for future in pending:
                collect(future)
        self.progress.listed(result.objects)
        self.progress.close()
        result.seconds = time.monotonic() - started
        self.runs.update_manifest(
            self.run_id,
            {
                "listing_complete": True,
                "listed": result.objects,
                "messages": result.messages,
                "skipped_digests": selection.digests,
                "skipped_filtered": selection.filtered,
                "skipped_not_logs": selection.not_logs,
                "listing_failures": [list(failure) for failure in result.listing_failures],
                "notes": result.notes,
                "fanout_seconds": str(round(result.seconds, 3)),
            },
        )
        return result

    def _groups(self, selection: Selection, result: FanOutResult) -> Iterator[list[ObjectRef]]:
        seen: set[str] = set()
        group: list[ObjectRef] = []
        for source in self.sources:
            found = 0
            self.progress.listing(str(source), found)
            lister = S3Lister(self.s3, selection, result.notes)
            try:
                for ref in lister.objects(source):
                    if ref.url in seen:
                        continue
                    seen.add(ref.url)
                    found += 1
                    self.progress.listing(str(source), found)
                    group.append(ref)
                    if len(group) >= GROUP_OBJECTS:
                        yield group
                        group = []
            except Exception as exc:  # botocore errors: a missing bucket, access denied, a timeout...
                result.listing_failures.append(
                    (str(source), f"listing failed: {describe_error(exc, self.s3_timeout)}")
                )
        if group:
            yield group

    def _queue(self, group: list[ObjectRef]) -> tuple[int, list[tuple[str, str]]]:
        """The group's objects as queued, then their messages (ten per SendMessageBatch); the
        messages sent, and the objects whose message could not be (recorded as failed)."""
        self.runs.put_queued(self.run_id, [ref.url for ref in group])
        messages = list(_messages(group))
        entries = {
            str(index): (message, message_body(self.run_id, message, self.window, self.send))
            for index, message in enumerate(messages)
        }
        sent, not_sent = 0, []
        for attempt in range(1, SEND_ATTEMPTS + 1):
            answer = self.sqs.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": key, "MessageBody": body} for key, (_, body) in entries.items()],
            )
            sent += len(answer.get("Successful", ()))
            failed = {entry["Id"]: entry for entry in answer.get("Failed", ())}
            entries = {key: value for key, value in entries.items() if key in failed}
            if not entries:
                break
            if attempt == SEND_ATTEMPTS or any(entry.get("SenderFault") for entry in failed.values()):
                for key, (message, _) in entries.items():
                    reason = f"message not sent to the queue: {failed[key].get('Code')}: {failed[key].get('Message')}"
                    not_sent += [(ref.url, reason) for ref in message]
                    self.runs.put_results(
                        [(self.run_id, ref.url, {"status": FAILED, "error": reason}) for ref in message]
                    )
                break
            time.sleep(0.2 * attempt)
        return sent, not_sent


def _messages(group: list[ObjectRef]) -> Iterator[list[ObjectRef]]:
    message: list[ObjectRef] = []
    size = 0
    for ref in group:
        if message and (len(message) >= MESSAGE_OBJECTS or size + ref.size > MESSAGE_BYTES):
            yield message
            message, size = [], 0
        message.append(ref)
        size += ref.size
    if message:
        yield message
