"""The one DynamoDB table shared by threads and the delivery ledger: `pk` (S) and TTL `expires_at` (N).

Items are told apart by a prefix of `pk` (`thread#`, `sent#`). DynamoDB deletes expired items
only eventually (often within a day, sometimes later), so every read here treats an item whose
`expires_at` has passed as absent, and every conditional write allows overwriting such an item.

Every call is bounded by the Lambda's deadline (BoundedTable): a table that accepts connections
but never answers must cost the batch one short timeout, not a Lambda timeout and a whole-batch
retry. The callers degrade instead of waiting: an unreadable ledger means send anyway (counted
as LedgerErrors), a thread store that cannot answer means post unthreaded.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

from processor.deliver.timing import Deadline

PK = "pk"
TTL_ATTRIBUTE = "expires_at"

# Put only if no live item holds this key: absent, or present but past its TTL.
ABSENT_OR_EXPIRED = "attribute_not_exists(pk) OR expires_at < :now"

# The most one call may take (connect + read timeout, one attempt). DynamoDB answers in
# milliseconds; a call that needs seconds is an outage, and the callers have a fallback.
CALL_SECONDS = 2.0
# Shorter allowances for calls made close to the deadline; below the last, no call is started.
CALL_TIERS = (CALL_SECONDS, 1.0, 0.5)
MIN_CALL_SECONDS = CALL_TIERS[-1]
# Kept free after a call so that the invocation can still return its batch response.
FINISH_SECONDS = 0.5

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
