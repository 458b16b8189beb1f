"""The stacks' triage parts: the interactions function behind a public Function URL, its least-privilege
role, the generated signing key, and `make deploy`'s checks of the new settings.

moto's CloudFormation creates neither AWS::Lambda::Url nor AWS::SecretsManager::Secret, so a stack
with triage on cannot be deployed locally: its resources are asserted on the template (and the
Terraform module), as test_template.py does for the alarms. A stack with triage off (the default)
is deployed by tests/infra/test_deploy_moto.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from infra.preflight import Problems, preflight
from infra.template import load_template, parameter_name
from processor.settings import INTERACTIONS_VARIABLES, SECRET_REFERENCES
from tests.infra.test_template import refs

REPO = Path(__file__).resolve().parents[2]
TRIAGE_RESOURCES = {
    "InteractionsLogGroup",
    "InteractionsRole",
    "InteractionsFunction",
    "InteractionsUrl",
    "InteractionsUrlInvokeUrl",
    "InteractionsUrlInvokeFunction",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def interactions_environment() -> set[str]:
    """What the interactions function gets: its settings, each secret as its reference."""
    return {SECRET_REFERENCES.get(name, name) for name in INTERACTIONS_VARIABLES}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    """The role's statements, a conditional one as its branch that is taken when its condition holds."""
    found = []
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            found.append(statement)
    return found


def test_the_triage_resources_exist_only_with_the_slack_signing_secret(template):
    resources = template["Resources"]
    assert {name for name, r in resources.items() if r.get("Condition") == "Triage"} == TRIAGE_RESOURCES
    assert template["Conditions"]["Triage"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SlackSigningSecretSecret"}, ""]}]
    }
    assert resources["TriageSigningKey"]["Condition"] == "GenerateTriageSigningKey"
    output = template["Outputs"]["InteractionsUrl"]
    assert output["Condition"] == "Triage"
    assert output["Value"] == {"Fn::GetAtt": ["InteractionsUrl", "FunctionUrl"]}


def test_the_interactions_function_runs_the_handler_with_exactly_its_settings(template):
    function = template["Resources"]["InteractionsFunction"]["Properties"]
    assert function["Handler"] == "processor.interactions.handler"
    assert function["Timeout"] <= 10  # Slack waits 3 s; the handler answers within 2.5 s
    variables = function["Environment"]["Variables"]
    assert set(variables) == interactions_environment()
    for name, value in variables.items():
        mentioned = refs(value)
        assert parameter_name(name) in mentioned or mentioned & {"Table", "TriageSigningKey"}, name
    for plain in SECRET_REFERENCES:
        assert plain not in variables


def test_the_url_is_public_for_slack_and_the_function_checks_slacks_signature(template):
    resources = template["Resources"]
    assert resources["InteractionsUrl"]["Properties"] == {
        "AuthType": "NONE",
        "TargetFunctionArn": {"Fn::GetAtt": ["InteractionsFunction", "Arn"]},
    }
    url = resources["InteractionsUrlInvokeUrl"]["Properties"]
    assert url["Action"] == "lambda:InvokeFunctionUrl" and url["FunctionUrlAuthType"] == "NONE"
    invoke = resources["InteractionsUrlInvokeFunction"]["Properties"]
    assert invoke["Action"] == "lambda:InvokeFunction" and invoke["InvokedViaFunctionUrl"] is True


def test_the_interactions_role_reaches_its_logs_the_table_s_triage_items_and_three_secrets(template):
    role = template["Resources"]["InteractionsRole"]
    found = statements(role)
    actions = {a for s in found for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "logs:CreateLogStream", "logs:PutLogEvents", "kms:Decrypt", "kms:GenerateDataKey",
        "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
        "secretsmanager:GetSecretValue", "ssm:GetParameter",
    }  # fmt: skip
    assert "*" not in str([s["Resource"] for s in found])
    mentioned = refs([s["Resource"] for s in found])
    assert mentioned == {
        "InteractionsLogGroup", "Key", "Table", "SlackSigningSecretSecret", "SlackBotTokenSecret",
        "TriageSigningKey", "TriageSigningKeySecret", "AWS::Partition", "AWS::Region", "AWS::AccountId",
    }  # fmt: skip
    (table,) = [s for s in found if s["Sid"] == "SnoozesMutesAndNotes"]
    assert table["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["mute#*", "thread#*"]}}


def test_the_processor_reads_the_generated_key_and_the_table_in_batches(template):
    role = template["Resources"]["FunctionRole"]
    by_sid = {s["Sid"]: s for s in statements(role)}
    assert by_sid["ReadSuppressionsAndLedgerInBatches"]["Action"] == "dynamodb:BatchGetItem"
    assert by_sid["ReadGeneratedTriageSigningKey"]["Resource"] == {"Ref": "TriageSigningKey"}
    assert by_sid["AccountNamesFromOrganizations"]["Action"] == "organizations:DescribeAccount"
    secret = template["Resources"]["TriageSigningKey"]["Properties"]
    assert secret["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32


def _deploy(**settings: str) -> Any:
    base = {"SLACK_BOT_TOKEN_SECRET": "/ta/bot", "DEFAULT_SLACK_CHANNEL_ID": "C0123456789"}
    return preflight(
        load_template(), {**base, **settings}, stack="ta", region="us-east-1", store_secrets=False
    )


def test_make_deploy_passes_the_triage_settings_on():
    checked = _deploy(SLACK_SIGNING_SECRET_SECRET="/ta/signing", TRIAGE_ALLOWED_USERS="U0LEAD")
    assert checked.parameters["SlackSigningSecretSecret"] == "/ta/signing"
    assert checked.parameters["TriageAllowedUsers"] == "U0LEAD"
    assert checked.parameters["TriageSigningKeySecret"] == ""  # the stack generates it


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"SLACK_SIGNING_SECRET": "abc"}, "SLACK_SIGNING_SECRET is a secret"),
        ({"TRIAGE_SIGNING_KEY": "k" * 40}, "TRIAGE_SIGNING_KEY is a secret"),
        ({"SLACK_SIGNING_SECRET_SECRET": "/s", "TRIAGE_ALLOWED_USERS": "alice"}, "TRIAGE_ALLOWED_USERS"),
        ({"ACCOUNT_NAMES": "prod"}, "ACCOUNT_NAMES: is not valid JSON"),
    ],
)
def test_make_deploy_refuses_what_the_functions_would(settings: dict[str, str], expected: str):
    with pytest.raises(Problems) as problems:
        _deploy(**settings)
    assert any(expected in line for line in problems.value.problems), problems.value.problems


