"""`trailalert rules import-sigma`: Sigma rules written for these tests, each construct translated and
checked on events through `trailalert rules test` and the rule set, each refused construct reported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from infra import package
from processor.cli import main
from tests.rules_files.helpers import ruleset
from tests.sigma.events import DROP, record

RULES = Path(__file__).parent / "rules"
TRAIL = "6a1d0c52-7f3e-4d0b-9a51-1c2e3f405161"  # trail-tampering.yml
CONSOLE = "3f9e2b71-0c4d-4e8a-b6f2-7a8b9c0d1e2f"  # console-names.yml
NULLS = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d"  # null-checks.yml
BURST = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"  # secret-burst.yml
POLICY = "2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091"  # bucket-correlation.yml (the correlation)
OFFICE = "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8"  # office-cli.yml

_LOGIN = {
    "eventSource": "signin.amazonaws.com",
    "eventName": "ConsoleLogin",
    "userIdentity.userName": "Break-Glass",
    "sourceIPAddress": "203.0.113.7",
    "requestParameters": None,
    "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/", "MobileVersion": "No"},
}
_KEY = {"eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "requestParameters": {}}
_SECRET = {"eventSource": "secretsmanager.amazonaws.com", "eventName": "GetSecretValue"}
_POLICY = {"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy"}
_OFFICE = {"sourceIPAddress": "10.1.2.3", "userAgent": "aws-cli/2.17.20 Python/3.11.9 Linux/6.5"}

# What each translated rule must say about events: (test name, changes to the base record, alert?).
CASES: dict[str, list[tuple[str, dict[str, Any], bool]]] = {
    TRAIL: [
        ("StopLogging from the CLI on Linux", {}, True),
        ("DeleteTrail (startswith, second value of the list)", {"eventName": "DeleteTrail"}, True),
        (
            "plain values and contains match in any case",
            {
                "eventSource": "CloudTrail.AmazonAWS.com",
                "eventName": "STOPLOGGING",
                "userAgent": "AWS-CLI/2.17 LINUX",
            },
            True,
        ),
        ("StartLogging does not start with Stop or Delete", {"eventName": "StartLogging"}, False),
        ("contains|all needs both values", {"userAgent": "aws-cli/2.17.20 Python/3.11.9 Darwin/23"}, False),
        ("a missing field contains nothing", {"userAgent": DROP}, False),
        ("another service", {"eventSource": "s3.amazonaws.com"}, False),
        (
            "the admin role is filtered (endswith, any case)",
            {"userIdentity.arn": "arn:aws:iam::111122223333:role/trailadmin"},
            False,
        ),
        ("sandbox trails are filtered (1 of filter_*)", {"requestParameters.name": "Sandbox-Trail"}, False),
    ],
    CONSOLE: [
        ("break-glass sign-in from the address range", _LOGIN, True),
        ("the event name in another case", {**_LOGIN, "eventName": "consolelogin"}, True),
        ("cased: the user name in another case", {**_LOGIN, "userIdentity.userName": "break-glass"}, False),
        (
            "wildcards inside a value, ? for one character",
            {
                **_LOGIN,
                "sourceIPAddress": "198.51.100.1",
                "additionalEventData.LoginTo": "https://us-east-1.console.aws.amazon.com/console/home?region=x",
            },
            True,
        ),
        (
            "? needs a character",
            {
                **_LOGIN,
                "sourceIPAddress": "198.51.100.1",
                "additionalEventData.LoginTo": "https://eu.console.aws.amazon.com/console/home",
            },
            False,
        ),
        (
            "Y?s matches YES",
            {**_LOGIN, "sourceIPAddress": "198.51.100.1", "additionalEventData.MobileVersion": "YES"},
            True,
        ),
        (
            "Y?s does not match Yeas",
            {**_LOGIN, "sourceIPAddress": "198.51.100.1", "additionalEventData.MobileVersion": "Yeas"},
            False,
        ),
        ("a boolean matches as text: readOnly true is not false", {**_LOGIN, "readOnly": True}, False),
        ("readOnly as the string FALSE matches false", {**_LOGIN, "readOnly": "FALSE"}, True),
        ("a number matches as text: 1.09 is not 1.08", {**_LOGIN, "eventVersion": "1.09"}, False),
    ],
    NULLS: [
        ("a key created, no error field", _KEY, True),
        ("errorCode JSON null is null", {**_KEY, "errorCode": None}, True),
        ("an error is not null", {**_KEY, "errorCode": "AccessDenied"}, False),
        (
            "exists: an access key id that is null still exists",
            {**_KEY, "userIdentity.accessKeyId": None},
            True,
        ),
        ("exists: no access key id", {**_KEY, "userIdentity.accessKeyId": DROP}, False),
        ("'' matches an empty user agent", {**_KEY, "userAgent": ""}, False),
        ("'' does not match a missing user agent", {**_KEY, "userAgent": DROP}, True),
        ("'' does not match a null user agent", {**_KEY, "userAgent": None}, True),
        ("invoked by a service", {**_KEY, "userIdentity.invokedBy": "cloudformation.amazonaws.com"}, False),
    ],
    BURST: [
        ("a secret read counts", _SECRET, True),
        ("a read without the group-by field does not count", {**_SECRET, "userIdentity.arn": DROP}, False),
        ("listing secrets does not count", {**_SECRET, "eventName": "ListSecrets"}, False),
    ],
    POLICY: [
        ("a policy put counts", _POLICY, True),
        ("a policy delete counts (the value list)", {**_POLICY, "eventName": "DeleteBucketPolicy"}, True),
        ("an ACL change does not count", {**_POLICY, "eventName": "PutBucketAcl"}, False),
        ("no source address: not counted", {**_POLICY, "sourceIPAddress": DROP}, False),
    ],
    OFFICE: [
        ("CLI v2 from 10/8", _OFFICE, True),
        ("CLI v2 from the v6 range", {**_OFFICE, "sourceIPAddress": "2001:db8::17"}, True),
        ("outside the ranges", {**_OFFICE, "sourceIPAddress": "192.0.2.1"}, False),
        ("a service name is no address", {**_OFFICE, "sourceIPAddress": "AWS Internal"}, False),
        ("CLI v1", {**_OFFICE, "userAgent": "aws-cli/1.29.0 Python/3.11"}, False),
        ("re is case-sensitive", {**_OFFICE, "userAgent": "AWS-CLI/2.17.20"}, False),
        ("re does not match a missing field", {**_OFFICE, "userAgent": DROP}, False),
        (
            "re|i: the ops role in capitals is filtered",
            {**_OFFICE, "userIdentity.arn": "arn:aws:sts::111122223333:assumed-role/OPS-deploy/x"},
            False,
        ),
        (
            "another role is not filtered",
            {**_OFFICE, "userIdentity.arn": "arn:aws:sts::111122223333:assumed-role/dev-x/y"},
            True,
        ),
    ],
}


def run_import(*args: str) -> Result:
    return CliRunner().invoke(main, ["rules", "import-sigma", *args])


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("imported")
    return run_import(str(RULES / "translated"), "--output", str(out)), out


def test_every_rule_written_for_the_tests_is_translated(imported: tuple[Result, Path]) -> None:
    result, out = imported
    assert result.exit_code == 0, result.output
    assert f"{len(CASES)} translated, 0 skipped" in result.output
    # The correlation's own rule is not an alert of its own (Sigma's generate: false).
    assert sorted(p.stem for p in out.iterdir()) == sorted(CASES)


def test_metadata_is_carried_over(imported: tuple[Result, Path]) -> None:
    _, out = imported
    trail = yaml.safe_load((out / f"{TRAIL}.yml").read_text())
    assert trail["title"] == "Trail tampering from the command line"
    assert trail["severity"] == "high"
    assert trail["description"].startswith("A trail is stopped or deleted")
    assert trail["description"].endswith("False positives: Planned trail migrations")
    assert trail["references"] == [
        "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html",
        "attack.defense-evasion",
        "T1562.008",
    ]
    severities = {rule: yaml.safe_load((out / f"{rule}.yml").read_text())["severity"] for rule in CASES}
    assert severities == {
        TRAIL: "high",
        CONSOLE: "info",  # informational
        NULLS: "critical",
        BURST: "medium",
        POLICY: "high",
        OFFICE: "low",
    }


def test_count_by_and_event_count_become_threshold_rules(imported: tuple[Result, Path]) -> None:
    _, out = imported
    burst = yaml.safe_load((out / f"{BURST}.yml").read_text())
    assert burst["threshold"] == {"count": 5, "window_seconds": 600}  # count() > 4 within 10m
    assert burst["group_by"] == ["userIdentity.arn"]
    policy = yaml.safe_load((out / f"{POLICY}.yml").read_text())
    assert policy["threshold"] == {"count": 3, "window_seconds": 300}  # gte: 3 within 5m
    assert policy["group_by"] == ["sourceIPAddress"]


def _with_tests(out: Path, folder: Path) -> None:
    """Copy the generated files with CASES as their inline tests, for `trailalert rules test`."""
    folder.mkdir()
    for rule_id, cases in CASES.items():
        document = yaml.safe_load((out / f"{rule_id}.yml").read_text())
        document["tests"] = [
            {"name": name, "event": record(changes), "alert": alert} for name, changes, alert in cases
        ]
        (folder / f"{rule_id}.yml").write_text(yaml.safe_dump(document, sort_keys=False))


def test_each_construct_alerts_as_sigma_means_it(imported: tuple[Result, Path], tmp_path: Path) -> None:
    _, out = imported
    _with_tests(out, tmp_path / "tested")
    result = CliRunner().invoke(main, ["rules", "test", str(tmp_path / "tested")], env={})
    total = sum(len(cases) for cases in CASES.values())
    assert result.exit_code == 0, result.output
    assert f"{total} passed, 0 failed, {len(CASES)} rules" in result.output


def test_rules_check_accepts_the_imported_rules_and_they_have_guards(imported: tuple[Result, Path]) -> None:
    _, out = imported
    result = CliRunner().invoke(
        main, ["rules", "check", "--no-default-rules", "--rules-file", str(out)], env={}
    )
    assert result.exit_code == 0, result.output
    assert f"{len(CASES)} of {len(CASES)} rules OK" in result.output
    assert "[runs on every event]" not in result.output


def _reads(rule_id: str, out: Path, events: list[dict[str, Any]]) -> list[bool]:
    rules = ruleset(rules_file=str(out))
    return [getattr(rules.evaluate(event).matched, "id", None) == rule_id for event in events]


def test_the_count_by_rule_alerts_on_the_fifth_read_of_one_principal(imported: tuple[Result, Path]) -> None:
    _, out = imported

    def read(minute: int, who: str) -> dict[str, Any]:
        return record(
            {**_SECRET, "userIdentity.arn": f"arn:aws:iam::111122223333:user/{who}"},
            eventTime=f"2026-11-20T09:{minute:02d}:00Z",
        )

    spread = [read(m, "alice") for m in (0, 4, 8, 12, 16)]  # never five within ten minutes
    assert _reads(BURST, out, spread) == [False] * 5
    burst = [read(m, who) for m, who in ((0, "alice"), (1, "bob"), (2, "alice"), (3, "alice"), (4, "alice"))]
    burst += [read(5, "bob"), read(6, "alice")]
    assert _reads(BURST, out, burst) == [False, False, False, False, False, False, True]


def test_the_event_count_correlation_alerts_on_the_third_change_from_one_address(
    imported: tuple[Result, Path],
) -> None:
    _, out = imported
    events = [
        record({**_POLICY, "sourceIPAddress": ip}, eventTime=f"2026-11-20T09:0{n}:00Z")
        for n, ip in enumerate(["198.51.100.1", "198.51.100.1", "198.51.100.2", "198.51.100.1"])
    ]
    assert _reads(POLICY, out, events) == [False, False, False, True]


# --- what is refused ------------------------------------------------------------------------------

REFUSED = {
    "00000000-0000-4000-a000-000000000001": "modifier 'base64' on requestParameters.userData",
    "00000000-0000-4000-a000-000000000002": "modifier 'windash' on userAgent",
    "00000000-0000-4000-a000-000000000003": "keyword search",
    "00000000-0000-4000-a000-000000000004": "logsource {product: windows, category: process_creation}",
    "00000000-0000-4000-a000-000000000005": "field name with a wildcard (requestParameters.*.cidrIp)",
    "00000000-0000-4000-a000-000000000006": "count(requestParameters.roleArn) counts distinct values",
    "00000000-0000-4000-a000-000000000007": "count() without a timeframe",
    "00000000-0000-4000-a000-000000000008": "count condition < 2",
    "00000000-0000-4000-a000-000000000009": "modifier 'gt' on requestParameters.maxResults",
    "00000000-0000-4000-a000-000000000010": "modifier 'expand' on userIdentity.userName",
    "00000000-0000-4000-a000-000000000011": "null on requestParameters, an object",
    "00000000-0000-4000-a000-000000000012": "Unknown modifier 'sounds_like'",
    "00000000-0000-4000-a000-000000000013": "modifier 'fieldref'",
    "00000000-0000-4000-a000-000000000015": "correlation type value_count",
    "00000000-0000-4000-a000-000000000016": "timespan 7d is longer than",
    "00000000-0000-4000-a000-000000000017": "count condition eq 3",
    "00000000-0000-4000-a000-000000000018": "Sigma filters are not supported",
    "00000000-0000-4000-a000-000000000019": "Rule 'nowhere_to_be_found' not found",
    "00000000-0000-4000-a000-000000000020": "(?=",  # RE2 has no lookahead: the rule language refuses it
}


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("refused")
    return run_import(str(RULES / "refused"), "-o", str(out)), out


def test_untranslatable_rules_are_skipped_and_nothing_is_written(refused: tuple[Result, Path]) -> None:
    result, out = refused
    assert result.exit_code == 1
    assert f"0 translated, {len(REFUSED)} skipped" in result.output
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize("rule_id", sorted(REFUSED))
def test_the_report_names_the_construct(refused: tuple[Result, Path], rule_id: str) -> None:
    result, _ = refused
    (line,) = [line for line in result.output.splitlines() if rule_id in line]
    assert line.startswith("skipped")
    assert REFUSED[rule_id] in line


def test_a_mixed_run_writes_what_it_can_and_exits_1(tmp_path: Path) -> None:
    result = run_import(
        str(RULES / "translated" / "null-checks.yml"), str(RULES / "refused"), "-o", str(tmp_path)
    )
    assert result.exit_code == 1
    assert f"1 translated, {len(REFUSED)} skipped" in result.output
    assert [p.name for p in tmp_path.iterdir()] == [f"{NULLS}.yml"]


def test_a_missing_path_is_reported(tmp_path: Path) -> None:
    result = run_import(str(tmp_path / "nowhere"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "no such file or folder" in result.output


# --- the optional extra ----------------------------------------------------------------------------


def test_without_pysigma_the_command_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [name for name in sys.modules if name == "sigma" or name.startswith("sigma.")]:
        monkeypatch.setitem(sys.modules, name, None)  # what an installation without the extra sees
    monkeypatch.setitem(sys.modules, "sigma", None)
    monkeypatch.delitem(sys.modules, "processor.rules.sigma_import", raising=False)
    result = run_import(str(RULES / "translated"), "-o", str(tmp_path))
    assert result.exit_code == 1
    assert "pip install 'trailalert[sigma]'" in result.output


def test_trailalert_does_not_import_pysigma_unless_asked() -> None:
    code = "import sys, processor.cli, processor.handler; assert 'sigma' not in sys.modules, 'sigma'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_pysigma_is_not_in_the_lambda_package() -> None:
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    assert "pySigma" in pyproject.read_text()  # in the extras
    requirements = package.runtime_requirements(pyproject, include_boto3=True)
    assert requirements and not any(r.lower().startswith("pysigma") for r in requirements)


def test_the_report_says_what_a_written_rule_costs_or_lacks(tmp_path: Path) -> None:
    result = run_import(str(RULES / "notes"), "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("translated")]
    assert "no level: severity medium" in line
    assert "no guard: it runs on every record, and the fast path is off" in line
    check = CliRunner().invoke(
        main, ["rules", "check", "--no-default-rules", "--rules-file", str(tmp_path)], env={}
    )
    assert "[runs on every event]" in check.output


_COUNTED = """\
title: Role assumed
id: 8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d
name: role_assumed
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventName: AssumeRole
  filter_service:
    userIdentity.invokedBy|exists: false
  condition: selection and filter_service
level: low
---
title: Many roles assumed
id: 9b0c1d2e-3f4a-4b6c-9d7e-8f9a0b1c2d3e
correlation:
  type: event_count
  rules: [role_assumed]
  generate: true
  timespan: 1h
  condition: {gt: 9}
level: medium
"""


def test_generate_true_writes_the_counted_rule_too_and_ids_stay_unique(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(_COUNTED)
    (tmp_path / "b.yml").write_text(_COUNTED.split("---")[0])  # the same id again, in another file
    result = run_import(str(tmp_path / "a.yml"), str(tmp_path / "b.yml"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "2 translated, 1 skipped" in result.output
    assert "id 8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d is already taken by" in result.output
    counted = yaml.safe_load((tmp_path / "out" / "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d.yml").read_text())
    assert counted["condition"].endswith('and "userIdentity.invokedBy" not in event')
    correlation = yaml.safe_load((tmp_path / "out" / "9b0c1d2e-3f4a-4b6c-9d7e-8f9a0b1c2d3e.yml").read_text())
    assert correlation["threshold"] == {"count": 10, "window_seconds": 3600}  # gt 9 within 1h
    assert "group_by" not in correlation
