"""A small, realistic day of CloudTrail: what `make demo` replays. Account ids are documentation ones."""

from __future__ import annotations

from typing import Any

PROD = "111122223333"
DEV = "444455556666"


def _iam_user(account: str, name: str) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLE" + name.upper()[:8],
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": "AKIAEXAMPLE0000000001",
        "userName": name,
    }


def _role(account: str, role: str, session: str) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLE:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLE0000000001",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLE",
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2026-11-20T08:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def _event(
    n: int, account: str, identity: dict[str, Any], source: str, name: str, **extra: Any
) -> dict[str, Any]:
    event = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": f"2026-11-20T09:{n:02d}:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1",
        "requestParameters": None,
        "responseElements": None,
        "requestID": f"req-{n:04d}",
        "eventID": f"00000000-0000-4000-8000-{n:012d}",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    event.update(extra)
    return event


def sample_events() -> list[dict[str, Any]]:
    """Nine events the default rules catch, three they must not, and one an ignore rule drops."""
    root = {"type": "Root", "principalId": PROD, "arn": f"arn:aws:iam::{PROD}:root", "accountId": PROD}
    deployer = _role(PROD, "deployer", "ci-run-42")
    return [
        _event(
            1,
            PROD,
            _iam_user(PROD, "alice"),
            "signin.amazonaws.com",
            "ConsoleLogin",
            eventType="AwsConsoleSignIn",
            responseElements={"ConsoleLogin": "Success"},
            additionalEventData={
                "LoginTo": "https://console.aws.amazon.com/",
                "MobileVersion": "No",
                "MFAUsed": "No",
            },
        ),
        _event(
            2,
            PROD,
            deployer,
            "cloudtrail.amazonaws.com",
            "StopLogging",
            requestParameters={"name": f"arn:aws:cloudtrail:eu-west-1:{PROD}:trail/org-trail"},
        ),
        _event(
            3,
            PROD,
            deployer,
            "cloudtrail.amazonaws.com",
            "DeleteTrail",
            requestParameters={"name": "org-trail"},
        ),
        _event(
            4,
            PROD,
            root,
            "iam.amazonaws.com",
            "CreateAccessKey",
            requestParameters={"userName": "<!channel> please rotate"},
        ),
        _event(
            5,
            DEV,
            _role(DEV, "analytics", "job-7"),
            "ec2.amazonaws.com",
            "DescribeInstances",
            errorCode="Client.UnauthorizedOperation",
            errorMessage="You are not authorized to perform this operation.",
        ),
        _event(
            6,
            DEV,
            _role(DEV, "analytics", "job-7"),
            "s3.amazonaws.com",
            "GetObject",
            errorCode="AccessDenied",
            errorMessage="Access Denied",
            requestParameters={"bucketName": "finance-reports", "key": "2026/q3.csv"},
        ),
        _event(
            7,
            PROD,
            _role(PROD, "ops", "bob"),
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            requestParameters={
                "functionName": "trailalert",
                "environment": {"variables": {"RULES": "False"}},
            },
            responseElements={"functionName": "trailalert", "runtime": "python3.12"},
        ),
        _event(
            8,
            PROD,
            _iam_user(PROD, "mallory"),
            "iam.amazonaws.com",
            "CreateUser",
            requestParameters={"userName": "backdoor"},
        ),
        _event(
            9,
            DEV,
            _role(DEV, "AWSReservedSSO_Admin_0123456789abcdef", "carol@example.com"),
            "signin.amazonaws.com",
            "ConsoleLogin",
            eventType="AwsConsoleSignIn",
            additionalEventData={"MFAUsed": "No"},
        ),
        _event(10, PROD, root, "s3.amazonaws.com", "ListBuckets"),
        _event(
            11,
            PROD,
            _role(PROD, "ops", "bob"),
            "ec2.amazonaws.com",
            "RunInstances",
            requestParameters={"instanceType": "t3.micro"},
        ),
        _event(
            12,
            DEV,
            {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"},
            "s3.amazonaws.com",
            "GetObject",
            errorCode="AccessDenied",
            errorMessage="Access Denied",
        ),
        _event(
            13,
            PROD,
            _role(PROD, "scanner", "nightly"),
            "ec2.amazonaws.com",
            "DescribeRegions",
            errorCode="Client.UnauthorizedOperation",
            errorMessage="scanner has no access",
        ),
    ]


# Settings the demo runs with: the reference module's names and rule syntax.
DEMO_RULES = "event['eventSource'] == 'iam.amazonaws.com' and event['eventName'] == 'CreateUser'"
DEMO_IGNORE_RULES = "event.get('userIdentity.sessionContext.sessionIssuer.userName') == 'scanner'"
