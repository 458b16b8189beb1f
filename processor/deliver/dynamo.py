"""The one DynamoDB table shared by threads and the delivery ledger: `pk` (S) and TTL `expires_at` (N).

Items are told apart by a prefix of `pk` (`thread#`, `sent#`). DynamoDB deletes expired items
only eventually (often within a day, sometimes later), so every read here treats an item whose
`expires_at` has passed as absent, and every conditional write allows overwriting such an item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PK = "pk"
TTL_ATTRIBUTE = "expires_at"

# Put only if no live item holds this key: absent, or present but past its TTL.
ABSENT_OR_EXPIRED = "attribute_not_exists(pk) OR expires_at < :now"


def is_live(item: dict[str, Any] | None, now: float) -> bool:
    if not item:
        return False
    expires = item.get(TTL_ATTRIBUTE)
    return expires is None or float(expires) > now


def is_conditional_failure(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code == "ConditionalCheckFailedException"


def table_resource(table_name: str, resource_factory: Callable[[], Any] | None = None) -> Any:
    """A boto3 Table; boto3 is imported here, lazily, so setups without a table never load it."""
    if resource_factory is not None:
        return resource_factory().Table(table_name)
    import boto3
    from botocore.config import Config

    # botocore's default retries sleep with no regard for the Lambda's remaining time; a throttled or
    # unreachable table should fail fast into the fallbacks (unthreaded post, ledger error counted).
    config = Config(connect_timeout=2, read_timeout=3, retries={"total_max_attempts": 2, "mode": "standard"})
    return boto3.resource("dynamodb", config=config).Table(table_name)
