"""Who made a call: the userIdentity blocks real trails are full of, built from a seeded Random."""

from __future__ import annotations

import random
from typing import Any

SSO_PERMISSION_SETS = ("AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "Billing", "DataEngineer")
APP_ROLES = ("checkout-api", "ingest-worker", "ci-deployer", "eks-node", "batch-reports", "lambda-etl")
IAM_USERS = ("dana.ops", "terraform", "legacy-backup", "svc-grafana", "kim.nguyen")
PEOPLE = ("jo.lee@example.org", "sam.rivera@example.org", "ana.souza@example.org", "lee.park@example.org")
SERVICES = (
    "lambda.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "cloudformation.amazonaws.com",
    "autoscaling.amazonaws.com",
    "ec2.amazonaws.com",
    "config.amazonaws.com",
)


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _key_id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def sso_role(rng: random.Random, account: str, when: str) -> dict[str, Any]:
    """A person signed in through IAM Identity Center: an `AWSReservedSSO_*` assumed role."""
    role = f"AWSReservedSSO_{rng.choice(SSO_PERMISSION_SETS)}_{_hex(rng, 16)}"
    person = rng.choice(PEOPLE)
    role_id = _key_id(rng, "AROA")
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{person}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{person}",
        "accountId": account,
        "accessKeyId": _key_id(rng, "ASIA"),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{role}",
                "accountId": account,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": when, "mfaAuthenticated": "false"},
        },
    }


def app_role(rng: random.Random, account: str, when: str, invoked_by: str | None = None) -> dict[str, Any]:
    """A workload's assumed role (an ECS task, a Lambda, a CI job)."""
    role = rng.choice(APP_ROLES)
    session = rng.choice(("botocore-session-" + str(rng.randrange(10**9, 10**10)), "i-0" + _hex(rng, 16)))
    role_id = _key_id(rng, "AROA")
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": _key_id(rng, "ASIA"),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": when, "mfaAuthenticated": "false"},
        },
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    return identity


def iam_user(rng: random.Random, account: str, name: str | None = None) -> dict[str, Any]:
    user = name or rng.choice(IAM_USERS)
    return {
        "type": "IAMUser",
        "principalId": _key_id(rng, "AIDA"),
        "arn": f"arn:aws:iam::{account}:user/{user}",
        "accountId": account,
        "accessKeyId": _key_id(rng, "AKIA"),
        "userName": user,
    }


def root(rng: random.Random, account: str) -> dict[str, Any]:
    return {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
        "accessKeyId": _key_id(rng, "ASIA"),
    }


def aws_service(rng: random.Random) -> dict[str, Any]:
    """A service acting on its own behalf (KMS decrypts for S3, STS for Lambda, ...)."""
    return {"type": "AWSService", "invokedBy": rng.choice(SERVICES)}


def anonymous() -> dict[str, Any]:
    """An unauthenticated S3 request: AccessDenied from it is noise the default rule skips."""
    return {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"}


def worker(rng: random.Random, account: str, when: str) -> dict[str, Any]:
    """The usual mix behind routine calls: mostly workloads, some people, a few IAM users."""
    roll = rng.random()
    if roll < 0.55:
        return app_role(rng, account, when)
    if roll < 0.85:
        return sso_role(rng, account, when)
    return iam_user(rng, account)
