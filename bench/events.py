"""CloudTrail records for the bench corpus: routine calls that no default rule matches, and alerting ones.

Every builder takes a `Ctx` (seeded Random, account, region, time) and returns one record shaped
like the real thing: nested identities, request/response elements, resources, TLS details, error
codes. `ROUTINE` never alerts under the default rules; `ALERTING` always does (tests check both),
so the corpus decides its alert rate exactly instead of hoping a random mix lands near it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import identities as ids

AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5 exe/x86_64.amzn.2023 prompt/off command/s3.cp",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.2",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/sts#1.28.4",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3",
    "aws-internal/3 aws-sdk-java/1.12.669 Linux/5.10.210 OpenJDK_64-Bit_Server_VM/25.402-b08",
)
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "us-west-2")


@dataclass
class Ctx:
    rng: random.Random
    account: str
    region: str
    when: str  # eventTime, ISO 8601 UTC
    function_name: str


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _ip(rng: random.Random) -> str:
    return (
        f"{rng.choice((10, 172, 198, 203))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    )


def base(ctx: Ctx, source: str, name: str, identity: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The fields every management event carries, in CloudTrail's order."""
    rng = ctx.rng
    record: dict[str, Any] = {
        "eventVersion": rng.choice(("1.08", "1.09", "1.10")),
        "userIdentity": identity,
        "eventTime": ctx.when,
        "eventSource": source,
        "eventName": name,
        "awsRegion": ctx.region,
        "sourceIPAddress": identity.get("invokedBy") or _ip(rng),
        "userAgent": identity.get("invokedBy") or rng.choice(AGENTS),
        "requestParameters": None,
        "responseElements": None,
        "requestID": _uuid(rng),
        "eventID": _uuid(rng),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ctx.account,
        "eventCategory": "Management",
    }
    if rng.random() < 0.7:
        record["tlsDetails"] = {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{source.split('.')[0]}.{ctx.region}.amazonaws.com",
        }
    record.update(fields)
    return record


