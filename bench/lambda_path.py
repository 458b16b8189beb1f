"""Figure 2: one Lambda invocation's worth of Kinesis records, decoded and matched.

A batch of 1,000 EventBridge-shaped records (the corpus's records wrapped as EventBridge delivers
them) goes through the App's Kinesis decoder and `pipeline.evaluate` with the default + user
rules, routed to a webhook and rendered; the floor is base64 + orjson.loads of every record's
data. The project runs with its fast path (processor/fastpath.py: only the records some rule may
match are decoded in full) and, for comparison and to check that both decide alike, with the
full decode. Delivery is not measured: it is network time, the same for any implementation.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from bench.core import DEFAULTS, WITH_USER_RULES, Config
from bench.report import Row
from bench.timing import interleaved
from processor.app import build_rules
from processor.decode.kinesis import decode_kinesis_event
from processor.devtools.kinesis_events import eventbridge_envelope, lambda_kinesis_event
from processor.fastpath import decode_mode
from processor.pipeline import Router, evaluate
from processor.settings import load_settings

BATCH = 1000
STREAM_ARN = "arn:aws:kinesis:us-east-1:111122223333:stream/trailalert"
TARGET = 0.5


def kinesis_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    items = [
        (f"{49650000000000000000 + n}", orjson.dumps(eventbridge_envelope(r))) for n, r in enumerate(records)
    ]
    return lambda_kinesis_event(items, STREAM_ARN)


def _alerts(evaluation: Any) -> list[tuple[str, int, str, bytes]]:
    return [
        (a.record.item_id, a.record.index, a.rule.id, orjson.dumps(a.record.event)) for a in evaluation.alerts
    ]


def _contenders(config: Config, event: dict[str, Any]) -> dict[str, Any]:
    settings = load_settings({**config.environ, "HOOK_URL": "https://hooks.slack.com/services/T0/B0/x"})
    router = Router(settings)
    fast_rules = build_rules(settings)
    full_rules = build_rules(settings)
    fast, _ = decode_mode(fast_rules)
    return {
        f"{config.name}, fast path": lambda: _alerts(
            evaluate(decode_kinesis_event(event, fast=fast).records, fast_rules, router)
        ),
        f"{config.name}, full decode": lambda: _alerts(
            evaluate(decode_kinesis_event(event).records, full_rules, router)
        ),
    }


def measure_lambda(records: list[dict[str, Any]], repeats: int) -> tuple[list[Row], dict[str, Any]]:
    event = kinesis_batch(records[:BATCH])
    contenders: dict[str, Any] = {}
    for config in (DEFAULTS, WITH_USER_RULES):
        contenders.update(_contenders(config, event))

    def floor() -> int:
        return len([orjson.loads(base64.b64decode(item["kinesis"]["data"])) for item in event["Records"]])

    contenders["floor"] = floor
    timed = interleaved(contenders, repeats * 10)
    rows: list[Row] = []
    checks: dict[str, Any] = {}
    for config in (DEFAULTS, WITH_USER_RULES):
        for mode in ("fast path", "full decode"):
            name = f"{config.name}, {mode}"
            ratio = timed[name].ratio(timed["floor"])
            gated = mode == "fast path"
            rows.append(
                Row(
                    figure=f"Lambda batch of {BATCH} EventBridge records, {name}",
                    unit="ms/batch",
                    project=timed[name].cpu * 1000,
                    floor=timed["floor"].cpu * 1000,
                    ratio=ratio,
                    ratio_note="x floor time",
                    target=f"<= {TARGET}x floor" if gated else "",
                    met=ratio <= TARGET if gated else None,
                    notes=f"{len(timed[name].result)} alerts in the batch",
                )
            )
        same = timed[f"{config.name}, fast path"].result == timed[f"{config.name}, full decode"].result
        checks[f"lambda_alerts, {config.name}"] = len(timed[f"{config.name}, fast path"].result)
        checks[f"lambda_fast_path_equals_full, {config.name}"] = same
    return rows, checks
