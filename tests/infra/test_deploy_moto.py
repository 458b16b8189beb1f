"""`make deploy` against moto's server: the real template, script and boto3 calls, asserted by describe calls.

moto's CloudFormation does not create AWS::CloudWatch::Alarm or AWS::Events::EventBusPolicy (it logs
"No Moto CloudFormation support") and keeps `AWS::NoValue` list items as nulls; those parts are
asserted on the template in test_template.py instead (the bus policy also in test_organizations.py).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra import deploy
from infra.config import gather_settings
from infra.template import TEMPLATE_PATH, load_template
from processor.rules.files import load_rule_files
from processor.rules.ruleset import build_ruleset
from tests.forwarding.eventbridge import route
from tests.rules.helpers import all_fixtures

# moto logs every AWS::CloudWatch::Alarm it skips; the alarms are asserted on the template instead.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.*CloudWatch.*Alarm")

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"


def client(aws: str, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=aws)


def write_env(path: Path, **settings: str) -> Path:
    path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()), encoding="utf-8")
    return path


def run_deploy(env_file: Path, lambda_zip: Path) -> dict[str, str]:
    settings, problems = gather_settings(env_file, os.environ, load_template())
    assert not problems
    outputs = deploy.deploy(settings, lambda_zip, confirm=lambda: True, poll=0.05, timeout=60)
    assert outputs, "the stack has outputs"
    return outputs


def role_statements(aws: str, role_arn: str) -> list[dict[str, Any]]:
    iam = client(aws, "iam")
    role = role_arn.rsplit("/", 1)[1]
    statements = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):  # moto hands back CloudFormation-made inline policies as a repr
            document = ast.literal_eval(document)
        # moto keeps a statement that resolved to AWS::NoValue as null; CloudFormation drops it.
        statements += [s for s in document["Statement"] if s is not None]
    return statements


def resources(statement: dict[str, Any]) -> list[str]:
    value = statement["Resource"]
    return [value] if isinstance(value, str) else list(value)


def test_make_deploy_creates_the_wired_stack_on_a_local_endpoint(aws: str, lambda_zip: Path, tmp_path: Path):
    env_file = write_env(tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-make", LOG_LEVEL="DEBUG")
    env = {**os.environ, "TRAILALERT_ENV_FILE": str(env_file), "TRAILALERT_LAMBDA_ZIP": str(lambda_zip)}
    # -o: treat the venv as up to date, so the test never reinstalls (or reaches PyPI).
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "deploy", "DEPLOY_ARGS=--yes"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert {"StreamName", "FunctionName", "FunctionArn", "TableName", "TopicArn", "FailureQueueUrl"} <= set(
        printed
    )
    assert printed["FunctionName"] == "ta-make"  # FUNCTION_NAME defaults to the stack name

    lam = client(aws, "lambda")
    [mapping] = lam.list_event_source_mappings(FunctionName="ta-make")["EventSourceMappings"]
    stream = client(aws, "kinesis").describe_stream_summary(StreamName=printed["StreamName"])
    assert mapping["EventSourceArn"] == stream["StreamDescriptionSummary"]["StreamARN"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 <= mapping["MaximumRetryAttempts"] <= 10000
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 604800
    queue_arn = client(aws, "sqs").get_queue_attributes(
        QueueUrl=printed["FailureQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn

    config = lam.get_function_configuration(FunctionName="ta-make")
    assert config["Handler"] == "processor.handler.handler"
    assert config["Runtime"] >= "python3.12"
    variables = config["Environment"]["Variables"]
    assert variables["DYNAMODB_TABLE_NAME"] == printed["TableName"]
    # No Slack secret and no topic given: alerts go to the topic the stack created.
    assert variables["DEFAULT_SNS_TOPIC_ARN"] == printed["TopicArn"]
    assert variables["LOG_LEVEL"] == "DEBUG"
    assert "SLACK_BOT_TOKEN" not in variables and "HOOK_URL" not in variables


def test_rule_targets_the_stream_through_its_own_role(aws: str, lambda_zip: Path, tmp_path: Path):
    outputs = run_deploy(write_env(tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-rule"), lambda_zip)
    events = client(aws, "events")
    [rule] = events.list_rules()["Rules"]
    [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == outputs["StreamArn"]
    statements = role_statements(aws, target["RoleArn"])
    kinesis = [s for s in statements if any(a.startswith("kinesis:") for a in s["Action"])]
    assert kinesis and all(resources(s) == [outputs["StreamArn"]] for s in kinesis)
    assert {a for s in kinesis for a in s["Action"]} == {"kinesis:PutRecord", "kinesis:PutRecords"}


def positive_test_events() -> list[dict[str, Any]]:
    """The pack's inline events that must alert, and the fixtures a default rule alerts on."""
    pack = [t.event for rule in load_rule_files(None, use_pack=True).rules for t in rule.tests if t.alert]
    defaults = build_ruleset(rules=None, ignore_rules=None, events_to_track=None, function_name="ta-pack")
    fixtures = [e for e in all_fixtures().values() if defaults.evaluate(e).matched is not None]
    assert len(pack) >= 40 and len(fixtures) >= 8
    return [{**event, "eventID": f"positive-{n}"} for n, event in enumerate([*pack, *fixtures])]