def _arn(ctx: Ctx, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{ctx.region}:{ctx.account}:{resource}"


# --- routine: none of these matches a default rule --------------------------------------------------


def kms_decrypt(ctx: Ctx) -> dict[str, Any]:
    rng = ctx.rng
    key = _arn(ctx, "kms", f"key/{_uuid(rng)}")
    identity = ids.aws_service(rng) if rng.random() < 0.6 else ids.app_role(rng, ctx.account, ctx.when)
    return base(
        ctx,
        "kms.amazonaws.com",
        rng.choice(("Decrypt", "GenerateDataKey", "Encrypt")),
        identity,
        requestParameters={
            "encryptionContext": {
                "aws:s3:arn": f"arn:aws:s3:::acme-data-{rng.randrange(40)}/part-{rng.randrange(9999)}"
            },
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "keyId": key,
        },
        resources=[{"accountId": ctx.account, "type": "AWS::KMS::Key", "ARN": key}],
        sharedEventID=_uuid(rng),
    )


def sts_assume_role(ctx: Ctx) -> dict[str, Any]:
    rng = ctx.rng
    role = rng.choice(ids.APP_ROLES)
    identity = ids.aws_service(rng) if rng.random() < 0.5 else ids.app_role(rng, ctx.account, ctx.when)
    session = f"session-{rng.randrange(10**6)}"
    return base(
        ctx,
        "sts.amazonaws.com",
        "AssumeRole",
        identity,
        requestParameters={
            "roleArn": f"arn:aws:iam::{ctx.account}:role/{role}",
            "roleSessionName": session,
            "durationSeconds": 3600,
        },
        responseElements={
            "credentials": {
                "accessKeyId": "ASIA" + f"{rng.getrandbits(64):016X}",
                "sessionToken": f"IQoJb3JpZ2luX2VjE{rng.getrandbits(256):064x}",
                "expiration": "Mar 11, 2024, 10:03:41 AM",
            },
            "assumedRoleUser": {
                "assumedRoleId": f"AROA{rng.getrandbits(64):016X}:{session}",
                "arn": f"arn:aws:sts::{ctx.account}:assumed-role/{role}/{session}",
            },
        },
        resources=[
            {
                "accountId": ctx.account,
                "type": "AWS::IAM::Role",
                "ARN": f"arn:aws:iam::{ctx.account}:role/{role}",
            }
        ],
        sharedEventID=_uuid(rng),
    )


def s3_object(ctx: Ctx) -> dict[str, Any]:
    rng = ctx.rng
    bucket = f"acme-data-{rng.randrange(40)}"
    key = f"year=2024/month=03/part-{rng.randrange(10**5):05d}.snappy.parquet"
    name = rng.choice(("GetObject", "PutObject", "HeadObject"))
    record = base(
        ctx,
        "s3.amazonaws.com",
        name,
        ids.worker(rng, ctx.account, ctx.when),
        requestParameters={"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com", "key": key},
        responseElements=None,
        additionalEventData={
            "SignatureVersion": "SigV4",
            "CipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
            "bytesTransferredIn": 0.0 if name != "PutObject" else float(rng.randrange(10**6)),
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": f"{rng.getrandbits(300):075x}",
            "bytesTransferredOut": float(rng.randrange(10**7)),
        },
        resources=[
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"accountId": ctx.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ],
        readOnly=name != "PutObject",
        managementEvent=False,
        eventCategory="Data",
    )
    if rng.random() < 0.05:
        record["errorCode"], record["errorMessage"] = "NoSuchKey", "The specified key does not exist."
    return record


def s3_anonymous_denied(ctx: Ctx) -> dict[str, Any]:
    """AccessDenied from ANONYMOUS_PRINCIPAL: common internet noise, excluded by the default rule."""
    record = s3_object(ctx)
    record["userIdentity"] = ids.anonymous()
    record["errorCode"], record["errorMessage"] = "AccessDenied", "Access Denied"
    record["sourceIPAddress"] = _ip(ctx.rng)
    return record


def ec2_describe(ctx: Ctx) -> dict[str, Any]:
    rng = ctx.rng
    name = rng.choice(("DescribeInstances", "DescribeVolumes", "DescribeSecurityGroups", "DescribeSubnets"))
    record = base(
        ctx,
        "ec2.amazonaws.com",
        name,
        ids.worker(rng, ctx.account, ctx.when),
        requestParameters={
            "maxResults": 1000,
            "filterSet": {"items": [{"name": "tag:env", "valueSet": {"items": [{"value": "prod"}]}}]},
        },
    )
    if rng.random() < 0.04:
        record["errorCode"] = "Client.RequestLimitExceeded"
        record["errorMessage"] = "Request limit exceeded."
    return record


def ec2_run_instances(ctx: Ctx) -> dict[str, Any]:
    """Large request and response elements: many items, tags, devices, network interfaces."""
    rng = ctx.rng
    count = rng.randrange(1, 8)
    tags = [{"key": f"tag-{n}", "value": f"value-{rng.getrandbits(40):010x}"} for n in range(12)]
    instances = [
        {
            "instanceId": f"i-0{rng.getrandbits(64):016x}",
            "imageId": f"ami-0{rng.getrandbits(64):016x}",
            "instanceState": {"code": 0, "name": "pending"},
            "privateDnsName": f"ip-10-0-{rng.randrange(256)}-{rng.randrange(256)}.ec2.internal",
            "amiLaunchIndex": n,
            "productCodes": {},
            "instanceType": "m6i.large",
            "placement": {"availabilityZone": ctx.region + "a", "tenancy": "default"},
            "monitoring": {"state": "disabled"},
            "subnetId": f"subnet-0{rng.getrandbits(64):016x}",
            "vpcId": f"vpc-0{rng.getrandbits(64):016x}",
            "privateIpAddress": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
            "groupSet": {"items": [{"groupId": f"sg-0{rng.getrandbits(64):016x}", "groupName": "web"}]},
            "tagSet": {"items": tags},
            "blockDeviceMapping": {},
            "networkInterfaceSet": {
                "items": [
                    {
                        "networkInterfaceId": f"eni-0{rng.getrandbits(64):016x}",
                        "macAddress": "0a:1b:2c:3d:4e:5f",
                        "privateIpAddressesSet": {
                            "item": [{"privateIpAddress": "10.0.1.2", "primary": True}]
                        },
                    }
                ]
            },
        }
        for n in range(count)
    ]
    return base(
        ctx,
        "ec2.amazonaws.com",
        "RunInstances",
        ids.app_role(rng, ctx.account, ctx.when, invoked_by="autoscaling.amazonaws.com"),
        requestParameters={
            "instancesSet": {
                "items": [{"imageId": instances[0]["imageId"], "minCount": count, "maxCount": count}]
            },
            "userData": "<sensitiveDataRemoved>",
            "blockDeviceMapping": {
                "items": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100, "volumeType": "gp3"}}]
            },
            "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": tags}]},
            "launchTemplate": {"launchTemplateId": f"lt-0{rng.getrandbits(64):016x}", "version": "7"},
        },
        responseElements={
            "requestId": _uuid(rng),
            "reservationId": f"r-0{rng.getrandbits(64):016x}",
            "ownerId": ctx.account,
            "groupSet": {},
            "instancesSet": {"items": instances},
        },
        readOnly=False,
    )


