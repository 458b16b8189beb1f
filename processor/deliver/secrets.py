"""Secrets by reference: an SSM parameter name (or ARN) or a Secrets Manager ARN, read once.

`load_settings` calls a SecretResolver for SLACK_BOT_TOKEN_SECRET, HOOK_URL_SECRET and
CONFIGURATION_SECRET; the Lambda builds its settings once per container, so each secret is read
once per container. Values never appear in logs or errors: only the setting and the reference do.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from processor.errors import ConfigError

ClientFactory = Callable[[str, str | None], Any]  # (service, region or None) -> boto3 client


def _boto3_client(service: str, region: str | None) -> Any:
    import boto3

    return boto3.client(service, region_name=region) if region else boto3.client(service)


def is_secrets_manager_arn(reference: str) -> bool:
    return reference.startswith("arn:") and reference.split(":")[2:3] == ["secretsmanager"]


class SecretResolver:
    """`resolver(setting, reference) -> value`. Caches by reference for the container's life."""

    def __init__(self, client_factory: ClientFactory = _boto3_client) -> None:
        self._client_factory = client_factory
        self._cache: dict[str, str] = {}

    def __call__(self, setting: str, reference: str) -> str:
        cached = self._cache.get(reference)
        if cached is not None:
            return cached
        try:
            with _quiet_sdk_logs():
                value = self._read(reference)
        except ConfigError:
            raise
        except Exception as exc:
            # The reference (a parameter name or ARN) is not secret; the value never gets here.
            raise ConfigError(setting, f"could not read {reference!r}: {type(exc).__name__}") from None
        if not value:
            raise ConfigError(setting, f"{reference!r} holds an empty value")
        self._cache[reference] = value
        return value

    def _read(self, reference: str) -> str:
        if is_secrets_manager_arn(reference):
            region = reference.split(":")[3] or None
            response = self._client_factory("secretsmanager", region).get_secret_value(SecretId=reference)
            return str(response.get("SecretString") or "")
        region = reference.split(":")[3] or None if reference.startswith("arn:") else None
        response = self._client_factory("ssm", region).get_parameter(Name=reference, WithDecryption=True)
        return str(response["Parameter"]["Value"])


@contextlib.contextmanager
def _quiet_sdk_logs() -> Iterator[None]:
    """botocore logs whole response bodies at DEBUG (the secret included): not while we read one."""
    loggers = [logging.getLogger(name) for name in ("botocore", "boto3", "urllib3")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.INFO))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
