"""Fixtures for delivery tests: a fake clock, the DynamoDB table the infra creates, env helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from processor import handler
from processor.devtools.dynamodb import create_table
from tests.deliver.fakes import FakeClock

TABLE = "trailalert-delivery"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def table(aws: str) -> str:
    """Exactly the schema infra/ creates: partition key `pk` (S), TTL attribute `expires_at` (N)."""
    return create_table(TABLE)


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
