"""`make deploy` refuses what it cannot pass on, naming the setting, before any AWS call.

Each case runs `python -m infra.deploy` as `make deploy` does, with AWS_ENDPOINT_URL pointing at a
local HTTP server that records every request: "before any AWS call" means that server saw nothing.
The cases that get as far as AWS run against moto's server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer

from infra import package

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.*")


def run(
    env_file: Path | None, *args: str, endpoint: str, drop: tuple[str, ...] = (), **environ: str
) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRAILALERT_", "RULES", "SLACK_", "HOOK_URL", "CONFIGURATION"))
        and key not in drop
    }
    env.update(AWS_ENDPOINT_URL=endpoint, PYTHONPATH=str(REPO), **environ)
    command = [sys.executable, "-m", "infra.deploy", "--poll-seconds", "0.05", *args]
    if env_file is not None:
        command += ["--env-file", str(env_file)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def write_env(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def recorder(httpserver: HTTPServer) -> HTTPServer:
    """An endpoint that answers 500 to anything and remembers every request."""
    httpserver.expect_request("").respond_with_data("not AWS", status=500)
    return httpserver


BAD_SETTINGS = [
    pytest.param(
        'CONFIGURATION=[{"accounts":["222222222222"],"slack_hook_url":"https://hooks.slack.com/services/T/B/x"}]\n',
        ["CONFIGURATION is a secret", "--store-secrets", "CONFIGURATION_SECRET=/ta-check/configuration"],
        id="plaintext CONFIGURATION",
    ),
    pytest.param(
        "HOOK_URL=https://hooks.slack.com/services/T/B/x\n",
        ["HOOK_URL is a secret", "aws ssm put-parameter --type SecureString --name /ta-check/hook-url"],
        id="plaintext HOOK_URL",
    ),
    pytest.param(
        "SLACK_BOT_TOKEN=xoxb-1-2-3\nDEFAULT_SLACK_CHANNEL_ID=C0123\n",
        ["SLACK_BOT_TOKEN is a secret", "SLACK_BOT_TOKEN_SECRET=/ta-check/slack-bot-token"],
        id="plaintext SLACK_BOT_TOKEN",
    ),
    pytest.param(
        "TRAILALERT_LAMBDA_MEMROY_SIZE=1024\n",
        ["TRAILALERT_LAMBDA_MEMROY_SIZE", "did you mean TRAILALERT_LAMBDA_MEMORY_SIZE?"],
        id="misspelled name",
    ),
    pytest.param(
        "SLACK_APP_CONFIGURATION=[{\n", ["SLACK_APP_CONFIGURATION: is not valid JSON"], id="broken JSON"
    ),
    pytest.param(
        "RULES=__import__('os').system('id')\n",
        ["RULES: rule \"__import__('os').system('id')\" rejected"],
        id="unsafe rule",
    ),
    pytest.param("LOG_LEVEL=LOUD\n", ["LOG_LEVEL='LOUD' is not one of"], id="value the template refuses"),
    pytest.param(
        "LOG_LEVEL=INFO\nLOG_LEVEL=DEBUG\n",
        ["deploy.env:3: LOG_LEVEL is already set on line 2"],
        id="a name set twice",
    ),
    pytest.param(
        "TRAILALERT_EVENT_SOURCES=aws.iam\n",
        ["TRAILALERT_EVENT_SOURCES", "no longer used", "trailalert rules pattern"],
        id="retired name",
    ),
    pytest.param(
        "RULES_FILE=/opt/rules\n", ["RULES_FILE='/opt/rules'", "RULES_FILE=s3://"], id="rules file path"
    ),
    pytest.param(
        'SEVERITY_ROUTING=[{"min_severity": "critical", "slack_channel_id": "C0PAGE"}]\n',
        ["SEVERITY_ROUTING: slack_channel_id needs SLACK_BOT_TOKEN"],
        id="destination the function would refuse",
    ),
]


@pytest.mark.parametrize(("settings", "messages"), BAD_SETTINGS)
def test_a_setting_make_deploy_cannot_pass_on_is_named_before_any_aws_call(
    recorder: HTTPServer, lambda_zip: Path, tmp_path: Path, settings: str, messages: list[str]
):
    env_file = write_env(tmp_path / "deploy.env", "TRAILALERT_STACK_NAME=ta-check\n" + settings)
    result = run(env_file, "--yes", "--zip", str(lambda_zip), endpoint=recorder.url_for("/"))
    assert result.returncode == 1
    for message in messages:
        assert message in result.stderr
    assert "nothing was deployed" in result.stderr
    assert "Traceback" not in result.stderr
    assert recorder.log == [], "no request reached AWS"


def test_every_problem_is_listed_not_only_the_first(recorder: HTTPServer, lambda_zip: Path, tmp_path: Path):
    env_file = write_env(
        tmp_path / "deploy.env",
        "HOOK_URL=https://hooks.slack.com/services/x\nTRAILALERT_BATCH_SIZ=5\nRULES=open('x')\n",
    )
    result = run(env_file, "--zip", str(lambda_zip), endpoint=recorder.url_for("/"))
    assert result.returncode == 1
    assert "TRAILALERT_BATCH_SIZ" in result.stderr  # names are checked first: that run stops there
    result = run(
        write_env(tmp_path / "deploy.env", "HOOK_URL=https://hooks.slack.com/services/x\nRULES=open('x')\n"),
        "--zip",
        str(lambda_zip),
        endpoint=recorder.url_for("/"),
    )
    assert "HOOK_URL is a secret" in result.stderr and "RULES: rule" in result.stderr
    assert "2 problem(s)" in result.stderr
    assert recorder.log == []


def test_an_unknown_trailalert_name_in_the_environment_is_named(
    recorder: HTTPServer, lambda_zip: Path, tmp_path: Path
):
    env_file = write_env(tmp_path / "deploy.env", "LOG_LEVEL=INFO\n")
    result = run(
        env_file, "--zip", str(lambda_zip), endpoint=recorder.url_for("/"), TRAILALERT_STREM_MODE="ON_DEMAND"
    )
    assert result.returncode == 1
    assert "TRAILALERT_STREM_MODE (in the environment)" in result.stderr
    assert "did you mean TRAILALERT_STREAM_MODE?" in result.stderr
    assert recorder.log == []


def test_a_missing_deploy_env_is_an_error_unless_the_environment_alone_is_asked_for(
    recorder: HTTPServer, lambda_zip: Path, tmp_path: Path
):
    missing = tmp_path / "deploy.env"
    result = run(missing, "--zip", str(lambda_zip), endpoint=recorder.url_for("/"))
    assert result.returncode == 1
    assert f"{missing} not found" in result.stderr and "--no-env-file" in result.stderr
    assert recorder.log == []

    result = run(None, "--no-env-file", "--zip", str(lambda_zip), endpoint=recorder.url_for("/"))
    assert "not found" not in result.stderr
    assert recorder.log, "with --no-env-file the settings pass and make deploy goes on to AWS"
    assert "is not an AWS response: check AWS_ENDPOINT_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_zip_without_wheels_for_the_runtime_is_refused(recorder: HTTPServer, tmp_path: Path):
    only_312 = tmp_path / "only-312.zip"
    package.build(only_312, architecture="x86_64", runtimes=("python3.12",))
    env_file = write_env(tmp_path / "deploy.env", "TRAILALERT_LAMBDA_RUNTIME=python3.13\n")
    result = run(env_file, "--zip", str(only_312), endpoint=recorder.url_for("/"))
    assert result.returncode == 1
    assert "TRAILALERT_LAMBDA_ZIP" in result.stderr and "not python3.13" in result.stderr
    env_file = write_env(tmp_path / "deploy.env", "TRAILALERT_LAMBDA_ARCHITECTURE=arm64\n")
    result = run(env_file, "--zip", str(only_312), endpoint=recorder.url_for("/"))
    assert "built for x86_64, the function runs on arm64" in result.stderr
    assert recorder.log == []


def test_missing_credentials_are_one_line_with_the_fix(lambda_zip: Path, tmp_path: Path):
    env_file = write_env(tmp_path / "deploy.env", "LOG_LEVEL=INFO\n")
    empty = write_env(tmp_path / "empty", "")
    result = run(
        env_file,
        "--zip",
        str(lambda_zip),
        endpoint="http://127.0.0.1:9",
        drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_CONFIG_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
    )
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if not line.startswith("note: ")] == [
        "deploy failed: no AWS credentials found: set AWS_PROFILE (in deploy.env or the environment), run "
        "`aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ]


def test_an_unreachable_endpoint_is_one_line_with_the_fix(lambda_zip: Path, tmp_path: Path):
    env_file = write_env(tmp_path / "deploy.env", "LOG_LEVEL=INFO\n")
    result = run(env_file, "--zip", str(lambda_zip), endpoint="http://127.0.0.1:9")
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    assert line.startswith("deploy failed: cannot reach http://127.0.0.1:9")
    assert "check AWS_ENDPOINT_URL, AWS_REGION and your network" in line


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


def test_the_change_set_is_shown_and_not_executed_without_a_yes(aws: str, lambda_zip: Path, tmp_path: Path):
    env_file = write_env(tmp_path / "deploy.env", "TRAILALERT_STACK_NAME=ta-review\n")
    result = run(env_file, "--zip", str(lambda_zip), endpoint=aws)  # stdin is not a terminal
    assert result.returncode == 1
    assert "(CREATE of stack ta-review" in result.stderr
    lines = result.stderr.splitlines()
    assert any(line.split()[:3] == ["+", "add", "Stream"] for line in lines)
    assert any(line.split()[:3] == ["+", "add", "Function"] for line in lines)
    assert "was not executed" in result.stderr and "--yes" in result.stderr
    assert client(aws, "kinesis").list_streams()["StreamNames"] == [], "nothing was created"
    assert client(aws, "lambda").list_functions()["Functions"] == []
    live = client(aws, "cloudformation").list_stacks()["StackSummaries"]
    assert [s["StackStatus"] for s in live if s["StackName"] == "ta-review"] in ([], ["DELETE_COMPLETE"])

    result = run(env_file, "--zip", str(lambda_zip), "--yes", endpoint=aws)
    assert result.returncode == 0, result.stderr
    stack = client(aws, "cloudformation").describe_stacks(StackName="ta-review")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"

    write_env(env_file, "TRAILALERT_STACK_NAME=ta-review\nLOG_LEVEL=DEBUG\n")
    result = run(env_file, "--zip", str(lambda_zip), endpoint=aws)
    assert "(UPDATE of stack ta-review" in result.stderr
    # moto's change sets list template changes only (no Modify for a parameter, no Replacement), so
    # the parameter's line is what shows here; on AWS the Function's "~ modify" line comes with it.
    assert "parameter LogLevel: 'INFO' -> 'DEBUG'" in result.stderr
    config = client(aws, "lambda").get_function_configuration(FunctionName="ta-review")
    assert config["Environment"]["Variables"]["LOG_LEVEL"] == "INFO", "not executed without a yes"


def test_store_secrets_puts_them_in_ssm_and_deploys_only_the_references(
    aws: str, lambda_zip: Path, tmp_path: Path
):
    routes = [{"accounts": ["222222222222"], "slack_hook_url": "https://hooks.slack.com/services/T/B/y"}]
    env_file = write_env(
        tmp_path / "deploy.env",
        "TRAILALERT_STACK_NAME=ta-secrets\nSLACK_BOT_TOKEN=xoxb-1-2-3\nDEFAULT_SLACK_CHANNEL_ID=C0123\n"
        f"HOOK_URL=https://hooks.slack.com/services/T/B/x\nCONFIGURATION={json.dumps(routes)}\n",
    )
    result = run(env_file, "--zip", str(lambda_zip), "--yes", "--store-secrets", endpoint=aws)
    assert result.returncode == 0, result.stderr
    assert "xoxb-1-2-3" not in result.stderr + result.stdout, "a secret is never printed"
    ssm = client(aws, "ssm")
    stored = {
        name: ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        for name in ("/ta-secrets/slack-bot-token", "/ta-secrets/hook-url", "/ta-secrets/configuration")
    }
    assert {p["Type"] for p in stored.values()} == {"SecureString"}
    assert stored["/ta-secrets/slack-bot-token"]["Value"] == "xoxb-1-2-3"
    assert json.loads(stored["/ta-secrets/configuration"]["Value"]) == routes
    variables = client(aws, "lambda").get_function_configuration(FunctionName="ta-secrets")["Environment"][
        "Variables"
    ]
    assert variables["SLACK_BOT_TOKEN_SECRET"] == "/ta-secrets/slack-bot-token"
    assert variables["HOOK_URL_SECRET"] == "/ta-secrets/hook-url"
    assert variables["CONFIGURATION_SECRET"] == "/ta-secrets/configuration"
    assert not {"SLACK_BOT_TOKEN", "HOOK_URL", "CONFIGURATION"} & set(variables)
    assert "xoxb-1-2-3" not in json.dumps(variables)
