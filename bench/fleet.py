"""The backfill worker's throughput on this machine, for docs/scale.md: `python -m bench.fleet`.

Runs `backfill.worker.Worker.handle` in this process, as Lambda would, on the bench's realistic
corpus (bench/corpus.py: CloudTrail's layout, 20 to 800 events a file, one alert per 200 events)
with the deployed stack's rules (the default rules and the detection pack) and a dry run's
work (match, route, render; nothing delivered). Invocations carry 10 messages of 10 objects, as
the fan-out and the event source mapping make them.

S3 and the runs table are stand-ins in memory, so what is timed is the worker's own work; S3's
latency is then added as a fixed wait before each GET's first byte (--latency-ms, several values),
which the worker's 32 download threads should hide. One process, one core: a Lambda worker with
1,769 MB has one vCPU.

--fan-out-objects N also times the fan-out (listing, filters, queued items, messages) on N keys,
with S3's, SQS's and DynamoDB's latencies simulated the same way.
"""

from __future__ import annotations

import argparse
import gzip
import time
from collections.abc import Iterator
from typing import Any

import orjson

from backfill.fanout import message_body
from backfill.runs import object_key
from backfill.sources import ObjectRef
from backfill.window import TimeWindow
from backfill.worker import Worker
from bench.corpus import generate
from processor.app import App
from processor.settings import load_settings

BUCKET = "org-cloudtrail"
ENVIRONMENT = {
    "DEFAULT_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:trailalert",
    "USE_DETECTION_PACK": "true",
    "LOG_LEVEL": "WARNING",
}


class Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        for start in range(0, len(self._data), size):
            yield self._data[start : start + size]

    def close(self) -> None:
        pass


class MemoryS3:
    """get_object from memory, after `latency` seconds (S3's time to first byte)."""

    def __init__(self, objects: dict[str, bytes], latency: float) -> None:
        self.objects, self.latency, self.gets = objects, latency, 0

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.gets += 1
        if self.latency:
            time.sleep(self.latency)
        return {"Body": Body(self.objects[Key])}


