"""The CloudFormation template, for what moto cannot create or keep, and its drift against the settings."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.template import (
    SECRET_REFERENCES,
    expected_environment,
    function_environment,
    load_template,
    parameter_name,
)
from processor.rules.forwarding import EVERY_CLOUDTRAIL_EVENT
from processor.settings import ENVIRONMENT_VARIABLES


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def refs(value: Any) -> set[str]:
    """Every name a value mentions through Ref, GetAtt or ${...} in Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref":
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            elif key == "Fn::Sub":
                text, local = (inner, {}) if isinstance(inner, str) else inner
                names = {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= names - set(local)
            found |= refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= refs(inner)
    return found


def test_function_environment_is_exactly_the_processor_settings(template):
    assert set(function_environment(template)) == expected_environment(ENVIRONMENT_VARIABLES)


def test_secrets_are_only_referenced_and_the_processor_reads_the_references(template):
    variables = function_environment(template)
    for plain, reference in SECRET_REFERENCES.items():
        assert plain not in variables, f"{plain} would put a secret in the Lambda environment"
        assert reference in variables
        assert reference in ENVIRONMENT_VARIABLES, f"the processor does not read {reference}"
        assert parameter_name(plain) not in template["Parameters"]


def test_every_setting_is_a_parameter_that_reaches_its_variable(template):
    variables = function_environment(template)
    resources = template["Resources"]
    for env_name, value in variables.items():
        parameter = parameter_name(env_name)
        assert parameter in template["Parameters"], f"{env_name} has no stack parameter {parameter}"
        mentioned = refs(value)
        # A computed value (the table's name) must come from a resource that takes the parameter.
        via_resources = set().union(*(refs(resources[name]) for name in mentioned if name in resources))
        assert parameter in mentioned | via_resources, f"{env_name} does not use parameter {parameter}"


def test_every_parameter_and_condition_is_used_and_every_reference_resolves(template):
    declared = set(template["Parameters"]) | set(template["Resources"])
    pseudo = {"AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::StackName", "AWS::NoValue"}
    body = [template["Resources"], template["Outputs"], template["Conditions"]]
    used = refs(body)
    assert used - declared - pseudo == set(), "references to nothing"
    assert set(template["Parameters"]) - used == set(), "parameters nobody uses"


def test_table_has_ttl_on_expires_at_and_a_string_pk(template):
    table = template["Resources"]["Table"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert {"AttributeName": "pk", "AttributeType": "S"} in table["AttributeDefinitions"]


def test_stream_is_on_demand_by_default_and_encrypted_with_the_stack_key(template):
    assert template["Parameters"]["StreamMode"]["Default"] == "ON_DEMAND"
    stream = template["Resources"]["Stream"]["Properties"]
    assert stream["StreamModeDetails"] == {"StreamMode": {"Ref": "StreamMode"}}
    assert stream["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": {"Fn::GetAtt": ["Key", "Arn"]}}


def test_alarms_watch_iterator_age_errors_and_the_failure_queue(template):
    # moto's CloudFormation does not create AWS::CloudWatch::Alarm, so they are checked here.
    alarms = {
        props["MetricName"]: props
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for props in [resource["Properties"]]
    }
    assert set(alarms) == {"IteratorAge", "Errors", "ApproximateNumberOfMessagesVisible"}
    assert alarms["IteratorAge"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "Function"}}]
    assert alarms["Errors"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "Function"}}]
    queue = alarms["ApproximateNumberOfMessagesVisible"]["Dimensions"]
    assert queue == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailureQueue", "QueueName"]}}]
    assert all(alarm["AlarmActions"] for alarm in alarms.values()), "alarms notify the stack's topic"


def test_function_runs_the_handler_on_python_312_or_newer(template):
    function = template["Resources"]["Function"]["Properties"]
    assert function["Handler"] == "processor.handler.handler"
    runtimes = template["Parameters"]["LambdaRuntime"]["AllowedValues"]
    assert all(tuple(map(int, r.removeprefix("python").split("."))) >= (3, 12) for r in runtimes)


def test_the_rule_forwards_the_rules_pattern_unless_every_event_is_asked_for(template):
    """EventPattern is the JSON `trailalert rules pattern` prints (make deploy fills it in); empty, or
    IncludeReadOnlyEvents=true, forwards every CloudTrail event, exactly as the processor reads them."""
    assert template["Parameters"]["IncludeReadOnlyEvents"]["Default"] == "false"
    assert template["Parameters"]["EventPattern"]["Default"] == ""
    condition, everything, derived = template["Resources"]["CloudTrailRule"]["Properties"]["EventPattern"][
        "Fn::If"
    ]
    assert derived == {"Ref": "EventPattern"}
    assert everything == EVERY_CLOUDTRAIL_EVENT
    assert template["Conditions"][condition] == {
        "Fn::Or": [
            {"Fn::Equals": [{"Ref": "IncludeReadOnlyEvents"}, "true"]},
            {"Fn::Equals": [{"Ref": "EventPattern"}, ""]},
        ]
    }
    output = template["Outputs"]["EventPattern"]["Value"]["Fn::If"]
    assert output[0] == condition and json.loads(output[1]) == EVERY_CLOUDTRAIL_EVENT


def test_the_central_bus_admits_only_the_organization(template):
    """moto's CloudFormation skips AWS::Events::EventBusPolicy, so the statement is checked here."""
    policy = template["Resources"]["OrganizationPutsEvents"]
    assert policy["Condition"] == "HasOrganization"
    statement = policy["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents" and statement["Effect"] == "Allow"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}
    assert "${EventBusName}" in statement["Resource"]["Fn::Sub"]
