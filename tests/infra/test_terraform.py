"""The Terraform module, checked without Terraform: parsed with python-hcl2."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
from click.testing import CliRunner

from infra.template import expected_environment
from processor.cli import main
from processor.pattern_cli import derive_forwarding
from processor.settings import ENVIRONMENT_VARIABLES, rule_options

MODULE = Path(__file__).resolve().parents[2] / "infra" / "terraform"
# The reference module's inputs that mean the same here (fivexl/terraform-aws-cloudtrail-to-slack).
# Not kept: slack_bot_token, default_slack_hook_url and configuration hold secrets, so they become
# *_secret references (docs/deploy.md, migration table); the S3 bucket inputs belong to the S3 path.
REFERENCE_VARIABLES = {
    "rules", "ignore_rules", "rules_separator", "use_default_rules", "events_to_track", "function_name",
    "rule_evaluation_errors_to_slack", "log_level", "default_slack_channel_id", "slack_app_configuration",
    "s3_removed_object_notification", "default_sns_topic_arn", "sns_configuration", "dynamodb_table_name",
    "dynamodb_time_to_live", "lambda_memory_size", "lambda_timeout_seconds", "lambda_logs_retention_in_days",
    "tags",
}  # fmt: skip
OUTPUTS = {"lambda_function_arn", "stream_name", "stream_arn", "dynamodb_table_name", "sns_topic_arn",
           "failure_queue_url", "lambda_function_name"}  # fmt: skip


def unquote(label: str) -> str:
    return label.strip('"')


@pytest.fixture(scope="module")
def module() -> dict[str, Any]:
    """All blocks of the module's files, merged by kind."""
    merged: dict[str, list[Any]] = {}
    for path in sorted(MODULE.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            for kind, blocks in hcl2.load(handle).items():
                if not kind.startswith("__"):
                    merged.setdefault(kind, []).extend(blocks)
    return merged


def labels(module: dict[str, Any], kind: str) -> set[str]:
    return {unquote(name) for block in module.get(kind, []) for name in block}


def typed_labels(module: dict[str, Any], kind: str) -> set[tuple[str, str]]:
    return {
        (unquote(type_), unquote(name))
        for block in module.get(kind, [])
        for type_, by in block.items()
        for name in by
    }


def locals_(module: dict[str, Any]) -> dict[str, Any]:
    return {key: value for block in module.get("locals", []) for key, value in block.items()}


def expressions(value: Any) -> list[str]:
    """Every string in a parsed block: hcl2 keeps expressions as "${...}" strings."""
    if isinstance(value, dict):
        return [s for key, inner in value.items() for s in [key, *expressions(inner)] if isinstance(s, str)]
    if isinstance(value, list):
        return [s for inner in value for s in expressions(inner)]
    return [value] if isinstance(value, str) else []


def test_variables_of_the_reference_module_keep_their_names(module):
    assert labels(module, "variable") >= REFERENCE_VARIABLES


def test_every_variable_is_declared_and_used_and_every_reference_resolves(module):
    body = {k: v for k, v in module.items() if k != "variable"}
    text = "\n".join(expressions(body)) + "\n".join(expressions(module.get("variable", [])))
    declared = labels(module, "variable")
    used_vars = set(re.findall(r"\bvar\.(\w+)", text))
    assert used_vars - declared == set(), "var.X with no variable X"
    body_text = "\n".join(expressions(body))
    assert declared - set(re.findall(r"\bvar\.(\w+)", body_text)) == set(), "variables nobody uses"

    assert set(re.findall(r"\blocal\.(\w+)", text)) <= set(locals_(module)), "local.X with no local X"
    data = typed_labels(module, "data")
    assert set(re.findall(r"\bdata\.(\w+)\.(\w+)", text)) <= data, "data.T.N with no data block"
    resources = typed_labels(module, "resource")
    resource_refs = set(re.findall(r"(?<![\w.])(aws_\w+)\.(\w+)", text))
    assert resource_refs <= resources, "resource reference with no resource"


def test_lambda_environment_is_exactly_the_processor_settings(module):
    function = block(module, "resource", "aws_lambda_function", "this")  # the processor
    [environment] = function["environment"]
    variables = environment["variables"]
    match = re.fullmatch(r"\$\{local\.(\w+)\}", variables)
    assert match, "the environment comes from one local map"
    assert set(locals_(module)[match.group(1)]) == expected_environment(ENVIRONMENT_VARIABLES)


def test_stack_outputs_include_the_reference_output(module):
    assert labels(module, "output") >= OUTPUTS


def test_table_has_ttl_on_expires_at(module):
    [table] = [
        by['"this"']
        for block in module["resource"]
        for t, by in block.items()
        if unquote(t) == "aws_dynamodb_table" and '"this"' in by
    ]
    assert table["ttl"][0]["attribute_name"] == '"expires_at"' and table["ttl"][0]["enabled"] is True
    assert table["billing_mode"] == '"PAY_PER_REQUEST"'


RULE_SETTINGS = {"RULES", "IGNORE_RULES", "RULES_SEPARATOR", "USE_DEFAULT_RULES", "EVENTS_TO_TRACK",
                 "FUNCTION_NAME", "RULES_FILE", "USE_DETECTION_PACK"}  # fmt: skip


def block(module: dict[str, Any], kind: str, type_: str, name: str) -> dict[str, Any]:
    [found] = [
        by[f'"{name}"']
        for b in module[kind]
        for t, by in b.items()
        if unquote(t) == type_ and f'"{name}"' in by
    ]
    return found


def test_the_pattern_comes_from_the_rule_variables_the_lambda_gets(module):
    """The external data source runs `trailalert rules pattern` on exactly the values the function's
    environment gets, so the pattern cannot drift from the rules."""
    source = block(module, "data", "external", "event_pattern")
    assert source["program"].endswith('["rules", "pattern", "--terraform-external"])}')
    assert set(source["query"]) == RULE_SETTINGS
    environment = locals_(module)["environment"]
    for name, expression in source["query"].items():
        assert expression == environment[name], f"{name}: the pattern and the Lambda read different values"
    rule = block(module, "resource", "aws_cloudwatch_event_rule", "cloudtrail")
    assert rule["event_pattern"] == "${local.event_pattern}"
    assert "data.external.event_pattern[0].result.pattern" in locals_(module)["event_pattern"]


def variable_defaults(module: dict[str, Any]) -> dict[str, Any]:
    """Defaults as values: hcl2 keeps a string's quotes."""
    return {
        unquote(name): unquote(spec["default"])
        if isinstance(spec.get("default"), str)
        else spec.get("default")
        for b in module["variable"]
        for name, spec in b.items()
    }


def test_the_external_program_answers_the_pattern_for_the_module_defaults(module):
    defaults = variable_defaults(module)
    query = {
        "RULES": defaults["rules"], "IGNORE_RULES": defaults["ignore_rules"],
        "RULES_SEPARATOR": defaults["rules_separator"], "USE_DEFAULT_RULES": str(defaults["use_default_rules"]).lower(),
        "EVENTS_TO_TRACK": defaults["events_to_track"], "FUNCTION_NAME": defaults["function_name"],
        "RULES_FILE": "", "USE_DETECTION_PACK": str(defaults["use_detection_pack"]).lower(),
    }  # fmt: skip
    result = CliRunner().invoke(
        main, ["rules", "pattern", "--terraform-external"], input=json.dumps(query), env={}
    )
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"pattern"} and isinstance(answer["pattern"], str)
    expected = derive_forwarding(rule_options(query))
    assert json.loads(answer["pattern"]) == expected.pattern and expected.narrowed


