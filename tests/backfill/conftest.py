"""Fixtures for the backfill tests: a clean environment, CLI runs (in this process or a child one), and
S3 clients that record listings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
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

    @property
    def stdout(self) -> str:
        return self.result.stdout


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

    def client(threads: int, timeout: float) -> Any:
        made = boto3.client("s3")
        made.meta.events.register("provide-client-params.s3.ListObjectsV2", log.record)
        return made

    monkeypatch.setattr(cli, "_s3_client", client)
    yield log


REPO = Path(__file__).resolve().parents[2]
# A run that should take seconds; a hang (the bug these tests guard against) fails after this.
SUBPROCESS_TIMEOUT_SECONDS = 60


@dataclass
class ProcessRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.stdout.splitlines() if line.strip()]


@pytest.fixture
def backfill_process() -> Callable[..., ProcessRun]:
    """Run `trailalert backfill ARGS` in a child process that is killed, failing the test, if it hangs.

    The child inherits the test's environment (settings, AWS_ENDPOINT_URL) and imports this checkout.
    """

    def run(*args: str, timeout: float = SUBPROCESS_TIMEOUT_SECONDS) -> ProcessRun:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-c", "from processor.cli import main; main(prog_name='trailalert')"]
        try:
            done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
                [*command, "backfill", *args], env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(
                f"trailalert backfill {' '.join(args)} still running after {timeout}s: {exc.stderr!r}"
            )
        return ProcessRun(done.returncode, done.stdout, done.stderr)

    return run