class MemoryRuns:
    """The runs table's two calls the worker makes per invocation, in memory."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def states(self, run: str, urls: list[str]) -> dict[str, dict[str, Any]]:
        return {url: self.items[run, object_key(url)] for url in urls if (run, object_key(url)) in self.items}

    def put_results(self, results: list[tuple[str, str, dict[str, Any]]]) -> None:
        for run, url, fields in results:
            self.items[run, object_key(url)] = fields

    def record_attempt_failed(self, run: str, url: str, reason: str) -> None:
        raise AssertionError(f"{url}: {reason}")


class PagedS3:
    """list_objects_v2 over sorted keys, 1,000 a page, each page after `latency` seconds."""

    def __init__(self, keys: list[str], latency: float) -> None:
        self.keys, self.latency, self.pages = keys, latency, 0

    def list_objects_v2(self, **params: Any) -> dict[str, Any]:
        self.pages += 1
        time.sleep(self.latency)
        start = int(params.get("ContinuationToken", 0))
        page = self.keys[start : start + 1000]
        more = start + 1000 < len(self.keys)
        answer: dict[str, Any] = {
            "Contents": [{"Key": key, "Size": 1000} for key in page],
            "IsTruncated": more,
        }
        if more:
            answer["NextContinuationToken"] = str(start + 1000)
        return answer


class SlowQueue:
    def __init__(self, latency: float) -> None:
        self.latency, self.calls = latency, 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls += 1
        time.sleep(self.latency)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}


class SlowRuns:
    """The fan-out's calls to the runs table: a BatchWriteItem per 25 objects, each after `latency`."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def put_manifest(self, run: str, fields: dict[str, Any]) -> None:
        pass

    def update_manifest(self, run: str, fields: dict[str, Any]) -> None:
        pass

    def put_queued(self, run: str, urls: list[str]) -> None:
        time.sleep(self.latency * -(-len(urls) // 25))


class Quiet:
    def listing(self, source: str, found: int) -> None:
        pass

    def listed(self, total: int) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def close(self) -> None:
        pass


def measure_fan_out(objects: int, list_ms: float, write_ms: float) -> None:
    """The fan-out's own code (listing, filters, queued items, messages) with AWS's latencies simulated."""
    from datetime import timedelta

    from backfill.fanout import FanOut
    from backfill.sources import S3Source
    from bench.corpus import START, log_key

    keys = sorted(
        log_key("111122223333", "eu-west-1", START + timedelta(minutes=5 * n), f"{n:016d}")
        for n in range(objects)
    )
    s3, sqs = PagedS3(keys, list_ms / 1000), SlowQueue(write_ms / 1000)
    runner = FanOut(
        (S3Source(BUCKET, "AWSLogs/1"),),
        TimeWindow(),
        frozenset(),
        frozenset(),
        False,
        SlowRuns(write_ms / 1000),  # type: ignore[arg-type]
        sqs,
        "queue",
        s3,
        Quiet(),
        15.0,
    )
    started = time.perf_counter()
    result = runner.run()
    seconds = time.perf_counter() - started
    assert result.objects == objects and not result.not_sent
    print(
        f"fan-out: {objects:,} objects in {seconds:.1f} s: {objects / seconds:,.0f} objects/s "
        f"(a listing page {list_ms:g} ms, a table or queue write {write_ms:g} ms; {s3.pages:,} pages, "
        f"{sqs.calls:,} SendMessageBatch)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0, 30, 100])
    parser.add_argument("--fan-out-objects", type=int, default=0, help="also time the fan-out on this many")
    args = parser.parse_args(argv)
    if args.fan_out_objects:
        for list_ms, write_ms in ((0, 0), (100, 20)):
            measure_fan_out(args.fan_out_objects, list_ms, write_ms)

    objects: dict[str, bytes] = {}
    for key, records in generate(args.events):
        objects[key] = gzip.compress(orjson.dumps({"Records": records}), compresslevel=6, mtime=0)
    refs = [ObjectRef(f"s3://{BUCKET}/{key}", BUCKET, key, len(data)) for key, data in objects.items()]
    size = sum(len(data) for data in objects.values())
    print(f"corpus: {args.events:,} events in {len(refs):,} objects, {size / 1e6:.1f} MB gzip")
    app = App.from_settings(load_settings(ENVIRONMENT))
    runs_made = 0
    for latency in [0.0, *args.latency_ms]:  # the first pass warms up (imports, caches) and is not shown
        s3, runs = MemoryS3(objects, latency / 1000), MemoryRuns()
        worker = Worker(app, runs, s3, max_receives=3)  # type: ignore[arg-type]
        run = f"bench-{latency:g}" if runs_made else "bench-warm-up"
        runs_made += 1
        messages = [
            message_body(run, refs[start : start + 10], TimeWindow(), False)
            for start in range(0, len(refs), 10)
        ]
        started = time.perf_counter()
        cpu = time.process_time()
        invocations = 0
        for first in range(0, len(messages), 10):
            event = {
                "Records": [
                    {
                        "messageId": str(first + i),
                        "body": body,
                        "attributes": {"ApproximateReceiveCount": "1"},
                    }
                    for i, body in enumerate(messages[first : first + 10])
                ]
            }
            answer = worker.handle(event, lambda: 600.0)
            assert not answer["batchItemFailures"], answer
            invocations += 1
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        events = sum(int(item["events"]) for item in runs.items.values())
        alerts = sum(int(item["alerts"]) for item in runs.items.values())
        assert events == args.events, (events, args.events)
        if run == "bench-warm-up":
            continue
        print(
            f"S3 first byte {latency:>4g} ms: {events / seconds:>9,.0f} events/s, {len(refs) / seconds:>6,.0f} "
            f"GETs/s, {seconds / invocations:.2f} s per invocation of 100 objects; CPU {cpu:.2f} s "
            f"({cpu / seconds:.0%} of one core): {events / cpu:,.0f} events per CPU second; {alerts:,} alerts"
        )


if __name__ == "__main__":
    main()
