"""The backfill worker's throughput on this machine, for docs/scale.md: `python -m bench.fleet`.

Runs `backfill.worker.Worker.handle` in this process, as Lambda would, on the bench's realistic
corpus (bench/corpus.py: CloudTrail's layout, 20 to 800 events a file, one alert per 200 events)
with the deployed stack's rules (the default rules and the detection pack) and a dry run's
work (match, route, render; nothing delivered). Invocations carry 10 messages of 10 objects, as
the fan-out and the event source mapping make them.

S3 and the runs table are stand-ins in memory, so what is timed is the worker's own work; S3's
latency is then added as a fixed wait before each GET's first byte (--latency-ms, several values),
which the worker's 8 download threads should hide. One process, one core: a Lambda worker with
1,769 MB has one vCPU.
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0, 30, 100])
    args = parser.parse_args(argv)

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