def test_make_deploy_stores_a_plaintext_signing_secret_as_it_does_the_token():
    checked = preflight(
        load_template(),
        {
            "SLACK_BOT_TOKEN_SECRET": "/ta/bot",
            "DEFAULT_SLACK_CHANNEL_ID": "C1",
            "SLACK_SIGNING_SECRET": "abc",
        },
        stack="ta",
        region="us-east-1",
        store_secrets=True,
    )
    assert checked.secrets == {"SLACK_SIGNING_SECRET": ("/ta/slack-signing-secret", "abc")}
    assert checked.parameters["SlackSigningSecretSecret"] == "/ta/slack-signing-secret"


# --- Terraform ---


@pytest.fixture(scope="module")
def module() -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {}
    for path in sorted((REPO / "infra" / "terraform").glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            for kind, blocks in hcl2.load(handle).items():
                merged.setdefault(kind, []).extend(blocks)
    return merged


def tf(module: dict[str, list[Any]], kind: str, type_: str, name: str) -> dict[str, Any]:
    [found] = [b[f'"{type_}"'][f'"{name}"'] for b in module[kind] if f'"{name}"' in b.get(f'"{type_}"', {})]
    return found


def test_the_terraform_module_has_the_same_interactions_function(module):
    function = tf(module, "resource", "aws_lambda_function", "interactions")
    assert function["handler"] == '"processor.interactions.handler"'
    assert function["count"] == "${local.triage ? 1 : 0}"
    locals_ = {k: v for block in module["locals"] for k, v in block.items()}
    assert function["environment"][0]["variables"] == "${local.interactions_environment}"
    assert set(locals_["interactions_environment"]) == interactions_environment()
    assert tf(module, "resource", "aws_lambda_function_url", "interactions")["authorization_type"] == '"NONE"'
    invoke = tf(module, "resource", "aws_lambda_permission", "interactions_invoke")
    assert invoke["action"] == '"lambda:InvokeFunction"' and invoke["invoked_via_function_url"] is True
    policy = tf(module, "data", "aws_iam_policy_document", "interactions")
    granted = [r for s in policy["statement"] for r in s.get("resources", [])]
    assert granted and '"*"' not in granted
    outputs = {name for block in module["output"] for name in block}
    assert '"interactions_url"' in outputs or "interactions_url" in outputs


def test_the_slack_app_manifest_asks_for_what_trailalert_uses():
    manifest = yaml.safe_load((REPO / "infra" / "slack-app-manifest.yaml").read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {"chat:write", "channels:history", "groups:history"}  # docs/delivery.md: the lookup
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert re.fullmatch(r"https://\S+", interactivity["request_url"])
    guide = (REPO / "docs" / "slack.md").read_text()
    assert "infra/slack-app-manifest.yaml" in guide and "InteractionsUrl" in guide


def test_make_demo_shows_a_snooze_taking_effect():
    """`make demo` runs `python -m processor.demo`: its own moto server and Slack stand-in, nothing else."""
    import os
    import subprocess
    import sys

    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_", "TRIAGE_", "DYNAMODB_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "processor.demo"], cwd=REPO, env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    triage = result.stdout[result.stdout.index("Triage from Slack") :]
    assert "[Snooze similar 1 hour]" in triage
    assert "Snoozed for 1 hour by @U0RESPONDER" in triage
    assert "suppressed: 2 (metric Suppressed" in triage
    assert "2 more similar alerts suppressed since" in triage
