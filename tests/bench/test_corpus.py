"""The bench corpus generator: deterministic, CloudTrail's layout, realistic, ~1 alert per 200 events."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path

import orjson
import pytest

from bench.corpus import (
    ALERT_EVERY,
    corpus_files,
    generate,
    main,
    read_manifest,
    write_corpus,
    write_large_file,
)
from processor.logkeys import parse_log_key
from processor.rules import build_ruleset

EVENTS = 6000
KEY = re.compile(
    r"^AWSLogs/(\d{12})/CloudTrail/([a-z]{2}-[a-z]+-\d)/(\d{4})/(\d{2})/(\d{2})/"
    r"\1_CloudTrail_\2_\3\4\5T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    write_corpus(out, EVENTS, seed=3)
    return out


def records(root: Path) -> list[dict]:
    return [
        r for path in corpus_files(root) for r in orjson.loads(gzip.decompress(path.read_bytes()))["Records"]
    ]


def test_same_seed_same_bytes_other_seed_other_bytes(corpus: Path, tmp_path: Path) -> None:
    write_corpus(tmp_path / "again", EVENTS, seed=3)
    write_corpus(tmp_path / "other", EVENTS, seed=4)
    first = {p.relative_to(corpus): p.read_bytes() for p in corpus_files(corpus)}
    again = {p.relative_to(tmp_path / "again"): p.read_bytes() for p in corpus_files(tmp_path / "again")}
    other = {p.relative_to(tmp_path / "other"): p.read_bytes() for p in corpus_files(tmp_path / "other")}
    assert first == again
    assert first.keys() != other.keys()


def test_layout_is_cloudtrails_and_parses_as_a_log_key(corpus: Path) -> None:
    files = corpus_files(corpus)
    assert len(files) > 5
    for path in files:
        key = path.relative_to(corpus).as_posix()
        match = KEY.match(key)
        assert match, key
        parsed = parse_log_key(key)
        assert parsed is not None and parsed.account == match[1] and parsed.region == match[2]
        document = orjson.loads(gzip.decompress(path.read_bytes()))
        assert list(document) == ["Records"] and document["Records"]
    manifest = read_manifest(corpus)
    assert manifest is not None and manifest.events == EVENTS and manifest.files == len(files)


def test_event_count_is_exact_and_events_look_real(corpus: Path) -> None:
    events = records(corpus)
    assert len(events) == EVENTS
    assert len({e["eventID"] for e in events}) == EVENTS
    kinds = Counter(e["userIdentity"]["type"] for e in events)
    assert {"AssumedRole", "IAMUser", "Root", "AWSService", "AWSAccount"} <= kinds.keys()
    arns = [e["userIdentity"].get("arn", "") for e in events]
    assert any("assumed-role/AWSReservedSSO_" in arn for arn in arns)
    assert len({e["eventSource"] for e in events}) >= 10
    assert len({e["eventName"] for e in events}) >= 30
    assert sum("errorCode" in e for e in events) > EVENTS * 0.01
    assert sum(e["eventName"] == "ConsoleLogin" for e in events) > 20
    sizes = sorted(len(orjson.dumps(e)) for e in events)
    assert sizes[len(sizes) // 2] < 3000 and sizes[-1] > 8000  # mostly small, some large parameters
    for e in events:
        assert e["eventTime"].endswith("Z")
        assert {"eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "eventID"} <= e.keys()


def test_about_one_alert_per_200_events_under_the_default_rules(corpus: Path) -> None:
    rules = build_ruleset(rules=None, ignore_rules=None, events_to_track=None, function_name="trailalert")
    verdicts = [rules.evaluate(e) for e in records(corpus)]
    assert not any(v.failures for v in verdicts)
    alerts = Counter(v.matched.id for v in verdicts if v.matched is not None)
    expected = EVENTS / ALERT_EVERY
    assert expected * 0.8 <= sum(alerts.values()) <= expected * 1.25
    assert len(alerts) >= 7  # nearly every default rule fires somewhere


def test_generate_sizes_files_within_bounds() -> None:
    sizes = [len(batch) for _, batch in generate(3000, seed=1, min_file=10, max_file=100)]
    assert sum(sizes) == 3000 and max(sizes) <= 100 and min(sizes[:-1]) >= 10


def test_large_file_is_one_valid_log_file(tmp_path: Path) -> None:
    path = tmp_path / "big.json.gz"
    info = write_large_file(path, 2, seed=1)
    document = orjson.loads(gzip.decompress(path.read_bytes()))
    assert len(document["Records"]) == info.events > 500
    assert info.raw_bytes >= 2 * 2**20


def test_cli_writes_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--events", "300", "--out", str(tmp_path), "--seed", "2"])
    assert orjson.loads(capsys.readouterr().out)["events"] == 300
    assert len(records(tmp_path)) == 300
