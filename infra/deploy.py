"""`make deploy`: check, package, upload, review a change set, execute it, print the outputs.

Every setting is checked before anything touches AWS (infra/preflight.py: the processor's own
cold-start code); the change set is printed (resources added, modified, replaced, removed) and
executed only after a yes at the terminal, or with --yes. AWS errors are one line with the fix.
Works against real AWS with the usual credential chain, and against a local endpoint (moto,
LocalStack) when AWS_ENDPOINT_URL is set. Settings: docs/deploy.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.parsers import ResponseParserError

from infra import package
from infra.config import AWS_SETTINGS, gather_settings
from infra.preflight import Preflight, Problems, preflight
from infra.template import TEMPLATE_PATH, load_template

DEFAULT_STACK_NAME = "trailalert"
# CloudFormation takes at most 51,200 bytes inline (TemplateBody); the template with the triage and
# backfill resources is larger, so it is always uploaded beside the code and passed as TemplateURL
# (up to 1 MB). One way for every size: a template that grows past the limit changes nothing.
TEMPLATE_BODY_LIMIT = 51_200
TEMPLATE_URL_LIMIT = 1_000_000
_FAILED = ("FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE")
_ACTIONS = {
    "Add": "+ add",
    "Modify": "~ modify",
    "Remove": "- remove",
    "Import": "> import",
    "Dynamic": "? dynamic",
}


class DeployError(RuntimeError):
    """The deployment did not reach a good state; the message says which step and why."""


class NotConfirmed(DeployError):
    """The change set was made and shown, but nobody said yes."""


class Clients:
    """boto3 clients for one region, profile and endpoint, all taken from deploy.env or the environment.

    The endpoint is passed explicitly so a local endpoint (AWS_ENDPOINT_URL) works even with botocore
    versions that do not read that variable, and when it is set only in deploy.env.
    """

    def __init__(self, settings: Mapping[str, str], region: str) -> None:
        self._session = boto3.Session(profile_name=settings.get("AWS_PROFILE") or None, region_name=region)
        self._endpoint = settings.get("AWS_ENDPOINT_URL") or None
        # An unreachable endpoint fails in seconds, not after minutes of retries.
        self._config = Config(
            connect_timeout=10, read_timeout=60, retries={"mode": "standard", "max_attempts": 3}
        )

    def __call__(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._endpoint, config=self._config)


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


def upload_template(s3: Any, bucket: str, stack: str, body: str, region: str) -> str:
    """The template in the artifact bucket under its content hash; its URL for TemplateURL."""
    data = body.encode()
    key = f"{stack}/template-{hashlib.sha256(data).hexdigest()[:20]}.yaml"
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/yaml")
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.s3.{region}.{domain}/{key}"


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


def create_change_set(
    cfn: Any, stack: str, template_url: str, parameters: Mapping[str, str], poll: float, timeout: float
) -> tuple[str, str] | None:
    """Create a change set and wait until it is ready; (name, CREATE|UPDATE), or None when nothing changes."""
    status = stack_status(cfn, stack)
    if status == "ROLLBACK_COMPLETE":
        raise DeployError(f"stack {stack} is in ROLLBACK_COMPLETE after a failed create: delete it first")
    change_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    name = f"trailalert-{int(time.time())}"
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=change_type,
        TemplateURL=template_url,
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
        return None
    return name, change_type


def describe_changes(cfn: Any, stack: str, name: str, parameters: Mapping[str, str]) -> list[str]:
    """The change set as lines a reviewer reads: each resource's action, and the parameters that change."""
    lines = []
    described = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
    for change in described.get("Changes", []):
        resource = change.get("ResourceChange", {})
        action = resource.get("Action", "?")
        shown = _ACTIONS.get(action, action)
        replacement = resource.get("Replacement")
        if action == "Modify" and replacement == "True":
            shown = "! replace"
        elif action == "Modify" and replacement == "Conditional":
            shown = "~ modify (may replace)"
        lines.append(
            f"  {shown:<24}{resource.get('LogicalResourceId', '?'):<28}{resource.get('ResourceType', '')}"
        )
    previous = _current_parameters(cfn, stack)
    for key in sorted(parameters):
        if key in previous and previous[key] != parameters[key]:
            lines.append(f"  parameter {key}: {_short(previous[key])} -> {_short(parameters[key])}")
    return lines


def _current_parameters(cfn: Any, stack: str) -> dict[str, str]:
    try:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError:
        return {}
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}


