"""Organization-wide: the central bus, and the member template deployed as a service-managed StackSet.

On moto's server: an organization with an OU holding a member account; the central stack deployed by
make deploy's code with its own bus; the member template as a SERVICE_MANAGED StackSet on the OU;
then, as the member account, CloudTrail-shaped events put on its default bus, and what reaches the
central account read back. moto's CloudFormation skips AWS::Events::EventBusPolicy and its events
cannot deliver to a Kinesis target, so the bus policy is applied through the API as the template
writes it, and the forwarded events are read from a probe bus with an SQS target in the central
account. moto does not enforce bus policies: that the policy admits only the organization is checked
on its text (here and in test_template.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra import deploy
from infra.config import gather_settings
from infra.template import load_template
from processor.pattern_cli import derive_forwarding
from tests.forwarding.eventbridge import entry, put, queue_rule, received
from tests.infra.test_deploy_moto import positive_test_events

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.*")

REGION = "us-east-1"
MEMBER_TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "cloudformation" / "member.yaml"


def client(endpoint: str, service: str, credentials: dict[str, str] | None = None) -> Any:
    keys = {}
    if credentials is not None:
        keys = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, **keys)


@pytest.fixture
def organization(aws: str) -> dict[str, str]:
    org = client(aws, "organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    member = org.create_account(Email="member@example.com", AccountName="member")["CreateAccountStatus"]
    org.move_account(AccountId=member["AccountId"], SourceParentId=root, DestinationParentId=ou)
    role = f"arn:aws:iam::{member['AccountId']}:role/OrganizationAccountAccessRole"
    credentials = client(aws, "sts").assume_role(RoleArn=role, RoleSessionName="member")["Credentials"]
    return {"id": org_id, "ou": ou, "member": member["AccountId"], "credentials": credentials}


def test_the_central_stack_creates_its_bus_and_admits_the_organization(
    aws: str, organization: dict[str, Any], lambda_zip: Path, tmp_path: Path
):
    env_file = tmp_path / "deploy.env"
    env_file.write_text(
        "TRAILALERT_STACK_NAME=ta-central\nTRAILALERT_CREATE_EVENT_BUS=true\n"
        f"TRAILALERT_EVENT_BUS_NAME=trailalert-central\nTRAILALERT_ORGANIZATION_ID={organization['id']}\n",
        encoding="utf-8",
    )
    settings, problems = gather_settings(env_file, os.environ, load_template())
    assert not problems
    outputs = deploy.deploy(settings, lambda_zip, confirm=lambda: True, poll=0.05, timeout=60)

    events = client(aws, "events")
    bus = events.describe_event_bus(Name="trailalert-central")
    assert outputs["EventBusArn"] == bus["Arn"]
    [rule] = events.list_rules(EventBusName="trailalert-central")["Rules"]
    assert json.loads(rule["EventPattern"]) == json.loads(outputs["EventPattern"])
    [target] = events.list_targets_by_rule(Rule=rule["Name"], EventBusName="trailalert-central")["Targets"]
    assert target["Arn"] == outputs["StreamArn"]

    # The policy as the template writes it, applied through the API moto has for it.
    statement = load_template()["Resources"]["OrganizationPutsEvents"]["Properties"]["Statement"]
    resolved = {
        **statement,
        "Sid": "trailalert-organization-puts-events",
        "Resource": bus["Arn"],
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization["id"]}},
    }
    events.put_permission(
        EventBusName="trailalert-central",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [resolved]}),
    )
    [applied] = json.loads(events.describe_event_bus(Name="trailalert-central")["Policy"])["Statement"]
    assert applied["Action"] == "events:PutEvents" and applied["Principal"] == "*"
    assert applied["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": organization["id"]}}


def test_the_member_stack_set_forwards_what_the_rules_need_to_the_central_bus(
    aws: str, organization: dict[str, Any]
):
    central_events, central_sqs = client(aws, "events"), client(aws, "sqs")
    central_bus = central_events.create_event_bus(Name="probe-central")["EventBusArn"]
    everything = {"source": [{"prefix": "aws."}]}
    queue = queue_rule(central_events, central_sqs, "probe-central", everything, "arrived")
    forwarding = derive_forwarding(
        {"rules": None, "ignore_rules": None, "events_to_track": None, "function_name": "trailalert",
         "use_detection_pack": True}
    )  # fmt: skip
    cfn = client(aws, "cloudformation")
    cfn.create_stack_set(
        StackSetName="trailalert-member",
        TemplateBody=MEMBER_TEMPLATE.read_text(encoding="utf-8"),
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[
            {"ParameterKey": "CentralEventBusArn", "ParameterValue": central_bus},
            {"ParameterKey": "EventPattern", "ParameterValue": json.dumps(forwarding.pattern)},
        ],
    )
    cfn.create_stack_instances(
        StackSetName="trailalert-member",
        DeploymentTargets={"OrganizationalUnitIds": [organization["ou"]]},
        Regions=[REGION],
    )

    member_events = client(aws, "events", organization["credentials"])
    [rule] = member_events.list_rules(EventBusName="default")["Rules"]
    assert json.loads(rule["EventPattern"]) == forwarding.pattern
    [target] = member_events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == central_bus
    iam = client(aws, "iam", organization["credentials"])
    role = target["RoleArn"].rsplit("/", 1)[1]
    [policy] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    document = document if isinstance(document, dict) else __import__("ast").literal_eval(document)
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [
        ("events:PutEvents", central_bus)
    ]

    positives = positive_test_events()
    quiet = [
        {**positives[0], "eventID": "quiet-read", "eventName": "DescribeInstances", "eventSource": "ec2.amazonaws.com",
         "userIdentity": {"type": "AssumedRole"}},
        {**positives[0], "eventID": "quiet-other", "eventName": "ListBuckets", "eventSource": "s3.amazonaws.com",
         "userIdentity": {"type": "IAMUser"}},
    ]  # fmt: skip
    put(member_events, [entry(record, "default") for record in [*positives, *quiet]])

    arrived = received(central_sqs, queue)
    assert {e["eventID"] for e in positives} - arrived == set()
    assert not arrived & {"quiet-read", "quiet-other"}