def iam_policy(ctx: Ctx) -> dict[str, Any]:
    """PutRolePolicy with a policy document of a few KiB (URL-encoded, as CloudTrail logs it)."""
    rng = ctx.rng
    statements = ",".join(
        f"%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%5B%22s3%3AGetObject%22%2C%22s3%3APutObject%22%5D"
        f"%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aacme-data-{n}%2F%2A%22%7D"
        for n in range(rng.randrange(10, 40))
    )
    role = rng.choice(ids.APP_ROLES)
    return base(
        ctx,
        "iam.amazonaws.com",
        "PutRolePolicy",
        ids.app_role(rng, ctx.account, ctx.when),
        requestParameters={
            "roleName": role,
            "policyName": f"{role}-data-access",
            "policyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B"
            + statements
            + "%5D%7D",
        },
        readOnly=False,
        awsRegion="us-east-1",
    )


def iam_read(ctx: Ctx) -> dict[str, Any]:
    rng = ctx.rng
    name = rng.choice(("GetRole", "ListRoles", "ListAttachedRolePolicies", "GetPolicyVersion"))
    record = base(
        ctx,
        "iam.amazonaws.com",
        name,
        ids.worker(rng, ctx.account, ctx.when),
        requestParameters={"roleName": rng.choice(ids.APP_ROLES)} if name != "ListRoles" else None,
        awsRegion="us-east-1",
    )
    if rng.random() < 0.03:
        record["errorCode"] = "NoSuchEntityException"
        record["errorMessage"] = "The role cannot be found."
    return record


def cloudformation(ctx: Ctx) -> dict[str, Any]:
    rng = ctx.rng
    stack = f"app-{rng.choice(ids.APP_ROLES)}"
    params = [
        {"parameterKey": f"Param{n}", "parameterValue": f"v{rng.getrandbits(48):012x}"} for n in range(20)
    ]
    return base(
        ctx,
        "cloudformation.amazonaws.com",
        rng.choice(("UpdateStack", "CreateChangeSet")),
        ids.app_role(rng, ctx.account, ctx.when),
        requestParameters={
            "stackName": stack,
            "templateURL": f"https://s3.amazonaws.com/cf-templates-{ctx.account}/{stack}.yaml",
            "parameters": params,
            "capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            "tags": [{"key": "team", "value": "platform"}],
        },
        responseElements={"stackId": _arn(ctx, "cloudformation", f"stack/{stack}/{_uuid(rng)}")},
        readOnly=False,
    )


def misc_read(ctx: Ctx) -> dict[str, Any]:
    """The long tail: SSM parameters, secrets, DynamoDB, logs, ECR, CloudTrail's own reads."""
    rng = ctx.rng
    source, name, params = rng.choice(
        (
            ("ssm.amazonaws.com", "GetParameter", {"name": "/app/config/db-host", "withDecryption": True}),
            ("secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": "prod/checkout/db"}),
            ("dynamodb.amazonaws.com", "DescribeTable", {"tableName": "orders"}),
            (
                "logs.amazonaws.com",
                "CreateLogStream",
                {"logGroupName": "/aws/lambda/etl", "logStreamName": "x"},
            ),
            ("ecr.amazonaws.com", "GetAuthorizationToken", None),
            ("cloudtrail.amazonaws.com", "DescribeTrails", {"includeShadowTrails": True}),
            ("cloudtrail.amazonaws.com", "LookupEvents", {"maxResults": 50}),
            ("lambda.amazonaws.com", "GetFunction20150331v2", {"functionName": "etl"}),
            ("sts.amazonaws.com", "GetCallerIdentity", None),
        )
    )
    record = base(ctx, source, name, ids.worker(rng, ctx.account, ctx.when), requestParameters=params)
    if rng.random() < 0.05:
        code = rng.choice(("ThrottlingException", "ResourceNotFoundException", "ValidationException"))
        record["errorCode"], record["errorMessage"] = code, "Rate exceeded" if code[0] == "T" else "Not found"
    return record


def lambda_other_update(ctx: Ctx) -> dict[str, Any]:
    """Deploys to other functions: the self-update default rules must not fire."""
    rng = ctx.rng
    name = rng.choice(("UpdateFunctionCode20150331v2", "UpdateFunctionConfiguration20150331v2"))
    function = rng.choice(("etl", "checkout-api", "thumbnails"))
    return base(
        ctx,
        "lambda.amazonaws.com",
        name,
        ids.app_role(rng, ctx.account, ctx.when),
        requestParameters={"functionName": function, "publish": True},
        responseElements={
            "functionName": function,
            "functionArn": _arn(ctx, "lambda", f"function:{function}"),
            "runtime": "python3.12",
            "memorySize": 512,
            "architectures": ["arm64"],
        },
        readOnly=False,
    )