def _short(value: str, width: int = 60) -> str:
    return repr(value if len(value) <= width else value[: width - 1] + "…")


def discard_change_set(cfn: Any, stack: str, name: str, change_type: str) -> None:
    """Leave nothing behind: the change set, and the empty stack a CREATE change set made."""
    cfn.delete_change_set(StackName=stack, ChangeSetName=name)
    if change_type == "CREATE" and stack_status(cfn, stack) == "REVIEW_IN_PROGRESS":
        cfn.delete_stack(StackName=stack)


def execute_change_set(
    cfn: Any, stack: str, name: str, change_type: str, poll: float, timeout: float
) -> None:
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    target = "CREATE_COMPLETE" if change_type == "CREATE" else "UPDATE_COMPLETE"
    wait_for(lambda: stack_status(cfn, stack) or "MISSING", (target,), poll, timeout, f"stack {stack}")


def store_secrets(ssm: Any, checked: Preflight) -> None:
    """The plaintext secrets of deploy.env as SSM SecureString parameters (--store-secrets)."""
    for plain, (name, value) in sorted(checked.secrets.items()):
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        print(f"stored {plain} as the SSM SecureString parameter {name}", file=sys.stderr)


def stack_outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def deploy(
    settings: Mapping[str, str],
    zip_path: Path | None,
    *,
    confirm: Callable[[], bool],
    store_secrets_as_parameters: bool = False,
    poll: float = 5.0,
    timeout: float = 1800.0,
    out: TextIO = sys.stderr,
) -> dict[str, str]:
    """The whole `make deploy`; returns the stack outputs. Raises Problems before any AWS call."""
    region = settings.get("AWS_REGION") or settings.get("AWS_DEFAULT_REGION") or "us-east-1"
    stack = settings.get("TRAILALERT_STACK_NAME") or DEFAULT_STACK_NAME
    template = load_template()
    checked = preflight(
        template, settings, stack=stack, region=region, store_secrets=store_secrets_as_parameters
    )
    parameters = checked.parameters
    for note in checked.forwarding.reasons:
        print(f"note: {note}", file=out)
    architecture, runtime = parameters["LambdaArchitecture"], parameters["LambdaRuntime"]
    if zip_path is not None:
        problem = package.zip_problem(zip_path, architecture, runtime)
        if problem is not None:
            raise Problems([f"TRAILALERT_LAMBDA_ZIP: {problem}"])
    body = TEMPLATE_PATH.read_text(encoding="utf-8")
    if len(body.encode()) > TEMPLATE_URL_LIMIT:
        raise DeployError(f"the template is over CloudFormation's {TEMPLATE_URL_LIMIT:,} bytes, even from S3")

    client = Clients(settings, region)
    account = client("sts").get_caller_identity()["Account"]  # the first AWS call: credentials work
    if zip_path is None:
        zip_path = package.DEFAULT_OUTPUT
        print(f"packaging for {architecture} -> {zip_path}", file=out)
        package.build(zip_path, architecture=architecture)
    bucket = settings.get("TRAILALERT_ARTIFACT_BUCKET") or f"trailalert-artifacts-{account}-{region}"
    s3 = client("s3")
    ensure_bucket(s3, bucket, region)
    parameters["CodeS3Bucket"] = bucket
    parameters["CodeS3Key"] = upload(s3, bucket, stack, zip_path)
    template_url = upload_template(s3, bucket, stack, body, region)

    cfn = client("cloudformation")
    made = create_change_set(cfn, stack, template_url, parameters, poll, timeout)
    if made is None:
        print(f"stack {stack} unchanged in {region}", file=out)
        return stack_outputs(cfn, stack)
    name, change_type = made
    print(f"change set {name} ({change_type} of stack {stack} in {region}, account {account}):", file=out)
    for line in describe_changes(cfn, stack, name, parameters):
        print(line, file=out)
    if not confirm():
        discard_change_set(cfn, stack, name, change_type)
        raise NotConfirmed(
            f"change set {name} was not executed (and is deleted): review the changes above, then run "
            f"again with --yes (make deploy DEPLOY_ARGS=--yes) or answer y at a terminal"
        )
    store_secrets(client("ssm"), checked)
    execute_change_set(cfn, stack, name, change_type, poll, timeout)
    print(f"stack {stack} deployed in {region}", file=out)
    return stack_outputs(cfn, stack)


