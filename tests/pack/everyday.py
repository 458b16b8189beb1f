"""Everyday CloudTrail activity in the services the detection pack watches, deterministic by seed.

The bench corpus (bench/corpus.py) is everyday activity in general; these are the ordinary
neighbours of the pack's detections: scaled-out services reading secrets, single admin SSM
sessions, patch runs, web security groups, bucket policies for own roles, CI deploys, AMIs shared
within the organization; and the ordinary side of the categories pack v2 watches: infrastructure-as-code
deploys (Terraform's user agent, CloudFormation), AWS service principals (Backup, Data Lifecycle
Manager, Auto Scaling), backup jobs, console reads, security tooling housekeeping, KMS grants to AWS
services, short MFA session tokens. One event in ALERT_EVERY is an access-denied error (what the default
rules alert on in real accounts), so the default rules' rate is ~1/ALERT_EVERY here too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

ACCOUNT = "111122223333"
ALERT_EVERY = 200
START = datetime(2024, 8, 1, tzinfo=UTC)
TERRAFORM_AGENT = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.64.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.4 os/linux lang/go#1.22.6"
)
SDK_AGENT = "Boto3/1.34.162 md/Botocore#1.34.162 ua/2.0 os/linux#6.1.102 md/arch#x86_64 lang/python#3.12.5"
PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")

Event = dict[str, Any]


def _role(name: str, session: str) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{session}",
        "accountId": ACCOUNT,
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCOUNT}:role/{name}"}},
    }


def _sso(rng: random.Random) -> dict[str, Any]:
    return _role("AWSReservedSSO_AdministratorAccess_0123456789abcdef", f"{rng.choice(PEOPLE)}@example.com")


def _user(name: str) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "accountId": ACCOUNT,
        "userName": name,
    }


def _agent(identity: dict[str, Any]) -> str:
    """Terraform's user agent for the terraform role (real Terraform sends it), an SDK's otherwise."""
    if identity.get("invokedBy"):
        return str(identity["invokedBy"])
    issuer = identity.get("sessionContext", {}).get("sessionIssuer", {}).get("arn", "")
    return TERRAFORM_AGENT if issuer.endswith(":role/terraform") else SDK_AGENT


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _event(
    rng: random.Random, source: str, name: str, identity: dict[str, Any], params: Any = None, **extra: Any
) -> Event:
    return {
        "eventSource": source,
        "eventName": name,
        "userIdentity": identity,
        "sourceIPAddress": _ip(rng),
        "userAgent": _agent(identity),
        "awsRegion": "us-east-1",
        "requestParameters": params,
        "responseElements": extra.pop("response", None),
        "recipientAccountId": ACCOUNT,
        **extra,
    }


def secret_read(rng: random.Random) -> Event:
    service = rng.choice(("checkout-api", "ingest-worker", "reports"))
    return _event(
        rng,
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        _role(service, service),
        {"secretId": f"prod/{service}/db"},
    )


def parameter_read(rng: random.Random) -> Event:
    service = rng.choice(("etl", "thumbnails", "checkout-api"))
    params = {"name": f"/{service}/prod/api-key", "withDecryption": True}
    return _event(
        rng,
        "ssm.amazonaws.com",
        rng.choice(("GetParameter", "GetParameters")),
        _role(service, service),
        params,
    )


def admin_session(rng: random.Random) -> Event:
    return _event(
        rng,
        "ssm.amazonaws.com",
        "StartSession",
        _sso(rng),
        {"target": f"i-0{rng.getrandbits(64):016x}"},
        response={"sessionId": "s"},
    )


def patch_run(rng: random.Random) -> Event:
    params = {"documentName": "AWS-RunPatchBaseline", "instanceIds": ["i-0a1b2c3d4e5f60718"]}
    return _event(rng, "ssm.amazonaws.com", "SendCommand", _role("patch-automation", "patching"), params)


def scale_out(rng: random.Random) -> Event:
    params = {"instanceType": rng.choice(("m6i.large", "t3.medium", "c7g.xlarge", "r6i.2xlarge"))}
    return _event(rng, "ec2.amazonaws.com", "RunInstances", _role("autoscaling", "AutoScaling"), params)


def web_ingress(rng: random.Random) -> Event:
    port, cidr = rng.choice(
        ((443, "0.0.0.0/0"), (80, "0.0.0.0/0"), (22, "198.51.100.0/24"), (5432, "10.0.0.0/8"))
    )
    item = {"cidrIpv4": cidr, "fromPort": port, "toPort": port, "ipProtocol": "tcp", "isEgress": False}
    return _event(
        rng,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        _role("terraform", "ci"),
        {"groupId": "sg-1"},
        response={"_return": True, "securityGroupRuleSet": {"items": [item]}},
    )


def bucket_policy(rng: random.Random) -> Event:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/etl"},
        "Action": "s3:GetObject",
    }
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    params = {
        "bucketName": "acme-data",
        "bucketPolicy": {"Version": "2012-10-17", "Statement": [deny, statement]},
    }
    return _event(rng, "s3.amazonaws.com", "PutBucketPolicy", _role("terraform", "ci"), params)


def deploy(rng: random.Random) -> Event:
    name = rng.choice(("UpdateFunctionCode20150331v2", "UpdateFunctionConfiguration20150331v2"))
    params = {"functionName": "etl", "layers": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:shared:4"]}
    return _event(rng, "lambda.amazonaws.com", name, _role("ci-deployer", "github-actions"), params)


def service_permission(rng: random.Random) -> Event:
    params = {
        "functionName": "thumbnails",
        "principal": rng.choice(("s3.amazonaws.com", "events.amazonaws.com")),
    }
    return _event(rng, "lambda.amazonaws.com", "AddPermission20150331v2", _role("terraform", "ci"), params)


def org_ami_share(rng: random.Random) -> Event:
    org = {"organizationArn": f"arn:aws:organizations::{ACCOUNT}:organization/o-example"}
    params = {"imageId": "ami-1", "launchPermission": {"add": {"items": [org]}}}
    return _event(rng, "ec2.amazonaws.com", "ModifyImageAttribute", _role("image-builder", "build"), params)


def own_access_key(rng: random.Random) -> Event:
    name = rng.choice(PEOPLE)
    return _event(rng, "iam.amazonaws.com", "CreateAccessKey", _user(name), None)


def sso_login(rng: random.Random) -> Event:
    return _event(
        rng,
        "signin.amazonaws.com",
        "ConsoleLogin",
        _sso(rng),
        None,
        response={"ConsoleLogin": "Success"},
        additionalEventData={"MFAUsed": "No"},
    )


def iam_housekeeping(rng: random.Random) -> Event:
    name, params = rng.choice(
        (
            ("AttachRolePolicy", {"roleName": "etl", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
            (
                "CreateRole",
                {
                    "roleName": "etl",
                    "assumeRolePolicyDocument": '{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
                },
            ),
            ("GetSessionToken", {"durationSeconds": 43200}),
        )
    )
    source = "sts.amazonaws.com" if name == "GetSessionToken" else "iam.amazonaws.com"
    return _event(
        rng,
        source,
        name,
        _role("terraform", "ci") if source != "sts.amazonaws.com" else _user("alice"),
        params,
    )


def reads(rng: random.Random) -> Event:
    name, params = rng.choice(
        (
            ("DescribeInstanceAttribute", {"instanceId": "i-1", "attribute": "instanceType"}),
            ("DescribeInstances", {"maxResults": 1000}),
            ("DescribeFlowLogs", None),
        )
    )
    return _event(rng, "ec2.amazonaws.com", name, _role("inventory", "i-0a1b2c3d4e5f60718"), params)


def _service_role(name: str, service: str) -> dict[str, Any]:
    return {**_role(name, name), "invokedBy": service}


def infrastructure_as_code(rng: random.Random) -> Event:
    """Terraform and CloudFormation changing what pack v2 alerts on when a person does it."""
    tf = _role("terraform", "ci")
    cfn = _service_role("cfn-deploy", "cloudformation.amazonaws.com")
    trust = '{"Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    source, name, who, params = rng.choice(
        (
            ("iam.amazonaws.com", "CreateRole", tf, {"roleName": "svc", "assumeRolePolicyDocument": trust}),
            ("iam.amazonaws.com", "CreateUser", tf, {"userName": "ci-reader"}),
            ("iam.amazonaws.com", "AddUserToGroup", tf, {"groupName": "Admins", "userName": "oncall"}),
            ("ec2.amazonaws.com", "AttachInternetGateway", tf, {"internetGatewayId": "igw-1", "vpcId": "vpc-1"}),
            ("ec2.amazonaws.com", "CreateRoute", cfn, {"routeTableId": "rtb-1", "destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}),
            (
                "ec2.amazonaws.com",
                "CreateNetworkAclEntry",
                tf,
                {"networkAclId": "acl-1", "ruleNumber": 100, "egress": True, "ruleAction": "allow", "aclProtocol": "-1", "cidrBlock": "0.0.0.0/0"},
            ),
            ("config.amazonaws.com", "DeleteConfigRule", cfn, {"configRuleName": "old-rule"}),
            ("organizations.amazonaws.com", "DetachPolicy", tf, {"policyId": "p-1", "targetId": "ou-1"}),
            ("rds.amazonaws.com", "DeleteDBInstance", cfn, {"dBInstanceIdentifier": "pr-123", "skipFinalSnapshot": True}),
            ("wafv2.amazonaws.com", "DeleteWebACL", tf, {"name": "preview", "scope": "REGIONAL", "id": "1"}),
            ("lambda.amazonaws.com", "CreateFunctionUrlConfig20211031", tf, {"functionName": "webhook", "authType": "NONE"}),
            ("s3.amazonaws.com", "PutBucketPublicAccessBlock", tf, {"bucketName": "acme-data", "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}}),
            ("s3.amazonaws.com", "PutBucketVersioning", tf, {"bucketName": "acme-data", "VersioningConfiguration": {"Status": "Enabled"}}),
            ("s3.amazonaws.com", "PutBucketLogging", tf, {"bucketName": "acme-data", "BucketLoggingStatus": {"LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "acme-data/"}}}),
        )
    )  # fmt: skip
    return _event(rng, source, name, who, params)


def aws_services(rng: random.Random) -> Event:
    """Backup jobs, lifecycle managers and scaling acting as themselves or through their roles."""
    backup = {"type": "AWSService", "invokedBy": "backup.amazonaws.com"}
    dlm = _service_role("AWSDataLifecycleManagerDefaultRole", "dlm.amazonaws.com")
    scaling = _service_role("AWSServiceRoleForAutoScaling", "autoscaling.amazonaws.com")
    source, name, who, params = rng.choice(
        (
            ("backup.amazonaws.com", "DeleteRecoveryPoint", backup, {"backupVaultName": "prod", "recoveryPointArn": "arn:aws:ec2:us-east-1::snapshot/snap-1"}),
            ("ec2.amazonaws.com", "DeleteSnapshot", dlm, {"snapshotId": f"snap-{rng.getrandbits(32):08x}"}),
            ("rds.amazonaws.com", "DeleteDBSnapshot", _service_role("AWSBackupDefaultServiceRole", "backup.amazonaws.com"), {"dBSnapshotIdentifier": "awsbackup:job-1"}),
            ("ec2.amazonaws.com", "TerminateInstances", scaling, {"instancesSet": {"items": [{"instanceId": "i-1"}, {"instanceId": "i-2"}]}}),
            ("kms.amazonaws.com", "CreateGrant", _role("ebs-csi", "node"), {"keyId": "k", "granteePrincipal": f"arn:aws:iam::{ACCOUNT}:role/ebs-csi", "operations": ["Decrypt"]}),
            ("kms.amazonaws.com", "Decrypt", {"type": "AWSService", "invokedBy": "secretsmanager.amazonaws.com"}, None),
        )
    )  # fmt: skip
    return _event(rng, source, name, who, params)


def console_reads(rng: random.Random) -> Event:
    """People reading in the console: reads, so ClickOps stays quiet."""
    source, name = rng.choice(
        (
            ("ec2.amazonaws.com", "DescribeInstances"),
            ("guardduty.amazonaws.com", "ListFindings"),
            ("securityhub.amazonaws.com", "GetFindings"),
            ("s3.amazonaws.com", "ListBuckets"),
            ("rds.amazonaws.com", "DescribeDBInstances"),
        )
    )
    event = _event(rng, source, name, _sso(rng), None, readOnly=True, sessionCredentialFromConsole="true")
    event["userAgent"] = "AWS Internal"
    return event


def security_housekeeping(rng: random.Random) -> Event:
    """The security team's own routine: resolving findings, filters that only save a view, MFA sessions."""
    source, name, who, params = rng.choice(
        (
            ("securityhub.amazonaws.com", "BatchUpdateFindings", _sso(rng), {"FindingIdentifiers": [{"Id": "f-1"}], "Workflow": {"Status": "RESOLVED"}}),
            ("guardduty.amazonaws.com", "CreateFilter", _sso(rng), {"detectorId": "d", "name": "high", "action": "NOOP"}),
            ("guardduty.amazonaws.com", "UpdateDetector", _role("terraform", "ci"), {"detectorId": "d", "findingPublishingFrequency": "FIFTEEN_MINUTES"}),
            ("sts.amazonaws.com", "GetSessionToken", _user(rng.choice(PEOPLE)), {"durationSeconds": 3600, "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/x"}),
            ("rds.amazonaws.com", "ModifyDBInstance", _role("terraform", "ci"), {"dBInstanceIdentifier": "orders", "dBInstanceClass": "db.r6g.large"}),
            ("ssm.amazonaws.com", "GetParameters", _role("etl", "etl"), {"names": ["/etl/prod/a", "/etl/prod/b"], "withDecryption": True}),
        )
    )  # fmt: skip
    return _event(rng, source, name, who, params)


