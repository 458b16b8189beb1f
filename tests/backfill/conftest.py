"""Fixtures for the backfill tests: a clean environment, CLI runs, and S3 clients that record listings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from processor.cli import main
from processor.settings import ENVIRONMENT_VARIABLES

# The tests' rule: CreateUser alerts, nothing else (default rules off unless a test turns them on).
RULE = "event['eventName'] == 'CreateUser'"


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT_VARIABLES:  # a developer's own settings never leak into a test
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RULES", RULE)
    monkeypatch.setenv("USE_DEFAULT_RULES", "false")


@dataclass
class Run:
    result: Result
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.result.exit_code

    @property
    def stderr(self) -> str:
        return self.result.stderr


@pytest.fixture
def backfill() -> Callable[..., Run]:
    """Run `trailalert backfill ARGS` with CliRunner; stdout parsed as JSON lines."""

    def run(*args: str) -> Run:
        result = CliRunner().invoke(main, ["backfill", *args], catch_exceptions=False)
        alerts = [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]
        return Run(result, alerts)

    return run


@dataclass
class ListingLog:
    """Every ListObjectsV2 request a client made: (Prefix, Delimiter, StartAfter)."""

    calls: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def record(self, params: dict[str, Any], **_: Any) -> None:
        self.calls.append((params.get("Prefix", ""), params.get("Delimiter"), params.get("StartAfter")))


@pytest.fixture
def s3(aws: str) -> Any:
    import boto3

    return boto3.client("s3")


@pytest.fixture
def listings(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ListingLog]:
    """The backfill's own S3 client, with its ListObjectsV2 requests recorded."""
    import boto3

    from backfill import cli

    log = ListingLog()

    def client(threads: int) -> Any:
        made = boto3.client("s3")
        made.meta.events.register("provide-client-params.s3.ListObjectsV2", log.record)
        return made

    monkeypatch.setattr(cli, "_s3_client", client)
    yield log
