"""Everything `make deploy` checks before it touches AWS, with the code the Lambda runs at cold start.

From the stack parameters it computes the environment the function will get (as the template does),
then runs the processor's own `load_settings` and `processor.app.build_rules` on it: a setting the
Lambda would refuse at its first invocation is refused here, before anything is deployed, with the
same message. The rules also give the forwarding pattern (processor/rules/forwarding.py).

Secrets never become stack parameters. A plaintext SLACK_BOT_TOKEN, HOOK_URL or CONFIGURATION is
refused with the exact fix, or, with --store-secrets, planned as an SSM SecureString parameter
(/<stack>/slack-bot-token, ...) whose name the stack gets as the *_SECRET reference. Values behind a
reference are read by the function at cold start (and by `trailalert config check --resolve-secrets`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.config import parameter_problems, source_names, stack_parameters
from infra.template import SECRET_REFERENCES, function_environment, parameter_name
from processor.config_check import check_configuration
from processor.errors import ConfigError
from processor.rules.forwarding import Forwarding, forwarding_pattern, pattern_json

# The account of ARNs that exist only once the stack does: shaped like the real thing.
_PLACEHOLDER_ACCOUNT = "000000000000"
SECRET_PARAMETER_SUFFIXES = {
    "SLACK_BOT_TOKEN": "slack-bot-token",
    "HOOK_URL": "hook-url",
    "CONFIGURATION": "configuration",
    "SLACK_SIGNING_SECRET": "slack-signing-secret",
    "TRIAGE_SIGNING_KEY": "triage-signing-key",
}


class Problems(Exception):
    """Settings make deploy cannot pass on; each line names a setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class Preflight:
    """What passed: the stack parameters (pattern included), the secrets to store, the pattern's notes."""

    parameters: dict[str, str]
    forwarding: Forwarding
    secrets: dict[str, tuple[str, str]] = field(default_factory=dict)  # plain name -> (SSM name, value)


def preflight(
    template: dict[str, Any], settings: Mapping[str, str], *, stack: str, region: str, store_secrets: bool
) -> Preflight:
    """Check every setting; raise Problems listing all that fail (not only the first)."""
    parameters = stack_parameters(template, settings)
    problems = parameter_problems(template, parameters)
    secrets: dict[str, tuple[str, str]] = {}
    for plain, reference in SECRET_REFERENCES.items():
        value = settings.get(plain, "")
        if not value.strip():
            continue
        ssm_name = f"/{stack}/{SECRET_PARAMETER_SUFFIXES[plain]}"
        if settings.get(reference):
            problems.append(f"{plain}: set either {plain} or {reference}, not both")
        elif store_secrets:
            secrets[plain] = (ssm_name, value)
            parameters[parameter_name(reference)] = ssm_name
        else:
            problems.append(_secret_fix(plain, reference, ssm_name))
    rules_file = parameters.get("RulesFile", "")
    if rules_file and not rules_file.startswith("s3://"):
        problems.append(
            f"RULES_FILE={rules_file!r}: the stack's function reads a path from its own package, which holds "
            f"only the processor (it has no layer); put the rule files in S3 (RULES_FILE=s3://bucket/prefix/)"
        )
        parameters["RulesFile"] = ""  # checked no further
    if parameters.get("BackfillWorker") == "true" and not parameters.get("BackfillBucket"):
        problems.append(
            "TRAILALERT_BACKFILL_WORKER=true needs TRAILALERT_BACKFILL_BUCKET: the CloudTrail bucket the "
            "backfill worker may read"
        )
    environment = lambda_environment(template, parameters, stack=stack, region=region)
    for plain, (_, value) in secrets.items():  # check the real value, as the function will read it
        environment.pop(SECRET_REFERENCES[plain], None)
        environment[plain] = value

    check = check_configuration(environment, read_s3_rules=not problems)
    problems.extend(_named(problem, template) for problem in check.problems)
    forwarding = None
    if check.rules is not None and check.settings is not None:
        forwarding = forwarding_pattern(check.rules, rules_file=check.settings.rules_file)
    if problems or forwarding is None:
        raise Problems(problems or ["the rules could not be built"])
    parameters["EventPattern"] = pattern_json(forwarding.pattern) if forwarding.narrowed else ""
    return Preflight(parameters, forwarding, secrets)


def lambda_environment(
    template: dict[str, Any], parameters: Mapping[str, str], *, stack: str, region: str
) -> dict[str, str]:
    """The function's environment as the template builds it from these parameters.

    Every variable is a parameter passed through, except four the template computes; a variable
    of any other shape is an error, so a template change cannot slip past the checks unseen."""
    environment: dict[str, str] = {}
    function_name = parameters.get("FunctionName") or stack
    for name, value in function_environment(template).items():
        if value == {"Ref": parameter_name(name)}:
            environment[name] = parameters.get(parameter_name(name), "")
        elif name == "FUNCTION_NAME":
            environment[name] = function_name
        elif name == "DYNAMODB_TABLE_NAME":
            environment[name] = parameters.get("DynamodbTableName") or f"{stack}-Table"
        elif name == "DEFAULT_SNS_TOPIC_ARN":
            environment[name] = _alerts_topic(parameters, stack, region)
        elif name == "TRIAGE_SIGNING_KEY_SECRET":
            environment[name] = _triage_signing_key(parameters, stack, region)
        else:
            raise ValueError(f"template: the function's {name} is computed in a way preflight does not know")
    return environment


def _alerts_topic(parameters: Mapping[str, str], stack: str, region: str) -> str:
    """The template's DEFAULT_SNS_TOPIC_ARN: the given topic, else the created one when no Slack is set."""
    if parameters.get("DefaultSnsTopicArn"):
        return parameters["DefaultSnsTopicArn"]
    if parameters.get("SlackBotTokenSecret") or parameters.get("HookUrlSecret"):
        return ""
    return f"arn:aws:sns:{region}:{_PLACEHOLDER_ACCOUNT}:{stack}-Topic"


def _triage_signing_key(parameters: Mapping[str, str], stack: str, region: str) -> str:
    """The template's TRIAGE_SIGNING_KEY_SECRET: the given reference, else the secret the stack generates
    when triage is on (SlackSigningSecretSecret set), else none."""
    if parameters.get("TriageSigningKeySecret"):
        return parameters["TriageSigningKeySecret"]
    if parameters.get("SlackSigningSecretSecret"):
        return (
            f"arn:aws:secretsmanager:{region}:{_PLACEHOLDER_ACCOUNT}:secret:{stack}-TriageSigningKey-AbCdEf"
        )
    return ""


def _named(error: ConfigError, template: dict[str, Any]) -> str:
    """The processor's message; a setting the stack computes is named as the user sets it."""
    user_name = source_names(template).get(parameter_name(error.setting), error.setting)
    return str(error) if user_name == error.setting else f"{user_name} ({error.setting}): {error.reason}"


def _secret_fix(plain: str, reference: str, ssm_name: str) -> str:
    return (
        f"{plain} is a secret, and the stack never puts a secret in the Lambda environment. Either run "
        f"`make deploy DEPLOY_ARGS=--store-secrets`, which stores it as the SSM SecureString parameter "
        f"{ssm_name} and deploys {reference}={ssm_name}; or store it yourself (aws ssm put-parameter "
        f"--type SecureString --name {ssm_name} --value ...) and replace {plain} with {reference}={ssm_name}"
    )