def console_login_ok(ctx: Ctx) -> dict[str, Any]:
    """A console sign-in the default rule accepts: via SSO, or an IAM user with MFA."""
    rng = ctx.rng
    sso = rng.random() < 0.8
    identity = ids.sso_role(rng, ctx.account, ctx.when) if sso else ids.iam_user(rng, ctx.account)
    return base(
        ctx,
        "signin.amazonaws.com",
        "ConsoleLogin",
        identity,
        requestParameters=None,
        responseElements={"ConsoleLogin": "Success"},
        additionalEventData={
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": "No" if sso else "Yes",
        },
        eventType="AwsConsoleSignIn",
        readOnly=False,
        awsRegion="us-east-1",
    )


def root_read(ctx: Ctx) -> dict[str, Any]:
    rng = ctx.rng
    source, name = rng.choice(
        (
            ("s3.amazonaws.com", "ListBuckets"),
            ("iam.amazonaws.com", "GetAccountSummary"),
            ("ce.amazonaws.com", "GetCostAndUsage"),
        )
    )
    return base(ctx, source, name, ids.root(rng, ctx.account))


# --- alerting: each matches exactly one default rule ------------------------------------------------


def console_login_no_mfa(ctx: Ctx) -> dict[str, Any]:
    record = console_login_ok(ctx)
    record["userIdentity"] = ids.iam_user(ctx.rng, ctx.account, "legacy-backup")
    record["additionalEventData"]["MFAUsed"] = "No"
    return record


def unauthorized_operation(ctx: Ctx) -> dict[str, Any]:
    record = ec2_describe(ctx)
    record["eventName"] = ctx.rng.choice(("RunInstances", "TerminateInstances", "CreateVpc"))
    record["errorCode"] = "Client.UnauthorizedOperation"
    record["errorMessage"] = (
        "You are not authorized to perform this operation. Encoded authorization failure message: "
        + (f"{ctx.rng.getrandbits(2048):0512x}")
    )
    return record


def access_denied(ctx: Ctx) -> dict[str, Any]:
    record = misc_read(ctx)
    record["errorCode"] = ctx.rng.choice(("AccessDenied", "AccessDeniedException"))
    record["errorMessage"] = "User is not authorized to perform this action"
    return record


def root_write(ctx: Ctx) -> dict[str, Any]:
    rng = ctx.rng
    source, name = rng.choice(
        (
            ("iam.amazonaws.com", "CreateAccessKey"),
            ("s3.amazonaws.com", "PutBucketPolicy"),
            ("iam.amazonaws.com", "CreateUser"),
        )
    )
    return base(
        ctx, source, name, ids.root(rng, ctx.account), readOnly=False, requestParameters={"userName": "x"}
    )


def cloudtrail_change(ctx: Ctx) -> dict[str, Any]:
    name = ctx.rng.choice(("StopLogging", "UpdateTrail", "DeleteTrail"))
    trail = _arn(ctx, "cloudtrail", "trail/org-trail")
    return base(
        ctx,
        "cloudtrail.amazonaws.com",
        name,
        ids.sso_role(ctx.rng, ctx.account, ctx.when),
        requestParameters={"name": trail},
        readOnly=False,
    )


def self_update(ctx: Ctx) -> dict[str, Any]:
    record = lambda_other_update(ctx)
    record["responseElements"]["functionName"] = ctx.function_name
    record["requestParameters"]["functionName"] = ctx.function_name
    return record


Builder = Callable[[Ctx], dict[str, Any]]

# (builder, weight): roughly the mix of a busy production account.
ROUTINE: tuple[tuple[Builder, float], ...] = (
    (kms_decrypt, 22),
    (sts_assume_role, 18),
    (s3_object, 20),
    (ec2_describe, 12),
    (misc_read, 14),
    (iam_read, 5),
    (s3_anonymous_denied, 1.5),
    (ec2_run_instances, 1.5),
    (iam_policy, 1),
    (cloudformation, 1.5),
    (lambda_other_update, 1.5),
    (console_login_ok, 1.5),
    (root_read, 0.5),
)
ALERTING: tuple[tuple[Builder, float], ...] = (
    (access_denied, 4),
    (unauthorized_operation, 2),
    (console_login_no_mfa, 1),
    (root_write, 1),
    (cloudtrail_change, 1),
    (self_update, 1),
)
