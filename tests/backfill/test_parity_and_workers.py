"""Backfill and the Kinesis path agree; worker processes change nothing but speed."""

from __future__ import annotations

import orjson

from processor.app import build_rules
from processor.decode.kinesis import decode_kinesis_event
from processor.devtools.kinesis_events import encode, eventbridge_envelope, lambda_kinesis_event
from processor.devtools.sample_events import sample_events
from processor.pipeline import Router, evaluate
from processor.settings import load_settings
from tests.backfill.trails import PROD, day, log_file, standard_trail, write_folder

SOURCE_KEYS = ("source_file",)  # where the event came from differs by design; nothing else may


def test_backfill_raises_the_same_alerts_as_the_kinesis_path(tmp_path, backfill, monkeypatch):
    monkeypatch.setenv("USE_DEFAULT_RULES", "true")
    monkeypatch.setenv("HOOK_URL", "https://hooks.slack.com/services/T0/B0/x")
    monkeypatch.setenv("DEFAULT_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:alerts")
    events = sample_events()
    folder = tmp_path / "AWSLogs" / PROD / "CloudTrail" / "eu-west-1" / "2026" / "11" / "20"
    folder.mkdir(parents=True)
    (folder / f"{PROD}_CloudTrail_eu-west-1_20261120T0930Z_x.json").write_bytes(
        orjson.dumps({"Records": events})
    )
    settings = load_settings()
    batch = lambda_kinesis_event(
        [(str(i), encode(eventbridge_envelope(e))) for i, e in enumerate(events)],
        "arn:aws:kinesis:::stream/s",
    )
    kinesis = evaluate(decode_kinesis_event(batch).records, build_rules(settings), Router(settings)).alerts

    run = backfill(str(tmp_path))

    assert len(kinesis) >= 5 and len(run.alerts) == len(kinesis)
    for live, replayed in zip(kinesis, run.alerts, strict=True):
        assert replayed["eventID"] == live.event_id
        assert replayed["rule"] == live.rule.id
        assert replayed["destinations"] == [d.key for d in live.destinations]
        assert _without_source(replayed["sns"]) == _without_source(live.sns)
        assert replayed["slack"]["blocks"][:-1] == live.slack.payload()["blocks"][:-1]  # last: the source


def _without_source(message):
    return {k: v for k, v in message.items() if k not in SOURCE_KEYS}


def test_two_workers_produce_exactly_what_one_produces(tmp_path, backfill):
    files = standard_trail() + [log_file(PROD, "eu-west-1", day(6), alerts=3000, noise=0)]  # spans batches
    write_folder(tmp_path, files)

    one = backfill(str(tmp_path), "--workers", "1")
    two = backfill(str(tmp_path), "--workers", "2")

    assert one.exit_code == 0 and two.exit_code == 0, two.stderr
    key = lambda a: (a["source"]["object"], a["source"]["index"])  # noqa: E731
    assert sorted(one.alerts, key=key) == sorted(two.alerts, key=key)
    assert len(one.alerts) == len(standard_trail()) + 3000
    assert "2 worker(s)" in two.stderr


def test_two_workers_report_unreadable_objects_too(tmp_path, backfill):
    write_folder(
        tmp_path, [log_file(PROD, "eu-west-1", day(1))], extra={"AWSLogs/bad.json.gz": b"\x1f\x8b\x08junk"}
    )

    run = backfill(str(tmp_path), "--workers", "2")

    assert run.exit_code == 1
    assert "bad.json.gz: gzip data is corrupt" in run.stderr
    assert len(run.alerts) == 1
