"""A Lambda container killed mid-batch, then the same batch again: the ledger keeps posts single.

The handler runs in a subprocess against moto's DynamoDB and the Slack stand-in, and is killed
(SIGKILL: no cleanup, like an out-of-memory kill) at a chosen point of its first post. The rerun on
a new process must post only what is missing, except in the documented window: a process that dies
after Slack accepted a post and before the ledger recorded it posts that one alert again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from processor.devtools.slack_standin import Fault, SlackStandIn
from tests.deliver.fakes import cloudtrail_event, event_ids_posted, kinesis_batch
from tests.faults.conftest import slack_app_env

ROOT = Path(__file__).resolve().parents[2]


class KillingSlack(SlackStandIn):
    """Kills `victim` when the first post arrives (`at="arrival"`: Slack never serves it) or once
    Slack has posted it (`at="accepted"`: the process never hears the answer)."""

    def __init__(self, at: str) -> None:
        super().__init__()
        self.at = at
        self.victim: subprocess.Popen[bytes] | None = None

    def _kill(self) -> None:
        if self.victim is not None and self.victim.poll() is None:
            os.kill(self.victim.pid, signal.SIGKILL)
            self.victim = None

    def _next_fault(self, path: str, body: bytes = b"") -> Fault | None:
        second_post = path.startswith("/api/chat.postMessage") and bool(self.posts)
        if self.at == "arrival" and second_post and self.victim is not None:  # the first was recorded
            self._kill()
            return Fault(drop=True)
        return super()._next_fault(path, body)

    def _accept(self, api: str, channel: str, payload: dict[str, Any]) -> str:
        ts = super()._accept(api, channel, payload)
        if self.at == "accepted" and api == "chat.postMessage":
            self._kill()
        return ts


def _container(batch_file: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.faults.run_handler", str(batch_file)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603


@pytest.mark.parametrize(
    ("at", "repeats"),
    [
        pytest.param("arrival", 0, id="killed-between-two-posts"),
        pytest.param("accepted", 1, id="killed-after-slack-posted-before-the-ledger-write"),
    ],
)
def test_a_rerun_after_a_kill_posts_only_what_is_missing(
    at: str, repeats: int, table: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = kinesis_batch([cloudtrail_event(f"evt-{i}", principal=f"user{i}") for i in range(3)])
    batch_file = tmp_path / "batch.json"
    batch_file.write_bytes(orjson.dumps(batch))
    with KillingSlack(at) as slack:
        slack_app_env(
            monkeypatch,
            slack.api_url,
            DYNAMODB_TABLE_NAME=table,
            DYNAMODB_TIME_TO_LIVE="1",  # the killed process's thread claim does not hold the rerun up
        )
        first = slack.victim = _container(batch_file)
        first.wait(timeout=60)
        assert first.returncode == -signal.SIGKILL
        before = Counter(event_ids_posted(slack.posts, api="chat.postMessage"))
        assert sum(before.values()) == 1  # killed on its first post

        rerun = _container(batch_file)
        out, err = rerun.communicate(timeout=60)
        assert rerun.returncode == 0, err.decode()[-2000:]

    response = orjson.loads(out.splitlines()[-1])
    assert response == {"batchItemFailures": []}
    posted = Counter(event_ids_posted(slack.posts, api="chat.postMessage"))
    assert set(posted) == {"evt-0", "evt-1", "evt-2"}
    assert sum(posted.values()) - len(posted) == repeats  # the documented window, measured
