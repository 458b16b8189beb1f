"""Fixtures for delivery tests: a fake clock, the DynamoDB table the infra creates, env helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from processor import handler
from tests.deliver.fakes import FakeClock

TABLE = "trailalert-delivery"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def table(aws: str) -> str:
    """Exactly the schema infra/ creates: partition key `pk` (S), TTL attribute `expires_at` (N)."""
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    return TABLE


@pytest.fixture
def fresh_container() -> Iterator[None]:
    handler.reset()
    yield
    handler.reset()


def set_env(monkeypatch: pytest.MonkeyPatch, **values: Any) -> None:
    """Replace the processor's environment with exactly these settings (plus test AWS settings)."""
    from processor.settings import ENVIRONMENT_VARIABLES

    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
