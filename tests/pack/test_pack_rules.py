"""Every rule of the bundled detection pack: its inline tests pass, and it is shaped for review."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from processor.cli import main
from processor.rules import check_rules
from processor.rules.files import RuleDefinition, load_rule_files
from processor.rules.files.inline import TestResult, run_inline_tests

PACK = load_rule_files(None, use_pack=True)
RESULTS = run_inline_tests(PACK.rules)
PACK_ROOT = Path(__file__).resolve().parents[2] / "processor" / "rules" / "pack"

# The AWS techniques of Stratus Red Team the pack is written for (issue 7), by the id in references.
STRATUS_TECHNIQUES = {
    "aws.credential-access.ec2-get-password-data",
    "aws.credential-access.ec2-steal-instance-credentials",
    "aws.credential-access.secretsmanager-retrieve-secrets",
    "aws.credential-access.secretsmanager-batch-retrieve-secrets",
    "aws.credential-access.ssm-retrieve-securestring-parameters",
    "aws.defense-evasion.cloudtrail-delete",
    "aws.defense-evasion.cloudtrail-event-selectors",
    "aws.defense-evasion.cloudtrail-lifecycle-rule",
    "aws.defense-evasion.cloudtrail-stop",
    "aws.defense-evasion.dns-delete-logs",
    "aws.defense-evasion.organizations-leave",
    "aws.defense-evasion.vpc-remove-flow-logs",
    "aws.discovery.ec2-download-user-data",
    "aws.execution.ec2-launch-unusual-instances",
    "aws.execution.ec2-user-data",
    "aws.execution.ssm-send-command",
    "aws.execution.ssm-start-session",
    "aws.exfiltration.ec2-security-group-open-port-22-ingress",
    "aws.exfiltration.ec2-share-ami",
    "aws.exfiltration.ec2-share-ebs-snapshot",
    "aws.exfiltration.rds-share-snapshot",
    "aws.exfiltration.s3-backdoor-bucket-policy",
    "aws.impact.bedrock-invoke-model",
    "aws.initial-access.console-login-without-mfa",
    "aws.lateral-movement.ec2-instance-connect",
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
    "aws.persistence.iam-backdoor-role",
    "aws.persistence.iam-backdoor-user",
    "aws.persistence.iam-create-admin-user",
    "aws.persistence.iam-create-user-login-profile",
    "aws.persistence.lambda-backdoor-function",
    "aws.persistence.lambda-layer-extension",
    "aws.persistence.lambda-overwrite-code",
    "aws.persistence.rolesanywhere-create-trust-anchor",
    "aws.persistence.sts-federation-token",
    "aws.privilege-escalation.iam-update-user-login-profile",
}


def _name(result: TestResult) -> str:
    return f"{result.rule.ref.id}::{result.test.name if result.test else 'compile'}"


def test_the_pack_loads_without_problems() -> None:
    assert PACK.problems == ()
    assert len(PACK.rules) >= 120  # issue 19: pack v2


@pytest.mark.parametrize("result", RESULTS, ids=_name)
def test_inline_test(result: TestResult) -> None:
    assert result.passed, (result.test.location if result.test else result.rule.location, result.error)


@pytest.mark.parametrize("rule", PACK.rules, ids=lambda rule: rule.ref.id)
def test_each_rule_has_an_alert_and_a_near_miss(rule: RuleDefinition) -> None:
    outcomes = [test.alert for test in rule.tests]
    assert True in outcomes and False in outcomes


@pytest.mark.parametrize("rule", PACK.rules, ids=lambda rule: rule.ref.id)
def test_id_matches_the_file_path(rule: RuleDefinition) -> None:
    tactic, name = rule.ref.id.removeprefix("pack.").split(".", 1)
    assert rule.location.path == f"pack/{tactic}/{name}.yml"
    assert (PACK_ROOT / tactic / f"{name}.yml").is_file()


def test_every_stratus_technique_of_the_issue_has_a_rule() -> None:
    referenced = {ref for rule in PACK.rules for ref in rule.ref.references}
    assert STRATUS_TECHNIQUES - referenced == set()
    for rule in PACK.rules:
        assert any(ref.startswith("T1") for ref in rule.ref.references), rule.ref.id


def test_every_pack_rule_has_a_guard_so_most_events_skip_it() -> None:
    """A rule without guards runs on every record, so the fast path would decode every record."""
    report = check_rules(
        rules=None,
        ignore_rules=None,
        events_to_track=None,
        function_name="x",
        use_default_rules=True,
        use_detection_pack=True,
    )
    assert report.ok, report.problems
    unguarded = [c.ref.id for c in report.checks if c.ref.id.startswith("pack.") and not c.expression.guards]
    assert unguarded == []


def test_rules_test_passes_on_the_bundled_pack() -> None:
    result = CliRunner().invoke(main, ["rules", "test", "--pack"], env={})
    assert result.exit_code == 0, result.stdout
    assert f"{len(RESULTS)} passed, 0 failed, {len(PACK.rules)} rules" in result.stdout


def test_rules_test_follows_use_detection_pack() -> None:
    result = CliRunner().invoke(main, ["rules", "test"], env={"USE_DETECTION_PACK": "true"})
    assert result.exit_code == 0


def test_the_pack_is_package_data() -> None:
    from importlib import resources

    assert (
        resources.files("processor.rules.pack")
        .joinpath("persistence", "iam-role-trusts-external-principal.yml")
        .is_file()
    )
