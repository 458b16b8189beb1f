"""The backfill worker's resources (BackfillWorker=true) through `make deploy`'s code on moto: a template
over CloudFormation's inline limit deployed through TemplateURL, the queue and its dead-letter queue,
the worker with its reserved concurrency, and a role that reaches only what the worker uses."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from infra import deploy
from infra.config import gather_settings
from infra.preflight import Problems
from infra.template import TEMPLATE_PATH, load_template
from tests.infra.test_deploy_moto import client, resources, role_statements, run_deploy, write_env

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.*CloudWatch.*Alarm")

TRAIL_BUCKET = "org-cloudtrail"


def test_the_template_is_over_the_inline_limit_so_deploy_passes_it_by_url():
    assert len(TEMPLATE_PATH.read_bytes()) > deploy.TEMPLATE_BODY_LIMIT


def test_the_backfill_worker_is_off_by_default(aws: str, lambda_zip: Path, tmp_path: Path):
    outputs = run_deploy(write_env(tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-nofleet"), lambda_zip)

    assert not any(name.startswith("Backfill") for name in outputs)
    functions = [f["FunctionName"] for f in client(aws, "lambda").list_functions()["Functions"]]
    assert functions == ["ta-nofleet"]


def test_the_worker_needs_the_bucket_it_reads(tmp_path: Path):
    env_file = write_env(
        tmp_path / "deploy.env", TRAILALERT_STACK_NAME="ta-x", TRAILALERT_BACKFILL_WORKER="true"
    )
    settings, problems = gather_settings(env_file, {}, load_template())
    assert not problems
    with pytest.raises(Problems, match="TRAILALERT_BACKFILL_WORKER=true needs TRAILALERT_BACKFILL_BUCKET"):
        deploy.deploy(settings, None, confirm=lambda: True)


def test_the_backfill_worker_reads_its_queue_and_reaches_only_what_it_uses(
    aws: str, lambda_zip: Path, tmp_path: Path
):
    env_file = write_env(
        tmp_path / "deploy.env",
        TRAILALERT_STACK_NAME="ta-fleet",
        TRAILALERT_BACKFILL_WORKER="true",
        TRAILALERT_BACKFILL_BUCKET=TRAIL_BUCKET,
        TRAILALERT_BACKFILL_WORKER_CONCURRENCY="25",
    )
    outputs = run_deploy(env_file, lambda_zip)
    lam, sqs, dynamodb = client(aws, "lambda"), client(aws, "sqs"), client(aws, "dynamodb")

    config = lam.get_function_configuration(FunctionName=outputs["BackfillWorkerName"])
    assert config["Handler"] == "backfill.worker.handler"
    with zipfile.ZipFile(lambda_zip) as archive:  # the handler is in the code the stack deploys
        assert "backfill/worker.py" in archive.namelist()
    assert outputs["BackfillWorkerName"] == "ta-fleet-backfill"
    variables = config["Environment"]["Variables"]
    assert variables["BACKFILL_TABLE_NAME"] == outputs["BackfillTableName"]
    assert variables["DYNAMODB_TABLE_NAME"] == outputs["TableName"]  # the same delivery ledger
    concurrency = lam.get_function_concurrency(FunctionName=outputs["BackfillWorkerName"])
    assert concurrency["ReservedConcurrentExecutions"] == 25

    def arn(url: str) -> str:
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    queue_arn, dead_letter_arn = arn(outputs["BackfillQueueUrl"]), arn(outputs["BackfillDeadLetterQueueUrl"])
    redrive = sqs.get_queue_attributes(QueueUrl=outputs["BackfillQueueUrl"], AttributeNames=["RedrivePolicy"])
    policy = json.loads(redrive["Attributes"]["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == dead_letter_arn
    assert int(policy["maxReceiveCount"]) == int(variables["BACKFILL_MAX_RECEIVE_COUNT"]) == 3
    [mapping] = lam.list_event_source_mappings(FunctionName=outputs["BackfillWorkerName"])[
        "EventSourceMappings"
    ]
    assert mapping["EventSourceArn"] == queue_arn
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    table = dynamodb.describe_table(TableName=outputs["BackfillTableName"])["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "run", "KeyType": "HASH"},
        {"AttributeName": "object", "KeyType": "RANGE"},
    ]
    ledger_arn = dynamodb.describe_table(TableName=outputs["TableName"])["Table"]["TableArn"]
    [log_group] = client(aws, "logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/ta-fleet-backfill")[
        "logGroups"
    ]
    statements = role_statements(aws, config["Role"])
    granted = {r.removesuffix(":*") for s in statements for r in resources(s)}
    assert "*" not in granted
    assert granted == {
        log_group["arn"].removesuffix(":*"),
        outputs["KeyArn"],
        queue_arn,
        table["TableArn"],
        f"arn:aws:s3:::{TRAIL_BUCKET}/*",
        ledger_arn,
        outputs["TopicArn"],
    }
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["ReadLogFiles"]["Action"] == "s3:GetObject"
    assert set(by_sid["RecordRunResults"]["Action"]) == {
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:UpdateItem",
    }
    assert "ReadStream" not in by_sid and "FailedBatchesToQueue" not in by_sid
