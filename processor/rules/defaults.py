"""The nine default rules of cloudtrail-to-slack, word for word, and the EVENTS_TO_TRACK rule.

The texts are kept byte-identical to the reference (including its quirks: `("Get")`-style
parentheses that are plain strings, and the missing space in `...("AccessDenied"))and (...`)
so alerts name the same rule text users already know.
"""

from __future__ import annotations

import json
from typing import Final, NamedTuple

__all__ = ["DefaultRule", "DEFAULT_RULE_INFO", "default_rules", "events_to_track_rule"]


class DefaultRule(NamedTuple):
    """Title and severity shown in alerts for a default rule."""

    title: str
    severity: str


DEFAULT_RULE_INFO: Final[dict[str, DefaultRule]] = {
    "default.console-login-without-mfa": DefaultRule("Console login without MFA", "high"),
    "default.unauthorized-operation": DefaultRule("Unauthorized operation", "medium"),
    "default.access-denied": DefaultRule("Access denied", "medium"),
    "default.root-non-read-action": DefaultRule("Non-read action by root", "high"),
    "default.cloudtrail-stop-logging": DefaultRule("CloudTrail logging stopped", "critical"),
    "default.cloudtrail-update-trail": DefaultRule("CloudTrail trail updated", "high"),
    "default.cloudtrail-delete-trail": DefaultRule("CloudTrail trail deleted", "critical"),
    "default.self-update-function-configuration": DefaultRule(
        "Alerting function configuration changed", "high"
    ),
    "default.self-update-function-code": DefaultRule("Alerting function code changed", "high"),
}


def default_rules(function_name: str) -> list[tuple[str, str]]:
    """(id, expression) for each default rule, in the reference order.

    `function_name` is the name of the alerting Lambda itself, so changes to it alert.
    """
    cloudtrail = 'event["eventSource"] == "cloudtrail.amazonaws.com" and event["eventName"] == '
    self_change = (
        'event["eventSource"] == "lambda.amazonaws.com" '
        'and "responseElements.functionName" in event '
        f'and event["responseElements.functionName"] == "{function_name}" '
        'and event["eventName"].startswith'
    )
    return [
        (
            "default.console-login-without-mfa",
            'event["eventName"] == "ConsoleLogin" '
            'and event.get("additionalEventData.MFAUsed", "") != "Yes" '
            'and "assumed-role/AWSReservedSSO" not in event.get("userIdentity.arn", "")',
        ),
        ("default.unauthorized-operation", 'event.get("errorCode", "").endswith(("UnauthorizedOperation"))'),
        (
            "default.access-denied",
            'event.get("errorCode", "").startswith(("AccessDenied"))'
            'and (event.get("userIdentity.accountId", "") != "ANONYMOUS_PRINCIPAL")',
        ),
        (
            "default.root-non-read-action",
            'event.get("userIdentity.type", "") == "Root" '
            'and not event["eventName"].startswith(("Get", "List", "Describe", "Head"))',
        ),
        ("default.cloudtrail-stop-logging", cloudtrail + '"StopLogging"'),
        ("default.cloudtrail-update-trail", cloudtrail + '"UpdateTrail"'),
        ("default.cloudtrail-delete-trail", cloudtrail + '"DeleteTrail"'),
        ("default.self-update-function-configuration", self_change + '(("UpdateFunctionConfiguration"))'),
        ("default.self-update-function-code", self_change + '(("UpdateFunctionCode"))'),
    ]


def events_to_track_rule(raw: str) -> str:
    """The rule for EVENTS_TO_TRACK "A, B,C": spaces removed, split on ",", as the reference does.

    Empty names are kept (the reference keeps them too); they can only match eventName "".
    """
    names = raw.replace(" ", "").split(",")
    return f'"eventName" in event and event["eventName"] in {json.dumps(names)}'
