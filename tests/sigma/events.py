"""CloudTrail records for the Sigma tests: one realistic call, changed field by field."""

from __future__ import annotations

import copy
from typing import Any

ACCOUNT = "111122223333"
_DROP = object()

BASE: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEALICE0001",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
        "accountId": ACCOUNT,
        "accessKeyId": "AKIAEXAMPLEKEY000001",
        "userName": "alice",
    },
    "eventTime": "2026-11-20T09:00:00Z",
    "eventSource": "cloudtrail.amazonaws.com",
    "eventName": "StopLogging",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "203.0.113.10",
    "userAgent": "aws-cli/2.17.20 Python/3.11.9 Linux/6.5",
    "requestParameters": {"name": "prod-trail"},
    "responseElements": None,
    "requestID": "req-0001",
    "eventID": "00000000-0000-4000-9000-000000000001",
    "readOnly": False,
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": ACCOUNT,
}


def record(changes: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """BASE with `changes` applied by dotted path (DROP removes the member) and `top` as keywords."""
    event = copy.deepcopy(BASE)
    for path, value in {**(changes or {}), **top}.items():
        *parents, last = path.split(".")
        node = event
        for name in parents:
            if not isinstance(node.get(name), dict):
                node[name] = {}
            node = node[name]
        if value is _DROP:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)  # never share (and later change) the caller's dicts
    return event


DROP: Any = _DROP