def explain(exc: BaseException, settings: Mapping[str, str]) -> str:
    """One line: what failed and how to fix it, for the errors a deploy meets most."""
    endpoint = settings.get("AWS_ENDPOINT_URL") or "AWS"
    profile = settings.get("AWS_PROFILE")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE (in deploy.env or the environment), run "
            "`aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(exc, CredentialRetrievalError):
        return f"could not get AWS credentials ({exc}): check AWS_PROFILE and its credential source"
    if isinstance(exc, ProfileNotFound):
        return f"AWS_PROFILE={profile} is not in your AWS config: fix the name or run `aws configure sso`"
    if isinstance(exc, SSOError | TokenRetrievalError):
        return f"the SSO session expired or is missing: run `aws sso login{f' --profile {profile}' if profile else ''}`"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return (
            f"cannot reach {endpoint} ({exc}): check AWS_ENDPOINT_URL, AWS_REGION and your network"
            if settings.get("AWS_ENDPOINT_URL")
            else f"cannot reach AWS ({exc}): check AWS_REGION and your network"
        )
    if isinstance(exc, ResponseParserError):
        return f"{endpoint} answered with something that is not an AWS response: check AWS_ENDPOINT_URL"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        operation = exc.operation_name
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return f"{operation}: your AWS credentials expired: refresh them (aws sso login, or new keys)"
        if code in ("InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch"):
            return (
                f"{operation}: AWS does not accept these credentials ({code}): check AWS_PROFILE or your keys"
            )
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return f"{operation}: access denied ({message}): the deploying identity needs this permission"
        return f"{operation} failed: {code}: {message}"
    return f"{type(exc).__name__}: {exc}"


def _ask() -> bool:
    """Yes at a terminal; never without one (CI passes --yes)."""
    if not sys.stdin.isatty():
        return False
    answer = input("Execute this change set? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def build_parser() -> argparse.ArgumentParser:
    """The flags of `make deploy` (DEPLOY_ARGS); docs/deploy.md lists each."""
    parser = argparse.ArgumentParser(description="Deploy trailalert with CloudFormation (docs/deploy.md).")
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(os.environ.get("TRAILALERT_ENV_FILE", "deploy.env")),
        help="settings file (default deploy.env; TRAILALERT_ENV_FILE)",
    )
    parser.add_argument(
        "--no-env-file",
        action="store_true",
        help="take the settings from the environment alone (without it, a missing env file is an error)",
    )
    prebuilt = os.environ.get("TRAILALERT_LAMBDA_ZIP")
    parser.add_argument(
        "--zip",
        type=Path,
        default=Path(prebuilt) if prebuilt else None,
        help="deploy this prebuilt zip instead of running the packaging step",
    )
    parser.add_argument("--yes", action="store_true", help="execute the change set without asking")
    parser.add_argument(
        "--store-secrets",
        action="store_true",
        help="store SLACK_BOT_TOKEN, HOOK_URL and CONFIGURATION as SSM SecureString parameters and deploy the references",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    parser.add_argument("--poll-seconds", type=float, default=5.0)
    parser.add_argument("--timeout-seconds", type=float, default=1800.0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    settings: dict[str, str] = {}
    try:
        env_file = None if args.no_env_file else args.env_file
        if env_file is not None and not env_file.is_file():
            raise Problems(
                [
                    f"{env_file} not found: copy infra/deploy.env.example to {env_file} and edit it, "
                    f"or pass --no-env-file (make deploy DEPLOY_ARGS=--no-env-file) to take the settings "
                    f"from the environment alone"
                ]
            )
        settings, problems = gather_settings(env_file, os.environ, load_template())
        if problems:
            raise Problems(problems)
        # Every boto3 client, the processor's rule-file reader included, sees deploy.env's AWS settings.
        os.environ.update({name: settings[name] for name in AWS_SETTINGS if settings.get(name)})
        outputs = deploy(
            settings,
            args.zip,
            confirm=(lambda: True) if args.yes else _ask,
            store_secrets_as_parameters=args.store_secrets,
            poll=args.poll_seconds,
            timeout=args.timeout_seconds,
        )
    except Problems as exc:
        for problem in exc.problems:
            print(f"deploy: {problem}", file=sys.stderr)
        print(f"deploy failed: {len(exc.problems)} problem(s); nothing was deployed", file=sys.stderr)
        return 1
    except (DeployError, ValueError) as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError, ResponseParserError) as exc:
        print(f"deploy failed: {explain(exc, settings)}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(f"deploy failed: {type(exc).__name__}: {exc} (--debug shows where)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("deploy interrupted", file=sys.stderr)
        return 130
    for key in sorted(outputs):
        print(f"{key}={outputs[key]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
