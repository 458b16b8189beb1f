"""Realistic CloudTrail events for the render tests, built fresh per test so tests can mutate them."""

from __future__ import annotations

import copy
from typing import Any

from processor.models import Record, RuleRef

ACCOUNT = "111122223333"

STOP_LOGGING: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEALICE0001",
        "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333",
        "accessKeyId": "AKIAEXAMPLEKEY000001",
        "userName": "alice",
    },
    "eventTime": "2024-03-05T09:41:27Z",
    "eventSource": "cloudtrail.amazonaws.com",
    "eventName": "StopLogging",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "203.0.113.7",
    "userAgent": (
        "aws-cli/2.15.10 Python/3.11.6 Linux/6.5.0 exe/x86_64.ubuntu.22 "
        "prompt/off command/cloudtrail.stop-logging"
    ),
    "requestParameters": {"name": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"},
    "responseElements": None,
    "requestID": "6f1d2c3b-0a9e-4d8c-8b7a-1e2f3a4b5c6d",
    "eventID": "c0ffee00-1234-4abc-9def-0123456789ab",
    "readOnly": False,
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": "111122223333",
    "eventCategory": "Management",
}

DENIED_PUT_BUCKET_POLICY: dict[str, Any] = {
    "eventVersion": "1.09",
    "userIdentity": {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEDEPLOY001:ci-session",
        "arn": "arn:aws:sts::111122223333:assumed-role/deploy/ci-session",
        "accountId": "111122223333",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEDEPLOY001",
                "arn": "arn:aws:iam::111122223333:role/deploy",
                "accountId": "111122223333",
                "userName": "deploy",
            },
            "attributes": {"creationDate": "2024-03-05T09:00:00Z", "mfaAuthenticated": "false"},
        },
    },
    "eventTime": "2024-03-05T09:45:02Z",
    "eventSource": "s3.amazonaws.com",
    "eventName": "PutBucketPolicy",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "198.51.100.23",
    "userAgent": "[Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.5.0 lang/python#3.11.6]",
    "errorCode": "AccessDenied",
    "errorMessage": "User: arn:aws:sts::111122223333:assumed-role/deploy/ci-session is not authorized",
    "requestParameters": {
        "bucketName": "audit-logs-111122223333",
        "Host": "audit-logs-111122223333.s3.amazonaws.com",
        "policy": "",
    },
    "responseElements": None,
    "additionalEventData": {
        "SignatureVersion": "SigV4",
        "bytesTransferredIn": 0,
        "AuthenticationMethod": "AuthHeader",
    },
    "eventID": "d1ce0000-5678-4abc-9def-0123456789ab",
    "eventType": "AwsApiCall",
    "recipientAccountId": "111122223333",
}

KMS_SERVICE_EVENT: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {"type": "AWSService", "invokedBy": "kms.amazonaws.com"},
    "eventTime": "2024-03-05T10:00:00Z",
    "eventSource": "kms.amazonaws.com",
    "eventName": "DeleteKey",
    "awsRegion": "eu-central-1",
    "sourceIPAddress": "kms.amazonaws.com",
    "userAgent": "kms.amazonaws.com",
    "requestParameters": None,
    "responseElements": None,
    "serviceEventDetails": {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "keyState": "PendingDeletion"},
    "eventID": "beef0000-9abc-4abc-9def-0123456789ab",
    "eventType": "AwsServiceEvent",
    "recipientAccountId": "111122223333",
}

ROOT_CONSOLE_LOGIN: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {"type": "Root", "principalId": "111122223333", "accountId": "111122223333"},
    "eventTime": "2024-03-05T11:12:13Z",
    "eventSource": "signin.amazonaws.com",
    "eventName": "ConsoleLogin",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "192.0.2.44",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "requestParameters": None,
    "responseElements": {"ConsoleLogin": "Success"},
    "additionalEventData": {
        "LoginTo": "https://console.aws.amazon.com/",
        "MobileVersion": "No",
        "MFAUsed": "No",
    },
    "eventID": "a11ce000-0000-4abc-9def-0123456789ab",
    "eventType": "AwsConsoleSignIn",
    "recipientAccountId": "111122223333",
}

RULE = RuleRef(
    id="default.cloudtrail-stop-logging",
    expression='event["eventSource"] == "cloudtrail.amazonaws.com" and event["eventName"] == "StopLogging"',
    origin="USE_DEFAULT_RULES",
    title="CloudTrail logging stopped",
    severity="high",
)


def event(template: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of `template` with top-level keys replaced (None removes nothing; use `drop`)."""
    fresh = copy.deepcopy(template)
    fresh.update(changes)
    return fresh


def record(
    event_: dict[str, Any], item_id: str = "s3://org-trail-logs/AWSLogs/111122223333/x.json.gz"
) -> Record:
    return Record(event=event_, item_id=item_id, index=3, source="s3")
