"""Deploy settings from deploy.env and the environment, turned into stack parameters.

Processor settings are spelled as the Lambda reads them (RULES, LOG_LEVEL, SLACK_BOT_TOKEN_SECRET...),
so one vocabulary serves the reference module's users, the CLI and the stack. Infrastructure parameters
are TRAILALERT_ + their name in upper snake case (LambdaMemorySize -> TRAILALERT_LAMBDA_MEMORY_SIZE).
A setting left out gets the template's default, passed explicitly: deploy.env is the whole truth, a
value removed from it reverts on the next deploy (and local endpoints that mishandle list defaults work).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.template import env_style_name, function_environment, parameter_name

PREFIX = "TRAILALERT_"
# Parameters that make deploy sets itself, never read from the user.
MANAGED_PARAMETERS = frozenset({"CodeS3Bucket", "CodeS3Key"})


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines. Everything after "=" is the value, taken literally (rules and JSON hold quotes,
    spaces and "#"); one pair of surrounding quotes is removed. Whole-line "#" comments and `export `
    are accepted, inline comments are not."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def merged_settings(env_file: Path | None, environ: Mapping[str, str]) -> dict[str, str]:
    """deploy.env first, the process environment on top (so CI can override one value)."""
    values = read_env_file(env_file) if env_file is not None and env_file.exists() else {}
    values.update(environ)
    return values


def source_names(template: dict[str, Any]) -> dict[str, str]:
    """Stack parameter -> the name a user sets it with."""
    settings = {parameter_name(name): name for name in function_environment(template)}
    names = {}
    for parameter in template["Parameters"]:
        if parameter in MANAGED_PARAMETERS:
            continue
        names[parameter] = settings.get(parameter, PREFIX + env_style_name(parameter))
    return names


def stack_parameters(template: dict[str, Any], settings: Mapping[str, str]) -> dict[str, str]:
    """Every parameter: the user's value, else the template default; derived ones filled in."""
    declared = template["Parameters"]
    parameters = {}
    for parameter, name in source_names(template).items():
        if name in settings:
            parameters[parameter] = settings[name]
        elif "Default" in declared[parameter]:
            parameters[parameter] = str(declared[parameter]["Default"])
    if source_names(template)["SnsConfigurationTopicArns"] not in settings:
        topics = _route_topics(parameters.get("SnsConfiguration", "")) | _route_topics(
            parameters.get("SeverityRouting", "")
        )
        parameters["SnsConfigurationTopicArns"] = ",".join(sorted(topics))
    return parameters


def _route_topics(routes_json: str) -> set[str]:
    """Topic ARNs of SNS_CONFIGURATION / SEVERITY_ROUTING, so the role may publish to exactly those."""
    if not routes_json.strip():
        return set()
    try:
        routes = json.loads(routes_json)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {routes_json[:60]!r}: {exc}") from None
    return {
        route["sns_topic_arn"] for route in routes if isinstance(route, dict) and route.get("sns_topic_arn")
    }


def check_parameters(template: dict[str, Any], parameters: Mapping[str, str]) -> None:
    """Reject values the template would reject, naming the setting as the user spelled it.

    CloudFormation would fail the change set too, but later and naming the parameter, not the setting.
    """
    names = source_names(template)
    for parameter, value in parameters.items():
        declared = template["Parameters"].get(parameter, {})
        shown = names.get(parameter, parameter)
        allowed = declared.get("AllowedValues")
        if allowed is not None and value not in [str(a) for a in allowed]:
            raise ValueError(f"{shown}={value!r} is not one of {', '.join(str(a) for a in allowed)}")
        if declared.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"{shown}={value!r} is not a number") from None
            low, high = declared.get("MinValue"), declared.get("MaxValue")
            if (low is not None and number < low) or (high is not None and number > high):
                raise ValueError(f"{shown}={value} is outside {low}..{high}")
        if len(value) > declared.get("MaxLength", len(value)):
            raise ValueError(f"{shown} is longer than {declared['MaxLength']} characters")
