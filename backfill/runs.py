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

    def states(self, run: str, urls: list[str]) -> dict[str, dict[str, Any]]:
        """The items of these objects (status, attempts), in one BatchGetItem per 100 objects."""
        name = self.table.name
        found: dict[str, dict[str, Any]] = {}
        keys = [{"run": run, "object": object_key(url)} for url in dict.fromkeys(urls)]
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {
                name: {
                    "Keys": keys[start : start + 100],
                    "ConsistentRead": True,
                    "ProjectionExpression": "#o, #s, attempts",
                    "ExpressionAttributeNames": {"#o": "object", "#s": "status"},
                }
            }
            for _ in range(10):  # unprocessed keys (throttling) are asked again
                answer = self.table.meta.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(name, ()):
                    found[item["object"]] = plain(item)
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("the runs table kept some keys unprocessed (throttled)")
        return {url: found[object_key(url)] for url in urls if object_key(url) in found}

    def record_attempt_failed(self, run: str, url: str, reason: str) -> None:
        """An attempt that will be retried: counted and its reason kept, the object stays queued."""
        self.table.update_item(
            Key={"run": run, "object": object_key(url)},
            UpdateExpression="SET #u = :u, last_error = :e, expires_at = :x ADD attempts :one",
            ConditionExpression="attribute_not_exists(#s) OR #s <> :done",
            ExpressionAttributeNames={"#u": "url", "#s": "status"},
            ExpressionAttributeValues={":u": url, ":e": reason, ":x": expires_at(), ":one": 1, ":done": DONE},
        )

    def put_results(self, results: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Each object's whole item (status done or failed, counts), 25 to a BatchWriteItem.

        A result replaces the item: writing one twice (a redelivered message processed by two
        workers at once) leaves one result, never a sum."""
        finished = Decimal(str(round(time.time(), 3)))
        expiry = expires_at()
        with self.table.batch_writer(overwrite_by_pkeys=["run", "object"]) as writer:
            for run, url, fields in results:
                item = {**fields, "run": run, "object": object_key(url), "url": url}
                writer.put_item(Item={**item, "finished_at": finished, "expires_at": expiry})

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
