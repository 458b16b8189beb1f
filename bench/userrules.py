"""~50 user rules and 2 ignore rules of the kind real deployments write, for the bench's rule load.

Most test eventName/eventSource first (the index lets records skip them); some read only the
identity, the source IP or the error code, so they run on every record, as real ones do. A few
match routine corpus events, so alerts come from user rules as well as defaults.
"""

from __future__ import annotations

SEPARATOR = "\x1f"  # rules contain commas, so the deployment sets RULES_SEPARATOR

USER_RULES: tuple[str, ...] = (
    'event["eventSource"] == "iam.amazonaws.com" and event["eventName"] in ["CreateUser", "DeleteUser", "CreateAccessKey", "DeleteAccessKey"]',
    'event["eventName"] == "CreateLoginProfile"',
    'event["eventName"] == "UpdateLoginProfile" and event.get("userIdentity.type") != "Root"',
    'event["eventName"] in ["AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy"] and event.get("requestParameters.policyArn", "").endswith("/AdministratorAccess")',
    'event["eventName"] == "PutRolePolicy" and "%22Action%22%3A%22%2A%22" in event.get("requestParameters.policyDocument", "")',
    'event["eventName"] == "PutUserPolicy"',
    'event["eventName"] == "DeactivateMFADevice"',
    'event["eventName"] == "DeleteVirtualMFADevice"',
    'event["eventName"] == "UpdateAssumeRolePolicy"',
    'event["eventName"] == "CreateSAMLProvider" or event["eventName"] == "UpdateSAMLProvider"',
    'event["eventSource"] == "s3.amazonaws.com" and event["eventName"] in ["PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl"]',
    'event["eventName"] == "PutBucketPublicAccessBlock" or event["eventName"] == "DeleteBucketPublicAccessBlock"',
    'event["eventName"] == "DeleteBucket"',
    'event["eventName"] == "PutBucketLifecycle" and event.get("requestParameters.bucketName", "").startswith("acme-audit")',
    'event["eventName"] == "PutObject" and event.get("requestParameters.bucketName") == "acme-audit-logs"',
    'event["eventSource"] == "ec2.amazonaws.com" and event["eventName"] == "AuthorizeSecurityGroupIngress" and event.get("requestParameters.ipPermissions.items.0.ipRanges.items.0.cidrIp") == "0.0.0.0/0"',
    'event["eventName"] == "CreateKeyPair" or event["eventName"] == "ImportKeyPair"',
    'event["eventName"] in ["CreateVpcPeeringConnection", "AcceptVpcPeeringConnection"]',
    'event["eventName"] == "ModifyInstanceAttribute" and "userData" in str(event.get("requestParameters.userData"))',
    'event["eventName"] == "RunInstances" and event.get("requestParameters.instancesSet.items.0.maxCount", 0) > 20',
    'event["eventName"] == "RunInstances" and event.get("responseElements.instancesSet.items.0.instanceType", "").startswith("p4d")',
    'event["eventName"] in ["DeleteFlowLogs", "DeleteVpc", "DeleteInternetGateway"]',
    'event["eventName"] == "ModifySnapshotAttribute" and event.get("requestParameters.createVolumePermission.add.items.0.group") == "all"',
    'event["eventName"] == "DisableEbsEncryptionByDefault"',
    'event["eventSource"] == "kms.amazonaws.com" and event["eventName"] in ["ScheduleKeyDeletion", "DisableKey", "PutKeyPolicy"]',
    'event["eventSource"] == "secretsmanager.amazonaws.com" and event["eventName"] == "DeleteSecret"',
    'event["eventName"] == "GetSecretValue" and event.get("userIdentity.type") == "IAMUser"',
    'event["eventName"] == "GetParameter" and event.get("requestParameters.name", "").startswith("/prod/root")',
    'event["eventSource"] == "guardduty.amazonaws.com" and event["eventName"] in ["DeleteDetector", "DisassociateFromMasterAccount", "StopMonitoringMembers"]',
    'event["eventSource"] == "config.amazonaws.com" and event["eventName"] in ["StopConfigurationRecorder", "DeleteDeliveryChannel"]',
    'event["eventSource"] == "securityhub.amazonaws.com" and event["eventName"] == "DisableSecurityHub"',
    'event["eventName"] == "PutEventSelectors"',
    'event["eventName"] == "LeaveOrganization" or event["eventName"] == "RemoveAccountFromOrganization"',
    'event["eventSource"] == "organizations.amazonaws.com" and event["eventName"].startswith("Delete")',
    'event["eventName"] == "AssumeRole" and event.get("requestParameters.roleArn", "").endswith(":role/OrganizationAccountAccessRole")',
    'event["eventName"] == "GetFederationToken"',
    'event["eventName"] == "ConsoleLogin" and event.get("responseElements.ConsoleLogin") == "Failure"',
    'event["eventName"] == "ConsoleLogin" and event.get("userIdentity.userName") == "terraform"',
    'event["eventName"] == "SwitchRole" and event.get("additionalEventData.SwitchFrom", "").endswith(":root")',
    'event["eventSource"] == "lambda.amazonaws.com" and event["eventName"].startswith("AddPermission") and event.get("requestParameters.principal") == "*"',
    'event["eventName"].startswith("UpdateFunctionConfiguration") and event.get("responseElements.functionName") == "checkout-api" and event.get("userIdentity.type") == "IAMUser"',
    'event["eventName"] == "UpdateStack" and event.get("requestParameters.stackName") == "app-ci-deployer" and event.get("userIdentity.type") == "IAMUser"',
    'event["eventName"] == "DeleteStack"',
    'event["eventName"] in ["DeleteDBInstance", "DeleteDBCluster", "ModifyDBInstance"] and event.get("requestParameters.publiclyAccessible") is True',
    'event["eventName"] == "DeleteTable" and event["eventSource"] == "dynamodb.amazonaws.com"',
    'event["eventName"] == "DeleteLogGroup"',
    'event.get("userIdentity.arn", "").endswith(":user/break-glass")',
    'event.get("sourceIPAddress", "").startswith("185.220.")',
    'event["awsRegion"] not in ["us-east-1", "eu-west-1", "eu-central-1", "us-west-2"] and event.get("readOnly") is False',
    'event.get("errorCode") == "ThrottlingException" and event.get("userIdentity.userName") == "legacy-backup"',
    'event.get("userIdentity.type") == "IAMUser" and event.get("userIdentity.userName") == "legacy-backup" and event["eventName"].startswith("Put")',
)

IGNORE_RULES: tuple[str, ...] = (
    'event["eventName"] == "Decrypt" and event.get("userIdentity.type") == "AWSService"',
    'event.get("userIdentity.invokedBy") == "config.amazonaws.com" and event.get("errorCode") == "AccessDenied"',
)


def rules_setting() -> str:
    return SEPARATOR.join(USER_RULES)


def ignore_setting() -> str:
    return SEPARATOR.join(IGNORE_RULES)