def test_a_bad_rule_fails_the_plan_naming_the_setting():
    query = {"RULES": "open('x')", "USE_DEFAULT_RULES": "true"}
    result = CliRunner().invoke(
        main, ["rules", "pattern", "--terraform-external"], input=json.dumps(query), env={}
    )
    assert result.exit_code == 1 and "RULES: rule \"open('x')\" rejected" in result.stderr


def test_the_central_bus_admits_only_the_organization(module):
    policy = block(module, "data", "aws_iam_policy_document", "organization_puts_events")
    [statement] = policy["statement"]
    assert statement["actions"] == ['"events:PutEvents"']
    [condition] = statement["condition"]
    assert condition["variable"] == '"aws:PrincipalOrgID"' and condition["values"] == [
        "${var.organization_id}"
    ]


@pytest.fixture(scope="module")
def member() -> dict[str, Any]:
    merged: dict[str, list[Any]] = {}
    for path in sorted((MODULE / "member").glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            for kind, blocks in hcl2.load(handle).items():
                if not kind.startswith("__"):
                    merged.setdefault(kind, []).extend(blocks)
    return merged


def test_the_member_module_forwards_the_pattern_to_the_central_bus_and_nowhere_else(member):
    rule = block(member, "resource", "aws_cloudwatch_event_rule", "forward")
    assert rule["event_bus_name"] == '"default"' and rule["event_pattern"] == "${local.event_pattern}"
    target = block(member, "resource", "aws_cloudwatch_event_target", "central_bus")
    assert target["arn"] == "${var.central_event_bus_arn}"
    assert target["role_arn"] == "${aws_iam_role.forward.arn}"
    policy = block(member, "data", "aws_iam_policy_document", "put_on_central_bus")
    [statement] = policy["statement"]
    assert statement["actions"] == ['"events:PutEvents"']
    assert statement["resources"] == ["${var.central_event_bus_arn}"]
    assert "via CloudTrail" in str(locals_(member)["every_cloudtrail_event"])
    text = "\n".join(expressions({k: v for k, v in member.items() if k != "variable"}))
    assert set(re.findall(r"\bvar\.(\w+)", text)) == labels(member, "variable")


def test_the_backfill_worker_is_off_by_default_and_reads_its_queue(module):
    """The same resources as the CloudFormation template's (tests/infra/test_backfill_stack.py)."""
    variables = {unquote(name): spec for block in module["variable"] for name, spec in block.items()}
    assert variables["backfill_worker"]["default"] is False
    worker = block(module, "resource", "aws_lambda_function", "backfill_worker")
    assert worker["count"] == "${local.backfill ? 1 : 0}"
    assert worker["handler"] == '"backfill.worker.handler"'
    assert worker["reserved_concurrent_executions"] == "${var.backfill_worker_concurrency}"
    mapping = block(module, "resource", "aws_lambda_event_source_mapping", "backfill")
    assert mapping["function_response_types"] == ['"ReportBatchItemFailures"']
    assert mapping["scaling_config"][0]["maximum_concurrency"] == "${var.backfill_worker_concurrency}"
    queue = block(module, "resource", "aws_sqs_queue", "backfill")
    assert queue["redrive_policy"] == (
        "${jsonencode({deadLetterTargetArn = aws_sqs_queue.backfill_dead_letters[0].arn, maxReceiveCount = 3})}"
    )
    assert worker["environment"][0]["variables"].count('BACKFILL_MAX_RECEIVE_COUNT = "3"') == 1
    runs = block(module, "resource", "aws_dynamodb_table", "backfill_runs")
    assert (runs["hash_key"], runs["range_key"]) == ('"run"', '"object"')
    sids = policy_sids(module, "backfill_worker")
    assert {"ReadBackfillQueue", "RecordRunResults", "ReadLogFiles", "PublishAlerts"} <= sids
    assert not sids & {"ReadStream", "FailedBatchesToQueue"}


def policy_sids(module: dict[str, Any], name: str) -> set[str]:
    """The sids of a policy document, with those of its source_policy_documents and dynamic statements."""
    policy = block(module, "data", "aws_iam_policy_document", name)
    statements = policy.get("statement", []) + [
        inner["content"][0]
        for d in policy.get("dynamic", [])
        for kind, inner in d.items()
        if unquote(kind) == "statement"
    ]
    sids = {unquote(s["sid"]) for s in statements}
    for source in policy.get("source_policy_documents", []):
        match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)(?:\[0\])?\.json\}", source)
        assert match, f"{name}: a source document that is not one of the module's: {source}"
        sids |= policy_sids(module, match.group(1))
    return sids


def test_both_functions_take_the_delivery_statements_from_one_document(module):
    """The processor and the backfill worker deliver the same way, so one document grants it to both;
    each adds only its own (the stream and failure queue, or the backfill queue, runs table and logs)."""
    delivery = policy_sids(module, "deliver_alerts")
    assert {"PublishAlerts", "ThreadsAndIdempotency", "ReadSlackSecrets", "ReadSlackParameters"} <= delivery
    assert not delivery & {"WriteOwnLogs", "ReadStream", "FailedBatchesToQueue", "ReadBackfillQueue"}
    for name in ("function", "backfill_worker"):
        policy = block(module, "data", "aws_iam_policy_document", name)
        assert policy["source_policy_documents"] == ["${data.aws_iam_policy_document.deliver_alerts.json}"]
    assert {"ReadStream", "FailedBatchesToQueue"} <= policy_sids(module, "function")
