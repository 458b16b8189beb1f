"""A backfill on Lambda against moto's server: a CloudTrail bucket, the queue with its dead-letter
queue, the runs table; and the queue drained into the worker handler in this process, as Lambda's
SQS event source mapping would (batches of messages, partial batch responses, redelivery)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import orjson
import pytest
from click.testing import CliRunner

from backfill import worker
from backfill.runs import create_runs_table
from processor import app as processor_app
from processor.cli import main
from tests.backfill.conftest import Run, backfill, clean_settings  # noqa: F401 - fixtures used here
from tests.backfill.test_send_and_resume import StillClock

BUCKET = "org-trail"
RUNS_TABLE = "trailalert-backfill-runs"
MAX_RECEIVES = 3
TOPIC = "arn:aws:sns:us-east-1:123456789012:trailalert-alerts"
LAMBDA_BATCH = 10  # messages per invocation, as the stack's event source mapping


class Context:
    """A Lambda context with five minutes left, like the worker's timeout."""

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class Drained:
    invocations: int = 0
    deleted: int = 0
    item_failures: int = 0  # messages a worker reported failed (they come back)
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class Fleet:
    queue_url: str
    dead_letter_url: str
    sqs: Any

    def drain(self, *, limit: int = 200) -> Drained:
        """Invoke the worker with up to LAMBDA_BATCH messages at a time until the queue is empty.

        Succeeded messages are deleted, as Lambda does; a reported failure is made visible again
        at once (the visibility timeout, shortened), so it is received again, and moved to the
        dead-letter queue by SQS past maxReceiveCount."""
        drained = Drained()
        for _ in range(limit):
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=LAMBDA_BATCH,
                AttributeNames=["ApproximateReceiveCount"],
            ).get("Messages", [])
            if not messages:
                return drained
            event = {"Records": [_lambda_record(m) for m in messages]}
            answer = worker.handler(event, Context())
            drained.invocations += 1
            failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] in failed:
                    drained.item_failures += 1
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    drained.deleted += 1
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        raise AssertionError(f"the queue was not drained in {limit} invocations")

    def dead_letters(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.dead_letter_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def waiting(self) -> list[dict[str, Any]]:
        """The messages in the queue, read without being consumed."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return messages


def _lambda_record(message: dict[str, Any]) -> dict[str, Any]:
    """An SQS message as Lambda hands it to a function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": message["Attributes"]["ApproximateReceiveCount"]},
        "eventSource": "aws:sqs",
    }


@pytest.fixture
def fleet(aws: str, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """The stack's backfill resources on moto, the CLI and the worker pointed at them."""
    sqs = boto3.client("sqs")
    dead_letter_url = sqs.create_queue(QueueName="trailalert-backfill-dlq")["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(MAX_RECEIVES)})
    queue_url = sqs.create_queue(
        QueueName="trailalert-backfill", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "300"}
    )["QueueUrl"]
    create_runs_table(RUNS_TABLE)
    monkeypatch.setenv("TRAILALERT_BACKFILL_QUEUE_URL", queue_url)
    monkeypatch.setenv("TRAILALERT_BACKFILL_TABLE", RUNS_TABLE)
    monkeypatch.setenv(worker.RUNS_TABLE_ENV, RUNS_TABLE)
    # The worker runs with the deployed function's settings, which always name a destination.
    monkeypatch.setenv("DEFAULT_SNS_TOPIC_ARN", TOPIC)
    monkeypatch.setenv(worker.MAX_RECEIVES_ENV, str(MAX_RECEIVES))
    reset_worker()
    yield Fleet(queue_url, dead_letter_url, sqs)
    reset_worker()


def reset_worker(**app_options: Any) -> None:
    """A new container: the worker and its App are built again from the environment."""
    processor_app.reset(**app_options)
    worker.reset()


@pytest.fixture
def still_clock() -> StillClock:
    return StillClock()


@pytest.fixture
def trailalert() -> Callable[..., Run]:
    """`trailalert ARGS` in this process (the worker runs here too, so mocks reach both)."""

    def run(*args: str) -> Run:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        # Not every line is JSON (`backfill --on-lambda` prints the run id alone): keep the JSON ones.
        lines = result.stdout.splitlines()
        return Run(result, [orjson.loads(line) for line in lines if line.startswith("{")])

    return run


@pytest.fixture(autouse=True)
def quiet_moto() -> None:
    """moto's server logs every request at INFO: thousands of lines for a 240-object run."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
