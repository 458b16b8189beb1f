"""An imported Sigma rule alerts where users run rules: the Lambda on a Kinesis batch, and the backfill."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from click.testing import CliRunner

from processor import handler
from processor.cli import main
from processor.devtools.kinesis_events import encode, eventbridge_envelope, put_and_read_back
from processor.devtools.slack_standin import SlackStandIn
from processor.settings import ENVIRONMENT_VARIABLES
from tests.deliver.fakes import FakeClock
from tests.sigma.events import ACCOUNT, record
from tests.sigma.test_import import RULES, TRAIL

TAMPERING = "00000000-0000-4000-9000-000000000101"
QUIET = "00000000-0000-4000-9000-000000000102"
FILTERED = "00000000-0000-4000-9000-000000000103"


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _events() -> list[dict[str, Any]]:
    """One call the Sigma rule is about, one it is not, one its filter leaves out."""
    return [
        record({"eventName": "DeleteTrail"}, eventID=TAMPERING),
        record({"eventName": "DescribeTrails"}, eventID=QUIET),
        record({"eventName": "StopLogging", "requestParameters.name": "sandbox-1"}, eventID=FILTERED),
    ]


@pytest.fixture
def rules_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The trail-tampering Sigma rule imported, and the only rules configured (RULES_FILE)."""
    out = tmp_path / "imported"
    result = CliRunner().invoke(
        main, ["rules", "import-sigma", str(RULES / "translated" / "trail-tampering.yml"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RULES_FILE", str(out))
    monkeypatch.setenv("USE_DEFAULT_RULES", "false")
    return out


@pytest.fixture
def fresh_container() -> Iterator[None]:
    handler.reset(timing=FakeClock().timing)
    yield
    handler.reset()


def test_the_lambda_alerts_on_the_imported_rule(
    rules_folder: Path, aws: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch, fresh_container: None
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("DEFAULT_SLACK_CHANNEL_ID", "CSEC")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName="trail", ShardCount=1)
    batch = put_and_read_back(kinesis, "trail", [encode(eventbridge_envelope(e)) for e in _events()])

    assert handler.handler(batch, Context()) == {"batchItemFailures": []}

    texts = [orjson.dumps(post.payload).decode() for post in slack.posts]
    assert len(texts) == 1
    assert TAMPERING in texts[0] and TRAIL in texts[0]


def test_the_backfill_alerts_on_the_imported_rule(rules_folder: Path, tmp_path: Path) -> None:
    key = f"AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/2026/11/20/{ACCOUNT}_CloudTrail_eu-west-1_20261120T0905Z_a1.json.gz"
    path = tmp_path / "trail" / key
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(orjson.dumps({"Records": _events()}), mtime=0))

    result = CliRunner().invoke(main, ["backfill", str(tmp_path / "trail")], catch_exceptions=False)

    assert result.exit_code == 0, result.stderr
    alerts = [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [(a["eventID"], a["rule"]) for a in alerts] == [(TAMPERING, TRAIL)]