def test_the_deployed_rule_forwards_every_pack_and_default_rule_positive_event(
    aws: str, lambda_zip: Path, tmp_path: Path
):
    """make deploy with the pack (on by default): the rule's pattern, put on a probe bus with an SQS
    target (moto cannot deliver to the stack's Kinesis target), lets every positive test event through."""
    run_deploy(write_env(tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-pack"), lambda_zip)
    variables = client(aws, "lambda").get_function_configuration(FunctionName="ta-pack")["Environment"]
    assert variables["Variables"]["USE_DETECTION_PACK"] == "true"
    [rule] = client(aws, "events").list_rules()["Rules"]
    pattern = json.loads(rule["EventPattern"])
    assert "detail" in pattern, "the deployed pattern is narrowed by the rules"
    events = positive_test_events()

    delivered = route(aws, pattern, events, "probe")

    assert {e["eventID"] for e in events} - delivered == set()


def test_include_read_only_events_forwards_every_cloudtrail_event(aws: str, lambda_zip: Path, tmp_path: Path):
    env_file = write_env(
        tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-all", TRAILALERT_INCLUDE_READ_ONLY_EVENTS="true"
    )
    outputs = run_deploy(env_file, lambda_zip)
    [rule] = client(aws, "events").list_rules()["Rules"]
    every = {"source": [{"prefix": "aws."}], "detail-type": [{"suffix": " via CloudTrail"}]}
    assert json.loads(rule["EventPattern"]) == every
    assert json.loads(outputs["EventPattern"]) == every


def test_table_is_on_demand_and_keyed_by_pk(aws: str, lambda_zip: Path, tmp_path: Path):
    # moto ignores StreamModeDetails and StreamEncryption when CloudFormation creates a stream, and the
    # table's TimeToLiveSpecification: those are checked on the template (test_template.py).
    outputs = run_deploy(write_env(tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-stream"), lambda_zip)
    table = client(aws, "dynamodb").describe_table(TableName=outputs["TableName"])["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def test_function_role_reaches_only_stack_resources_and_named_secrets(
    aws: str, lambda_zip: Path, tmp_path: Path
):
    hook_secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:trailalert/hook-AbCdEf"
    routed_topic = client(aws, "sns").create_topic(Name="team-b")["TopicArn"]
    env_file = write_env(
        tmp_path / "deploy.env",
        TRAILALERT_STACK_NAME="ta-iam",
        SLACK_BOT_TOKEN_SECRET="/trailalert/slack-bot-token",
        DEFAULT_SLACK_CHANNEL_ID="C0123456789",
        HOOK_URL_SECRET=hook_secret,
        SNS_CONFIGURATION=json.dumps([{"accounts": ["333333333333"], "sns_topic_arn": routed_topic}]),
    )
    outputs = run_deploy(env_file, lambda_zip)
    lam = client(aws, "lambda")
    config = lam.get_function_configuration(FunctionName="ta-iam")
    variables = config["Environment"]["Variables"]
    assert variables["SLACK_BOT_TOKEN_SECRET"] == "/trailalert/slack-bot-token"
    assert variables["HOOK_URL_SECRET"] == hook_secret
    assert variables["DEFAULT_SNS_TOPIC_ARN"] == "", "with Slack configured, alerts do not also go to SNS"

    queue_arn = client(aws, "sqs").get_queue_attributes(
        QueueUrl=outputs["FailureQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    table_arn = client(aws, "dynamodb").describe_table(TableName=outputs["TableName"])["Table"]["TableArn"]
    [log_group] = client(aws, "logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/ta-iam")[
        "logGroups"
    ]
    stack_resources = {
        outputs["StreamArn"],
        outputs["KeyArn"],
        outputs["TopicArn"],
        table_arn,
        queue_arn,
        log_group["arn"].removesuffix(":*"),
    }
    named_secrets = {
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/trailalert/slack-bot-token",
        hook_secret,
        routed_topic,
    }
    statements = role_statements(aws, config["Role"])
    granted = {r.removesuffix(":*").removesuffix("-??????") for s in statements for r in resources(s)}
    assert "*" not in granted
    assert granted == stack_resources | named_secrets
    by_sid = {s["Sid"]: s for s in statements}
    assert resources(by_sid["ReadSlackBotTokenSecretParameter"]) == [
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/trailalert/slack-bot-token"
    ]
    assert by_sid["ReadHookUrlSecret"]["Action"] == "secretsmanager:GetSecretValue"
    assert "ReadSlackBotTokenSecret" not in by_sid and "ReadHookUrlSecretParameter" not in by_sid
    assert "ReadConfigurationSecret" not in by_sid and "ReadConfigurationSecretParameter" not in by_sid


def test_redeploy_updates_the_stack_through_a_change_set(aws: str, lambda_zip: Path, tmp_path: Path):
    env_file = write_env(tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-update")
    first = run_deploy(env_file, lambda_zip)
    write_env(
        env_file, TRAILALERT_STACK_NAME="ta-update", LOG_LEVEL="WARNING", TRAILALERT_LAMBDA_MEMORY_SIZE="512"
    )
    second = run_deploy(env_file, lambda_zip)

    assert second["StreamArn"] == first["StreamArn"], "an update keeps the stream (and its unread records)"
    cfn = client(aws, "cloudformation")
    assert cfn.describe_stacks(StackName="ta-update")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    config = client(aws, "lambda").get_function_configuration(FunctionName="ta-update")
    assert config["MemorySize"] == 512
    assert config["Environment"]["Variables"]["LOG_LEVEL"] == "WARNING"


def test_the_uploaded_code_is_the_zip_given(aws: str, lambda_zip: Path, tmp_path: Path):
    run_deploy(write_env(tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-code"), lambda_zip)
    s3 = client(aws, "s3")
    [bucket] = [
        b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("trailalert-artifacts-")
    ]
    # The code, and the template passed as TemplateURL (it is over CloudFormation's inline limit).
    keys = {obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    [code] = [key for key in keys if key.endswith(".zip")]
    [template] = [key for key in keys if key.endswith(".yaml")]
    assert keys == {code, template}
    body = s3.get_object(Bucket=bucket, Key=code)["Body"].read()
    assert body == lambda_zip.read_bytes()
    assert s3.get_object(Bucket=bucket, Key=template)["Body"].read() == TEMPLATE_PATH.read_bytes()
    with zipfile.ZipFile(lambda_zip) as archive:
        assert "processor/handler.py" in archive.namelist()
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()), "the artifact bucket is private"


RULE_FILE = """\
id: acme.bucket-deleted
title: Bucket deleted
description: A bucket was deleted.
severity: high
condition: event.get("eventName") == "DeleteBucket"
"""


def test_rules_file_on_s3_is_readable_and_nothing_else_in_s3(aws: str, lambda_zip: Path, tmp_path: Path):
    s3 = client(aws, "s3")
    s3.create_bucket(Bucket="rules-bucket")
    s3.put_object(Bucket="rules-bucket", Key="team-a/s3.yml", Body=RULE_FILE.encode())
    env_file = write_env(
        tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-rules", RULES_FILE="s3://rules-bucket/team-a/"
    )
    outputs = run_deploy(env_file, lambda_zip)
    # Rules in S3 change without a deploy: every CloudTrail event is forwarded.
    assert "detail" not in json.loads(outputs["EventPattern"])
    role = client(aws, "lambda").get_function_configuration(FunctionName="ta-rules")["Role"]
    s3_statements = [s for s in role_statements(aws, role) if str(s["Action"]).startswith("s3:")]
    granted = {(s["Action"], r) for s in s3_statements for r in resources(s)}
    assert granted == {
        ("s3:GetObject", "arn:aws:s3:::rules-bucket/team-a/*"),
        ("s3:ListBucket", "arn:aws:s3:::rules-bucket"),
    }


def test_no_s3_access_without_an_s3_rules_file(aws: str, lambda_zip: Path, tmp_path: Path):
    env_file = write_env(tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-norules")
    run_deploy(env_file, lambda_zip)
    role = client(aws, "lambda").get_function_configuration(FunctionName="ta-norules")["Role"]
    statements = role_statements(aws, role)
    assert not [s for s in statements if str(s["Action"]).startswith("s3:")]
