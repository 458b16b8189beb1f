"""Account names shown beside account ids: ACCOUNT_NAMES, else AWS Organizations when allowed.

Names are looked up once per account per container (a Lambda container, a backfill run). With
ACCOUNT_NAMES_FROM_ORGANIZATIONS=true, an account not in ACCOUNT_NAMES is asked of Organizations
(organizations:DescribeAccount: from the management account or a delegated administrator). The
call is bounded (one attempt, ORGANIZATIONS_TIMEOUT_SECONDS) and an alert never waits on it twice:
a denied or failed call turns the lookups off for the container, logged once; an account
Organizations does not know is simply shown by its id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("trailalert")

ORGANIZATIONS_TIMEOUT_SECONDS = 2.0
_NOT_FOUND = frozenset({"AccountNotFoundException", "InvalidInputException"})

ClientFactory = Callable[[], Any]  # -> a boto3 Organizations client


def _organizations_client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=ORGANIZATIONS_TIMEOUT_SECONDS / 4,
        read_timeout=ORGANIZATIONS_TIMEOUT_SECONDS * 3 / 4,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return boto3.client("organizations", config=config)


class AccountNames:
    """`name(account_id)`: its name, or "" when none is known."""

    def __init__(
        self,
        names: Mapping[str, str] | None = None,
        *,
        from_organizations: bool = False,
        client_factory: ClientFactory = _organizations_client,
    ) -> None:
        self._known: dict[str, str] = dict(names or {})
        self._ask_organizations = from_organizations
        self._client_factory = client_factory
        self._client: Any = None

    def name(self, account_id: str) -> str:
        if account_id in self._known:
            return self._known[account_id]
        name = self._from_organizations(account_id) if self._ask_organizations and account_id else ""
        self._known[account_id] = name
        return name

    def _from_organizations(self, account_id: str) -> str:
        try:
            if self._client is None:
                self._client = self._client_factory()
            account = self._client.describe_account(AccountId=account_id)["Account"]
        except Exception as exc:
            response = getattr(exc, "response", None)
            code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
            if code in _NOT_FOUND:
                return ""
            self._ask_organizations = False
            log.warning(
                "account names from AWS Organizations are off for this container",
                extra={"reason": f"{type(exc).__name__}: {code or exc}"},
            )
            return ""
        name = account.get("Name")
        return name if isinstance(name, str) else ""
