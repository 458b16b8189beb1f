"""The runs table of a backfill on Lambda: one manifest per run, one item per object.

Key schema: partition key `run` (the run id), sort key `object` (the object's `s3://` url, or a hash
of it past DynamoDB's 1,024-byte sort key limit). The manifest is the item `object = "#run"` ("#"
sorts before "s3://"). The fan-out writes every object as `queued` before its message is sent, so
an object whose message is lost or dead-lettered is still named by `status`; a worker overwrites
the item with the object's result. Results are set, never added to: an object processed twice
counts once (and one already `done` is not processed again).

Items expire (`expires_at`, the table's TTL) RETENTION_DAYS after they were written.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MANIFEST = "#run"
QUEUED, DONE, FAILED = "queued", "done", "failed"
RETENTION_DAYS = 30
MAX_SORT_KEY_BYTES = 1024


def object_key(url: str) -> str:
    """The object's sort key: its url, unless DynamoDB's limit forces a hash of it."""
    if len(url.encode()) < MAX_SORT_KEY_BYTES:
        return url
    return "sha256:" + hashlib.sha256(url.encode()).hexdigest()


def expires_at(now: float | None = None) -> int:
    return int((time.time() if now is None else now) + RETENTION_DAYS * 86400)


def plain(value: Any) -> Any:
    """DynamoDB's Decimals back to ints and floats, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [plain(inner) for inner in value]
    return value


@dataclass
class RunsTable:
    """The table, through boto3's resource API (the caller makes it, so tests and Lambda choose)."""

    table: Any

    @classmethod
    def named(cls, name: str, config: Any = None) -> RunsTable:
        import boto3

        return cls(boto3.resource("dynamodb", config=config).Table(name))

    def put_manifest(self, run: str, fields: dict[str, Any]) -> None:
        self.table.put_item(Item={"run": run, "object": MANIFEST, **fields, "expires_at": expires_at()})

    def update_manifest(self, run: str, fields: dict[str, Any]) -> None:
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": value for i, value in enumerate(fields.values())}
        self.table.update_item(
            Key={"run": run, "object": MANIFEST},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def put_queued(self, run: str, urls: Iterable[str]) -> None:
        """Every object as `queued`, before its message is sent (batch_writer retries what is unprocessed)."""
        expiry = expires_at()
        with self.table.batch_writer() as writer:
            for url in urls:
                writer.put_item(
                    Item={
                        "run": run,
                        "object": object_key(url),
                        "url": url,
                        "status": QUEUED,
                        "expires_at": expiry,
                    }
                )

    def status_of(self, run: str, url: str) -> str | None:
        item = self.table.get_item(
            Key={"run": run, "object": object_key(url)},
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": "status"},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else str(item.get("status"))

    def record_attempt_failed(self, run: str, url: str, reason: str) -> None:
        """An attempt that will be retried: counted and its reason kept, the object stays queued."""
        self.table.update_item(
            Key={"run": run, "object": object_key(url)},
            UpdateExpression="SET #u = :u, last_error = :e, expires_at = :x ADD attempts :one",
            ConditionExpression="attribute_not_exists(#s) OR #s <> :done",
            ExpressionAttributeNames={"#u": "url", "#s": "status"},
            ExpressionAttributeValues={":u": url, ":e": reason, ":x": expires_at(), ":one": 1, ":done": DONE},
        )

    def record_result(self, run: str, url: str, result: dict[str, Any]) -> bool:
        """The object's result (status done or failed), unless a result `done` is already there
        (a redelivered message processed concurrently); False then."""
        from botocore.exceptions import ClientError

        fields = {
            "url": url,
            **result,
            "finished_at": Decimal(str(round(time.time(), 3))),
            "expires_at": expires_at(),
        }
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values: dict[str, Any] = {f":v{i}": value for i, value in enumerate(fields.values())}
        names["#s"], values[":done"], values[":one"] = "status", DONE, 1
        try:
            self.table.update_item(
                Key={"run": run, "object": object_key(url)},
                UpdateExpression="SET "
                + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
                + " ADD attempts :one",
                ConditionExpression="attribute_not_exists(#s) OR #s <> :done",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def items(self, run: str) -> Iterator[dict[str, Any]]:
        """The manifest and every object of the run, page by page (1 MB each)."""
        from boto3.dynamodb.conditions import Key

        params: dict[str, Any] = {"KeyConditionExpression": Key("run").eq(run), "ConsistentRead": True}
        while True:
            page = self.table.query(**params)
            for item in page.get("Items", ()):
                yield plain(item)
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def create_runs_table(name: str) -> str:
    """Exactly the schema infra/ creates (for tests and local endpoints)."""
    import boto3

    client = boto3.client("dynamodb")
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "run", "KeyType": "HASH"},
            {"AttributeName": "object", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "run", "AttributeType": "S"},
            {"AttributeName": "object", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    return name
