"""Figure 2: one Lambda invocation's worth of Kinesis records, decoded and matched.

A batch of 1,000 EventBridge-shaped records (the corpus's records wrapped as EventBridge delivers
them) goes through `decode_kinesis_event` and `pipeline.evaluate` with the default + user rules,
routed to a webhook and rendered; the floor is base64 + orjson.loads of every record's data.
Delivery is not measured: it is network time, the same for any implementation.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from bench.core import WITH_USER_RULES
from bench.report import Row
from bench.timing import interleaved
from processor.app import build_rules
from processor.decode import decode_kinesis_event
from processor.devtools.kinesis_events import eventbridge_envelope, lambda_kinesis_event
from processor.pipeline import evaluate
from processor.routing import Router
from processor.settings import load_settings

BATCH = 1000
STREAM_ARN = "arn:aws:kinesis:us-east-1:111122223333:stream/trailalert"


def kinesis_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    items = [
        (f"{49650000000000000000 + n}", orjson.dumps(eventbridge_envelope(r))) for n, r in enumerate(records)
    ]
    return lambda_kinesis_event(items, STREAM_ARN)


def measure_lambda(records: list[dict[str, Any]], repeats: int) -> tuple[list[Row], dict[str, Any]]:
    event = kinesis_batch(records[:BATCH])
    settings = load_settings(
        {**WITH_USER_RULES.environ, "HOOK_URL": "https://hooks.slack.com/services/T0/B0/x"}
    )
    rules, router = build_rules(settings), Router(settings)

    def project() -> int:
        batch = decode_kinesis_event(event)
        return len(evaluate(batch.records, rules, router).alerts)

    def floor() -> int:
        return len([orjson.loads(base64.b64decode(item["kinesis"]["data"])) for item in event["Records"]])

    timed = interleaved({"project": project, "floor": floor}, repeats * 10)
    ratio = timed["project"].cpu / timed["floor"].cpu
    row = Row(
        figure=f"Lambda batch of {BATCH} EventBridge records, decode + match",
        unit="ms/batch",
        project=timed["project"].cpu * 1000,
        floor=timed["floor"].cpu * 1000,
        ratio=ratio,
        ratio_note="x floor time",
        notes=f"{timed['project'].result} alerts in the batch",
    )
    return [row], {"lambda_alerts": timed["project"].result}
