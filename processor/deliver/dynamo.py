"""The one DynamoDB table: every call bounded by the deadline, and the items it keeps.

The table has `pk` (S) and the TTL attribute `expires_at` (N). Items are told apart by a prefix of
`pk`: `sent#` the delivery ledger (DynamoDbLedger), `thread#` Slack threads (DynamoDbThreadStore),
`mute#` snoozes and mutes (SuppressionStore).
The stores here translate items to and from values and decide nothing; threads.py and the
Dispatcher decide. DynamoDB deletes expired items only eventually (often within a day, sometimes
later), so every read here treats an item whose `expires_at` has passed as absent, and every
conditional write allows overwriting such an item.

Every call is bounded by the Lambda's deadline (BoundedTable): a table that accepts connections
but never answers must cost the batch one short timeout, not a Lambda timeout and a whole-batch
retry. The callers degrade instead of waiting: an unreadable ledger means send anyway (counted
as LedgerErrors), a thread store that cannot answer means post unthreaded.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

# The call allowances (CALL_TIERS) live with the deadline: the App reserves one without a table too.
from processor.deliver.timing import CALL_TIERS, FINISH_SECONDS, Deadline
from processor.models import SlackMessage

if TYPE_CHECKING:
    from processor.deliver.threads import Similar

PK = "pk"
TTL_ATTRIBUTE = "expires_at"

# Put only if no live item holds this key: absent, or present but past its TTL.
ABSENT_OR_EXPIRED = "attribute_not_exists(pk) OR expires_at < :now"

ResourceFactory = Callable[[Any], Any]  # botocore Config -> boto3 DynamoDB service resource

BATCH_GET_LIMIT = 100
UNPROCESSED_ROUNDS = 4  # BatchGetItem leaves keys unprocessed when throttled: ask again, a few times


class TableUnavailable(Exception):  # noqa: N818 - reads as what happened, like botocore's names
    """The table did not answer earlier in this invocation, or there is no time left to ask it."""


def batch_get(table: Any, keys: list[dict[str, Any]], **options: Any) -> Iterator[dict[str, Any]]:
    """The items of `keys` (BatchGetItem, BATCH_GET_LIMIT at a time, with `options` such as
    ConsistentRead), asking again for keys DynamoDB left unprocessed; raises TableUnavailable when
    it still leaves some after UNPROCESSED_ROUNDS."""
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {table.name: {"Keys": keys[start : start + BATCH_GET_LIMIT], **options}}
        for _ in range(UNPROCESSED_ROUNDS):
            response = table.batch_get_item(RequestItems=request)
            yield from response.get("Responses", {}).get(table.name, [])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise TableUnavailable(f"DynamoDB left keys unprocessed {UNPROCESSED_ROUNDS} times (throttled)")


def is_live(item: dict[str, Any] | None, now: float) -> bool:
    if not item:
        return False
    expires = item.get(TTL_ATTRIBUTE)
    return expires is None or float(expires) > now


def is_conditional_failure(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code == "ConditionalCheckFailedException"


def call_allowance(remaining_seconds: float) -> float | None:
    """The timeout budget of a call started now: the largest tier that ends before the deadline
    with FINISH_SECONDS to spare, or None when even the smallest does not."""
    left = remaining_seconds - FINISH_SECONDS
    return next((tier for tier in CALL_TIERS if tier <= left), None)


def client_config(allowance: float) -> Any:
    """One attempt whose connect and read timeouts add up to `allowance` seconds.

    botocore's own retries are off: they sleep with no regard for the deadline.
    """
    from botocore.config import Config

    return Config(
        connect_timeout=allowance / 4,
        read_timeout=allowance * 3 / 4,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )


class BoundedTable:
    """The operations the ledger and thread store use, each bounded by the invocation's deadline.

    A call is started only if its allowance (CALL_TIERS) fits the remaining time, through a client
    whose timeouts add up to that allowance (one client per tier, made when first needed). A call
    that got no answer at all (timeout, refused or dropped connection) marks the table unavailable
    until the next invocation: later calls fail at once instead of each waiting out a timeout.
    An answer, even an error (throttling, a failed condition), does not.
    """

    def __init__(
        self, name: str, deadline: Deadline, resource_factory: ResourceFactory | None = None
    ) -> None:
        self.name = name
        self._deadline = deadline
        self._resource_factory = resource_factory or _boto3_resource
        self._tables: dict[float, Any] = {}
        self._silent_in: int | None = None  # the invocation in which the table last failed to answer

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call(lambda table: table.get_item(**kwargs))

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call(lambda table: table.put_item(**kwargs))

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call(lambda table: table.update_item(**kwargs))

    def delete_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._call(lambda table: table.delete_item(**kwargs))

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        """The low-level client's BatchGetItem (typed values), for reading many keys at once."""
        return self._call(lambda table: table.meta.client.batch_get_item(**kwargs))

    def _call(self, operation: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        if self._silent_in == self._deadline.invocation:
            raise TableUnavailable(f"DynamoDB table {self.name} did not answer earlier in this invocation")
        allowance = call_allowance(self._deadline.remaining())
        if allowance is None:
            raise TableUnavailable(f"no time left for a DynamoDB call to {self.name}")
        try:
            return operation(self._table(allowance))
        except Exception as exc:
            if not isinstance(getattr(exc, "response", None), dict):  # no answer from the service
                self._silent_in = self._deadline.invocation
            raise

    def _table(self, allowance: float) -> Any:
        table = self._tables.get(allowance)
        if table is None:
            resource = self._resource_factory(client_config(allowance))
            resource.meta.client.meta.events.register("before-parse.dynamodb", _refuse_cut_answer)
            table = self._tables[allowance] = resource.Table(self.name)
        return table


def _refuse_cut_answer(response_dict: dict[str, Any], **_: Any) -> None:
    """An answer cut short fails DynamoDB's x-amz-crc32. botocore checks it only to decide on a
    retry; with its retries off (ours), it would parse the stub as an empty answer: no Item, no
    record of a delivery. Refuse it, as a call that got no answer."""
    expected = response_dict.get("headers", {}).get("x-amz-crc32")
    body = response_dict.get("body")
    if expected is not None and isinstance(body, bytes) and zlib.crc32(body) != int(expected):
        raise TableUnavailable("DynamoDB's answer was cut short (x-amz-crc32 does not match)")


def _boto3_resource(config: Any) -> Any:
    """boto3 is imported here, lazily, so setups without a table never load it."""
    import boto3

    return boto3.resource("dynamodb", config=config)


# --- The delivery ledger: `sent#<key>` ---

LEDGER_TTL_SECONDS = 7 * 24 * 3600  # longer than Kinesis' default 24h retention and any retry of it


class DynamoDbLedger:
    """Implements DeliveryLedger over a BoundedTable. `wall` is epoch seconds, injected for tests."""

    def __init__(self, table: Any, *, wall: Callable[[], float], ttl: int = LEDGER_TTL_SECONDS) -> None:
        self._table = table
        self._wall = wall
        self._ttl = ttl

    def already_delivered(self, key: str) -> bool:
        item = self._table.get_item(Key={PK: _sent_pk(key)}, ConsistentRead=True).get("Item")
        return is_live(item, self._wall())

    def delivered_among(self, keys: list[str]) -> set[str]:
        """BatchGetItem in chunks of 100, strongly consistent, retrying unprocessed keys a few times."""
        now = self._wall()
        unique = list(dict.fromkeys(keys))
        items = batch_get(
            self._table,
            [{PK: _sent_pk(k)} for k in unique],
            ConsistentRead=True,
            ProjectionExpression="pk, expires_at",
        )
        return {_plain(item)[PK].removeprefix("sent#") for item in items if is_live(_plain(item), now)}

    def record(self, key: str) -> None:
        """Conditional put: a live record already there means another attempt recorded it first."""
        now = self._wall()
        try:
            self._table.put_item(
                Item={PK: _sent_pk(key), TTL_ATTRIBUTE: int(now + self._ttl)},
                ConditionExpression=ABSENT_OR_EXPIRED,
                ExpressionAttributeValues={":now": int(now)},
            )
        except Exception as exc:
            if not is_conditional_failure(exc):
                raise


def _sent_pk(key: str) -> str:
    return f"sent#{key}"


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """batch_get_item on the low-level client returns typed values ({"S": ...}); unwrap the two we use."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        if isinstance(value, dict) and len(value) == 1:
            (kind, raw), *_ = value.items()
            out[name] = float(raw) if kind == "N" else raw
        else:
            out[name] = value
    return out


# --- Slack threads: `thread#<key>` ---

_MAX_STORED_PARENT = 100_000  # bytes of JSON; DynamoDB items stop at 400 KB


@dataclass(frozen=True, slots=True)
class ThreadItem:
    ts: str | None
    owner: str
    parent: SlackMessage | None
    replies: int
    note: str | None = None  # e.g. "Acknowledged by ...", kept when the parent is edited again


class DynamoDbThreadStore:
    """Translates thread state to and from `thread#<key>` items; decides nothing."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str, now: float) -> ThreadItem | None:
        item = self._table.get_item(Key={PK: _thread_pk(key)}, ConsistentRead=True).get("Item")
        if not is_live(item, now):
            return None
        assert item is not None
        parent = None
        if item.get("parent"):
            data = orjson.loads(item["parent"])
            parent = SlackMessage(text=data.get("text", ""), blocks=tuple(data.get("blocks") or ()))
        note = item.get("note")
        replies = int(item.get("replies", 0))
        return ThreadItem(item.get("ts"), str(item.get("owner", "")), parent, replies, note or None)

    def claim(self, key: str, owner: str, now: float, ttl: int) -> bool:
        try:
            self._table.put_item(
                Item={PK: _thread_pk(key), "owner": owner, TTL_ATTRIBUTE: int(now + ttl), "replies": 0},
                ConditionExpression=ABSENT_OR_EXPIRED,
                ExpressionAttributeValues={":now": int(now)},
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def set_parent(self, key: str, owner: str, ts: str, parent: SlackMessage) -> None:
        stored = orjson.dumps(parent.payload())
        values: dict[str, Any] = {":ts": ts, ":owner": owner}
        expression = "SET ts = :ts"
        if len(stored) <= _MAX_STORED_PARENT:
            expression += ", parent = :parent"
            values[":parent"] = stored.decode()
        self._table.update_item(
            Key={PK: _thread_pk(key)},
            UpdateExpression=expression,
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues=values,
        )

    def release(self, key: str, owner: str) -> None:
        """Give the claim up (the parent could not be posted), so the next attempt can claim it."""
        try:
            self._table.delete_item(
                Key={PK: _thread_pk(key)},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except Exception as exc:
            if not is_conditional_failure(exc):
                raise

    def set_note(self, key: str, ts: str, note: str) -> bool:
        """Keep `note` on the thread whose parent is message `ts`; False when there is no such thread."""
        try:
            self._table.update_item(
                Key={PK: _thread_pk(key)},
                UpdateExpression="SET note = :note",
                ConditionExpression="ts = :ts",
                ExpressionAttributeValues={":note": note, ":ts": ts},
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def add_reply(self, key: str) -> int:
        response = self._table.update_item(
            Key={PK: _thread_pk(key)},
            UpdateExpression="ADD replies :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["replies"])


def _thread_pk(key: str) -> str:
    return f"thread#{key}"


# --- Snoozes and mutes: `mute#<similarity key>` (threads.Suppressions decides what they hold back) ---

PREFIX = "mute#"
SNOOZE = "snooze"
MUTE = "mute"


@dataclass(frozen=True, slots=True)
class Suppression:
    """One snooze or mute, as kept in the table."""

    key: str  # threads.similarity_key of the alerts it holds back
    kind: str  # SNOOZE or MUTE
    what: Similar  # what the responder was shown (and confirmed)
    by: str  # a Slack user id, or "<name> (CLI)"
    at: float  # when it was made (epoch seconds)
    until: float | None = None  # snoozes only
    channel: str = ""  # the thread of the alert it was made from (Slack only)
    thread_ts: str = ""
    suppressed: int = 0  # alerts held back since it was made
    since: float | None = None  # when the first of them was
    summary_ts: str = ""  # the thread reply that sums them up

    def live(self, now: float) -> bool:
        return self.until is None or self.until > now


class SuppressionStore:
    """Translates suppressions to and from `mute#<key>` items; decides nothing.

    `table` is a BoundedTable in the Lambdas, or a boto3 Table for the CLI (which also lists them).
    """

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str) -> Suppression | None:
        item = self._table.get_item(Key={PK: PREFIX + key}, ConsistentRead=True).get("Item")
        return _suppression(item) if item else None

    def get_many(self, keys: list[str]) -> dict[str, Suppression]:
        """BatchGetItem in chunks of 100 (eventually consistent: the cache is older than that anyway)."""
        items = batch_get(self._table, [{PK: PREFIX + k} for k in keys])
        return {suppression.key: suppression for suppression in map(_suppression, items)}

    def put(self, suppression: Suppression) -> None:
        """Make (or replace: the latest action wins) the suppression of its key."""
        item: dict[str, Any] = {
            PK: PREFIX + suppression.key,
            "kind": suppression.kind,
            "what": orjson.dumps([list(pair) for pair in suppression.what]).decode(),
            "by": suppression.by,
            "at": Decimal(str(round(suppression.at, 3))),
            "suppressed": 0,
        }
        if suppression.until is not None:
            item[TTL_ATTRIBUTE] = int(suppression.until)
        if suppression.channel and suppression.thread_ts:
            item.update(channel=suppression.channel, thread_ts=suppression.thread_ts)
        self._table.put_item(Item=item)

    def remove(self, key: str) -> Suppression | None:
        """Delete it; what it was, or None when there was none."""
        response = self._table.delete_item(Key={PK: PREFIX + key}, ReturnValues="ALL_OLD")
        item = response.get("Attributes")
        return _suppression(item) if item else None

    def count(self, key: str, alerts: int, now: float) -> Suppression | None:
        """Add `alerts` to its count; None when it was removed or has expired meanwhile."""
        try:
            response = self._table.update_item(
                Key={PK: PREFIX + key},
                UpdateExpression="ADD suppressed :n SET since = if_not_exists(since, :now)",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(expires_at) OR expires_at > :now)",
                ExpressionAttributeValues={":n": alerts, ":now": int(now)},
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return None
            raise
        return _suppression(response["Attributes"])

    def claim_summary(self, key: str, owner: str) -> bool:
        """First writer posts the summary reply; the others wait for its ts (the next batch updates it)."""
        return self._conditional_update(
            key,
            "SET summary_owner = :owner",
            "attribute_exists(pk) AND attribute_not_exists(summary_owner)",
            owner,
        )

    def set_summary(self, key: str, owner: str, ts: str) -> None:
        self._table.update_item(
            Key={PK: PREFIX + key},
            UpdateExpression="SET summary_ts = :ts",
            ConditionExpression="summary_owner = :owner",
            ExpressionAttributeValues={":ts": ts, ":owner": owner},
        )

    def release_summary(self, key: str, owner: str) -> None:
        self._conditional_update(key, "REMOVE summary_owner", "summary_owner = :owner", owner)

    def all(self) -> list[Suppression]:
        """Every suppression item, live or not (the CLI; a Scan, which the Lambdas never make)."""
        found: list[Suppression] = []
        options: dict[str, Any] = {
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {":prefix": PREFIX},
        }
        while True:
            response = self._table.scan(**options)
            found += [_suppression(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return found
            options["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _conditional_update(self, key: str, expression: str, condition: str, owner: str) -> bool:
        try:
            self._table.update_item(
                Key={PK: PREFIX + key},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues={":owner": owner},
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True


def _suppression(item: dict[str, Any]) -> Suppression:
    try:
        what = tuple((str(p[0]), str(p[1])) for p in orjson.loads(item.get("what") or "[]"))
    except (orjson.JSONDecodeError, TypeError, IndexError):
        what = ()
    until = item.get(TTL_ATTRIBUTE)
    since = item.get("since")
    return Suppression(
        key=str(item[PK]).removeprefix(PREFIX),
        kind=str(item.get("kind", MUTE)),
        what=what,
        by=str(item.get("by", "")),
        at=float(item.get("at", 0)),
        until=None if until is None else float(until),
        channel=str(item.get("channel", "")),
        thread_ts=str(item.get("thread_ts", "")),
        suppressed=int(item.get("suppressed", 0)),
        since=None if since is None else float(since),
        summary_ts=str(item.get("summary_ts", "")),
    )
