"""Packaging (offline parts) and deploy settings."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from infra import package
from infra.config import (
    gather_settings,
    known_names,
    parameter_problems,
    read_env_file,
    source_names,
    stack_parameters,
)
from infra.preflight import preflight
from infra.template import load_template

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A copy of the repo's processor package and pyproject, with bytecode caches lying around."""
    root = tmp_path / "src"
    shutil.copytree(REPO / "processor", root / "processor", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    (root / "processor" / "__pycache__").mkdir(exist_ok=True)
    (root / "processor" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    return root


def test_two_builds_of_the_same_sources_are_byte_identical(source: Path, tmp_path: Path):
    first = package.build(tmp_path / "a.zip", with_dependencies=False, source_root=source)
    # A later checkout has other mtimes: they must not leak into the zip.
    os.utime(source / "processor" / "handler.py", (1_900_000_000, 1_900_000_000))
    second = package.build(tmp_path / "b.zip", with_dependencies=False, source_root=source)
    assert first == second
    assert hashlib.sha256((tmp_path / "a.zip").read_bytes()).hexdigest() == first
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_zip_holds_the_handler_and_no_caches_tests_or_devtools(source: Path, tmp_path: Path):
    package.build(tmp_path / "a.zip", with_dependencies=False, source_root=source)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        names = archive.namelist()
        infos = archive.infolist()
    assert "processor/handler.py" in names and "processor/settings.py" in names
    assert names == sorted(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [
        n for n in names if n.startswith(("processor/devtools/", "tests/")) or n == "processor/demo.py"
    ]
    assert {info.date_time for info in infos} == {package.FIXED_DATE_TIME}


def test_runtime_requirements_leave_boto3_to_the_lambda_runtime():
    requirements = package.runtime_requirements(REPO / "pyproject.toml")
    assert not [r for r in requirements if r.lower().startswith(("boto3", "botocore"))]
    assert any(r.startswith("orjson") for r in requirements)
    with_boto = package.runtime_requirements(REPO / "pyproject.toml", include_boto3=True)
    assert any(r.startswith("boto3") for r in with_boto)


def test_env_file_values_are_literal(tmp_path: Path):
    path = tmp_path / "deploy.env"
    path.write_text(
        '# comment\n\nexport LOG_LEVEL=DEBUG\nRULES=event["eventName"] == "X" # not a comment\n'
        'SNS_CONFIGURATION=\'[{"accounts": ["1"], "sns_topic_arn": "arn:aws:sns:us-east-1:1:t"}]\'\n',
        encoding="utf-8",
    )
    values = read_env_file(path)
    assert values["LOG_LEVEL"] == "DEBUG"
    assert values["RULES"] == 'event["eventName"] == "X" # not a comment'
    assert values["SNS_CONFIGURATION"].startswith('[{"accounts"')


def test_settings_use_the_lambda_names_and_infra_parameters_a_prefix():
    names = source_names(load_template())
    assert names["LogLevel"] == "LOG_LEVEL"
    assert names["SlackBotTokenSecret"] == "SLACK_BOT_TOKEN_SECRET"
    assert names["LambdaMemorySize"] == "TRAILALERT_LAMBDA_MEMORY_SIZE"
    assert "CodeS3Bucket" not in names, "make deploy sets the code location itself"


def test_routed_topics_are_derived_for_the_role_and_defaults_passed_explicitly():
    template = load_template()
    routes = '[{"accounts": ["1"], "sns_topic_arn": "arn:aws:sns:us-east-1:1:b"}, {"accounts": ["2"], "sns_topic_arn": "arn:aws:sns:us-east-1:1:a"}]'
    severity = '[{"min_severity": "critical", "sns_topic_arn": "arn:aws:sns:us-east-1:1:c"}]'
    parameters = stack_parameters(template, {"SNS_CONFIGURATION": routes, "SEVERITY_ROUTING": severity})
    assert parameters["SnsConfigurationTopicArns"] == (
        "arn:aws:sns:us-east-1:1:a,arn:aws:sns:us-east-1:1:b,arn:aws:sns:us-east-1:1:c"
    )
    assert parameters["LogLevel"] == "INFO", "a setting left out gets the template default"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"TRAILALERT_LAMBDA_MEMORY_SIZE": "64"}, "TRAILALERT_LAMBDA_MEMORY_SIZE=64 is outside"),
        ({"TRAILALERT_BATCH_SIZE": "many"}, "TRAILALERT_BATCH_SIZE='many' is not a number"),
        ({"USE_DEFAULT_RULES": "maybe"}, "USE_DEFAULT_RULES='maybe' is not one of"),
    ],
)
def test_bad_values_are_named_as_the_user_wrote_them(settings: dict[str, str], message: str):
    template = load_template()
    [problem] = parameter_problems(template, stack_parameters(template, settings))
    assert problem.startswith(message)


def test_every_name_in_deploy_env_example_is_one_make_deploy_passes_on():
    text = (REPO / "infra" / "deploy.env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    assert len(names) > 30
    assert names - known_names(load_template()) == set()


def test_the_example_as_given_passes_every_check():
    template = load_template()
    settings, problems = gather_settings(REPO / "infra" / "deploy.env.example", {}, template)
    assert problems == []
    checked = preflight(template, settings, stack="trailalert", region="eu-west-1", store_secrets=False)
    assert checked.parameters["SlackBotTokenSecret"] == "/trailalert/slack-bot-token"
    assert checked.forwarding.narrowed and checked.parameters["EventPattern"].startswith("{")
