"""Seeded user rules and events over one small vocabulary, so the rules match often.

The rules mix what the forwarding analysis narrows (equality, `in`, prefixes, suffixes, presence,
booleans) with what it must leave unbounded (`!=`, `not`, substrings, defaults that pass the test,
fields under requestParameters); the events mix the values the rules test with odd ones (a null or
numeric errorCode, a list where a string is expected, "false" as a string, eventName or
eventSource missing).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

NAMES = [
    "GetObject",
    "PutObject",
    "DeleteBucket",
    "ConsoleLogin",
    "CreateUser",
    "GetSecretValue",
    "ListBuckets",
    "DescribeInstances",
    "RunInstances",
    "StopLogging",
    "Decrypt",
    "PutBucketPolicy",
]
SOURCES = [
    "s3.amazonaws.com",
    "iam.amazonaws.com",
    "signin.amazonaws.com",
    "ec2.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "kms.amazonaws.com",
    "secretsmanager.amazonaws.com",
]
PREFIXES = ["Get", "Put", "Delete", "Describe", "Create", "List", "Stop"]
IDENTITY_TYPES = ["Root", "IAMUser", "AssumedRole", "AWSService"]
MISSING = object()
ERROR_CODES = [
    MISSING,
    MISSING,
    MISSING,
    MISSING,
    "AccessDenied",
    "AccessDeniedException",
    "Client.UnauthorizedOperation",
    "ThrottlingException",
    None,
    "",
    403,
]
ARNS = ["arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:root",
        "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_1/bob",
        "arn:aws:sts::111122223333:assumed-role/deploy/i-0abc"]  # fmt: skip


# Hand-picked rules where a default, a null or a list decides, next to the generated ones.
EDGE_RULES = [
    'event.get("eventName", "Decrypt") and event.get("userIdentity.type") == "Root"',
    'event.get("eventName", "") == "" and "errorCode" in event',
    'event.get("eventName", "GetX").startswith("Get") and event.get("readOnly") is True',
    'event.get("readOnly", False) is False and event.get("userIdentity.type") == "Root"',
    'event.get("errorCode") == None and event.get("eventSource") == "kms.amazonaws.com"',
    'event.get("eventSource") in ["s3.amazonaws.com", None] and event.get("userIdentity.type") == "IAMUser"',
    'event.get("errorCode", "AccessDenied").startswith("AccessDenied")',
    'event.get("errorCode", 0).endswith("UnauthorizedOperation")',
    '(event.get("eventSource") == "s3.amazonaws.com" if event.get("readOnly") is True'
    ' else event["eventSource"] == "kms.amazonaws.com")',
    'event.get("eventName") == "Decrypt" or event.get("userIdentity.type") in ["AWSService"]',
    '"crypt" in event.get("eventName", "") and event.get("userIdentity.type") != "Root"',
    '"Access" in event["errorCode"] or "" in event.get("eventSource", 7)',
]


def _atom(rng: random.Random) -> str:
    name, source, prefix = rng.choice(NAMES), rng.choice(SOURCES), rng.choice(PREFIXES)
    identity = rng.choice(IDENTITY_TYPES)
    choices: list[Callable[[], str]] = [
        lambda: f'event["eventName"] == "{name}"',
        lambda: f'event.get("eventName") in {rng.sample(NAMES, 3)}',
        lambda: f'event["eventSource"] == "{source}"',
        lambda: f'event.get("eventSource") in ("{source}", "{rng.choice(SOURCES)}")',
        lambda: f'event.get("eventName", "").startswith("{prefix}")',
        lambda: f'event["eventName"].startswith(("{prefix}", "{rng.choice(PREFIXES)}"))',
        lambda: 'event.get("errorCode", "").endswith("UnauthorizedOperation")',
        lambda: 'event.get("errorCode", "").startswith("AccessDenied")',
        lambda: '"errorCode" in event',
        lambda: '"errorCode" not in event',
        lambda: 'event.get("errorCode") is not None',
        lambda: 'event.get("errorCode")',
        lambda: f'event.get("userIdentity.type") == "{identity}"',
        lambda: f'event["userIdentity.type"] in ("{identity}", "IAMUser")',
        lambda: 'event.get("readOnly") is False',
        lambda: 'event["readOnly"] == True',
        lambda: 'event.get("readOnly") == False',
        # unbounded, each for its own reason
        lambda: 'event.get("requestParameters.bucketName", "").startswith("prod")',
        lambda: f'event.get("eventSource") != "{source}"',
        lambda: '"AWSReservedSSO" in event.get("userIdentity.arn", "")',
        lambda: 'event.get("userIdentity.type", "Root") == "Root"',
        lambda: f'event.get("eventName", "{prefix}X").startswith("{prefix}")',
        lambda: f'not event["eventName"].startswith("{prefix}")',
        lambda: 'event.get("userIdentity.arn", "").endswith("/i-0abc")',
        lambda: 'len(event.get("eventName", "")) > 10',
        lambda: f'event.get("eventName", "{name}")',
    ]
    return rng.choice(choices)()


def generated_rules(count: int, seed: int) -> list[str]:
    """`count` rules: conjunctions of 2-3 atoms, some with an `or`, a `not` or an `if` inside."""
    rng = random.Random(seed)
    rules = []
    for _ in range(count):
        parts = [_atom(rng) for _ in range(rng.randint(2, 3))]
        shape = rng.random()
        if shape < 0.25:
            parts[-1] = f"({parts[-1]} or {_atom(rng)})"
        elif shape < 0.32:
            parts[-1] = f"not ({parts[-1]})"
        elif shape < 0.38:
            parts[-1] = f"({_atom(rng)} if {parts[-1]} else {_atom(rng)})"
        elif shape < 0.45:
            parts = [f"any([{parts[0]}, {parts[-1]}])", *parts[1:-1]]
        rules.append(" and ".join(parts))
    return rules


def generated_events(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` CloudTrail-shaped records with unique eventIDs."""
    rng = random.Random(seed)
    events = []
    for position in range(count):
        name = rng.choice(NAMES)
        record: dict[str, Any] = {
            "eventVersion": "1.09",
            "eventID": f"gen-{position}",
            "eventTime": "2024-03-11T10:00:00Z",
            "eventName": name,
            "eventSource": rng.choice(SOURCES),
            "eventType": "AwsConsoleSignIn" if name == "ConsoleLogin" else "AwsApiCall",
            "awsRegion": "eu-west-1",
            "recipientAccountId": "111122223333",
            "userIdentity": {"accountId": "111122223333", "arn": rng.choice(ARNS)},
        }
        identity = rng.choice([*IDENTITY_TYPES, MISSING, ["Root"]])
        if identity is not MISSING:
            record["userIdentity"]["type"] = identity
        error = rng.choice(ERROR_CODES)
        if error is not MISSING:
            record["errorCode"] = error
        read_only = rng.choice([True, False, MISSING, "false"])
        if read_only is not MISSING:
            record["readOnly"] = read_only
        if rng.random() < 0.3:
            record["requestParameters"] = {"bucketName": rng.choice(["prod-logs", "dev-data", None])}
        if rng.random() < 0.08:  # where a rule's default stands in for the field
            del record[rng.choice(["eventName", "eventSource"])]
        events.append(record)
    return events
