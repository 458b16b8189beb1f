"""`make deploy`: package, upload, create or update the stack through a change set, print the outputs.

Works against real AWS with the usual credential chain, and against a local endpoint (moto, LocalStack)
when AWS_ENDPOINT_URL is set. Settings: see infra/deploy.env.example and the README's Deploy section.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra import package
from infra.config import check_parameters, merged_settings, stack_parameters
from infra.template import TEMPLATE_PATH, load_template

DEFAULT_STACK_NAME = "trailalert"
TEMPLATE_BODY_LIMIT = 51_200  # bytes CloudFormation accepts inline; ours is well below
_FAILED = ("FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE")


class DeployError(RuntimeError):
    """The deployment did not reach a good state; the message says which step and why."""


class Clients:
    """boto3 clients for one region, profile and endpoint, all taken from deploy.env or the environment.

    The endpoint is passed explicitly so a local endpoint (AWS_ENDPOINT_URL) works even with botocore
    versions that do not read that variable, and when it is set only in deploy.env.
    """

    def __init__(self, settings: Mapping[str, str], region: str) -> None:
        self._session = boto3.Session(profile_name=settings.get("AWS_PROFILE") or None, region_name=region)
        self._endpoint = settings.get("AWS_ENDPOINT_URL") or None

    def __call__(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._endpoint)


def ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    """Create the private, encrypted artifact bucket unless it exists."""
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    create: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def upload(s3: Any, bucket: str, stack: str, zip_path: Path) -> str:
    """Upload under a content hash, so a code change is a parameter change and updates the function."""
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    key = f"{stack}/trailalert-lambda-{digest[:20]}.zip"
    s3.upload_file(str(zip_path), bucket, key)
    return key


def stack_status(cfn: Any, stack: str) -> str | None:
    try:
        return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except ClientError as exc:
        if "does not exist" in exc.response["Error"]["Message"]:
            return None
        raise


def wait_for(read_status: Any, done: tuple[str, ...], poll: float, timeout: float, what: str) -> str:
    """Poll until a terminal status; raise DeployError on a failed one."""
    deadline = time.monotonic() + timeout
    while True:
        status = read_status()
        if status in done:
            return status
        if status.endswith(_FAILED) or status in _FAILED:
            raise DeployError(f"{what} ended in {status}")
        if time.monotonic() > deadline:
            raise DeployError(f"{what} still {status} after {timeout:.0f}s")
        time.sleep(poll)


def apply_change_set(
    cfn: Any, stack: str, template_body: str, parameters: Mapping[str, str], poll: float, timeout: float
) -> bool:
    """Create or update through a change set. Returns False when there was nothing to change."""
    status = stack_status(cfn, stack)
    change_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    if status == "ROLLBACK_COMPLETE":
        raise DeployError(f"stack {stack} is in ROLLBACK_COMPLETE after a failed create: delete it first")
    name = f"trailalert-{int(time.time())}"
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=change_type,
        TemplateBody=template_body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())],
        Capabilities=["CAPABILITY_IAM"],
        Tags=[{"Key": "app", "Value": "trailalert"}],
    )

    def change_set_status() -> str:
        described = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        if described["Status"] == "FAILED":
            reason = described.get("StatusReason", "")
            if "didn't contain changes" in reason or "No updates" in reason:
                return "NO_CHANGES"
            raise DeployError(f"change set failed: {reason}")
        return described["Status"]

    ready = wait_for(change_set_status, ("CREATE_COMPLETE", "NO_CHANGES"), poll, timeout, "change set")
    if ready == "NO_CHANGES":
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        return False
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    target = "CREATE_COMPLETE" if change_type == "CREATE" else "UPDATE_COMPLETE"
    wait_for(lambda: stack_status(cfn, stack) or "MISSING", (target,), poll, timeout, f"stack {stack}")
    return True


def stack_outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def deploy(
    settings: Mapping[str, str], zip_path: Path | None, poll: float = 5.0, timeout: float = 1800.0
) -> dict[str, str]:
    """The whole `make deploy`; returns the stack outputs."""
    region = settings.get("AWS_REGION") or settings.get("AWS_DEFAULT_REGION") or "us-east-1"
    stack = settings.get("TRAILALERT_STACK_NAME") or DEFAULT_STACK_NAME
    template = load_template()
    parameters = stack_parameters(template, settings)
    check_parameters(template, parameters)
    if zip_path is None:
        zip_path = package.DEFAULT_OUTPUT
        architecture = parameters.get("LambdaArchitecture", "x86_64")
        print(f"packaging for {architecture} -> {zip_path}", file=sys.stderr)
        package.build(zip_path, architecture=architecture)
    if not zip_path.is_file():
        raise DeployError(f"no Lambda zip at {zip_path}")

    client = Clients(settings, region)
    account = client("sts").get_caller_identity()["Account"]
    bucket = settings.get("TRAILALERT_ARTIFACT_BUCKET") or f"trailalert-artifacts-{account}-{region}"
    s3 = client("s3")
    ensure_bucket(s3, bucket, region)
    parameters["CodeS3Bucket"] = bucket
    parameters["CodeS3Key"] = upload(s3, bucket, stack, zip_path)

    body = TEMPLATE_PATH.read_text(encoding="utf-8")
    if len(body.encode()) > TEMPLATE_BODY_LIMIT:
        raise DeployError("template exceeds the inline size limit; upload it to S3 and use TemplateURL")
    cfn = client("cloudformation")
    changed = apply_change_set(cfn, stack, body, parameters, poll, timeout)
    print(f"stack {stack} {'deployed' if changed else 'unchanged'} in {region}", file=sys.stderr)
    return stack_outputs(cfn, stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deploy trailalert with CloudFormation.")
    parser.add_argument(
        "--env-file", type=Path, default=Path(os.environ.get("TRAILALERT_ENV_FILE", "deploy.env"))
    )
    prebuilt = os.environ.get("TRAILALERT_LAMBDA_ZIP")
    parser.add_argument(
        "--zip",
        type=Path,
        default=Path(prebuilt) if prebuilt else None,
        help="deploy this prebuilt zip instead of running the packaging step",
    )
    parser.add_argument("--poll-seconds", type=float, default=5.0)
    parser.add_argument("--timeout-seconds", type=float, default=1800.0)
    args = parser.parse_args(argv)
    settings = merged_settings(args.env_file, os.environ)
    try:
        outputs = deploy(settings, args.zip, args.poll_seconds, args.timeout_seconds)
    except (DeployError, ValueError, ClientError) as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 1
    for key in sorted(outputs):
        print(f"{key}={outputs[key]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