def access_denied(rng: random.Random) -> Event:
    event = _event(
        rng, "s3.amazonaws.com", "GetObject", _role("reports", "reports"), {"bucketName": "acme-data"}
    )
    event["errorCode"] = "AccessDenied"
    return event


ORDINARY: tuple[tuple[Callable[[random.Random], Event], float], ...] = (
    (secret_read, 20),
    (parameter_read, 20),
    (reads, 20),
    (scale_out, 6),
    (deploy, 6),
    (admin_session, 1),
    (web_ingress, 4),
    (patch_run, 4),
    (sso_login, 4),
    (iam_housekeeping, 4),
    (bucket_policy, 2),
    (service_permission, 2),
    (org_ami_share, 2),
    (own_access_key, 2),
    (infrastructure_as_code, 6),
    (aws_services, 6),
    (console_reads, 6),
    (security_housekeeping, 4),
)


def everyday_events(count: int, seed: int) -> Iterator[Event]:
    """`count` events, one second apart, exactly one access-denied error per ALERT_EVERY."""
    rng = random.Random(seed)
    builders, weights = zip(*ORDINARY, strict=True)
    when = START
    alert_at = 0
    for position in range(count):
        if position % ALERT_EVERY == 0:
            alert_at = rng.randrange(ALERT_EVERY)
        builder = access_denied if position % ALERT_EVERY == alert_at else rng.choices(builders, weights)[0]
        event = builder(rng)
        event["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        when += timedelta(seconds=1)
        yield event
