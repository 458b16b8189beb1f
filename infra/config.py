"""Deploy settings from deploy.env and the environment, turned into stack parameters.

Processor settings are spelled as the Lambda reads them (RULES, LOG_LEVEL, SLACK_BOT_TOKEN_SECRET...),
so one vocabulary serves the reference module's users, the CLI and the stack. Infrastructure parameters
are TRAILALERT_ + their name in upper snake case (LambdaMemorySize -> TRAILALERT_LAMBDA_MEMORY_SIZE).
A setting left out gets the template's default, passed explicitly: deploy.env is the whole truth, a
value removed from it reverts on the next deploy (and local endpoints that mishandle list defaults work).

Nothing is dropped silently: a name in deploy.env that make deploy does not pass on, a TRAILALERT_
name in the environment it does not know, a name set twice, is a problem that names it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.template import SECRET_REFERENCES, env_style_name, function_environment, parameter_name

PREFIX = "TRAILALERT_"
# Parameters that make deploy sets itself, never read from the user.
MANAGED_PARAMETERS = frozenset({"CodeS3Bucket", "CodeS3Key", "EventPattern"})
# Where and how to deploy; read by make deploy itself, not passed to the stack.
AWS_SETTINGS = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL")
DEPLOY_SETTINGS = ("TRAILALERT_STACK_NAME", "TRAILALERT_ARTIFACT_BUCKET", "TRAILALERT_LAMBDA_ZIP")
# Names an earlier version read, with what replaces them.
RETIRED = {
    "TRAILALERT_EVENT_DETAIL_TYPES": "the forwarding pattern is derived from the rules (`trailalert rules "
    "pattern`) and takes every detail-type the processor reads; TRAILALERT_INCLUDE_READ_ONLY_EVENTS=true "
    "forwards every CloudTrail event",
    "TRAILALERT_EVENT_SOURCES": "the forwarding pattern is derived from the rules (`trailalert rules "
    "pattern`): narrow the rules instead",
    "TRAILALERT_EVENT_PATTERN": "make deploy derives the pattern from the rules (`trailalert rules pattern`)",
}


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines. Everything after "=" is the value, taken literally (rules and JSON hold quotes,
    spaces and "#"); one pair of surrounding quotes is removed. Whole-line "#" comments and `export `
    are accepted, inline comments are not. A key set twice is an error: one of the values would be lost."""
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        if key in lines:
            raise ValueError(f"{path}:{number}: {key} is already set on line {lines[key]}; keep one")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
        lines[key] = number
    return values


def known_names(template: dict[str, Any]) -> frozenset[str]:
    """Every name make deploy reads: stack parameters' names, plaintext secrets, AWS and deploy settings."""
    return (
        frozenset(source_names(template).values())
        | set(SECRET_REFERENCES)
        | set(AWS_SETTINGS)
        | set(DEPLOY_SETTINGS)
    )


def gather_settings(
    env_file: Path | None, environ: Mapping[str, str], template: dict[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """deploy.env first, the environment on top (so CI can override one value); and every problem.

    From deploy.env every name must be one make deploy passes on; from the environment, which holds
    much else, only known names are taken, and an unknown TRAILALERT_ name is a problem (a typo).
    """
    known = known_names(template)
    problems: list[str] = []
    values: dict[str, str] = {}
    if env_file is not None:
        try:
            from_file = read_env_file(env_file)
        except ValueError as exc:
            problems.append(str(exc))
            from_file = {}
        for name, value in from_file.items():
            if name in known:
                values[name] = value
            else:
                problems.append(f"{name} (in {env_file}): {_unknown(name, known)}")
    for name, value in environ.items():
        if name in known:
            values[name] = value
        elif name.startswith(PREFIX) and name != "TRAILALERT_ENV_FILE":
            problems.append(f"{name} (in the environment): {_unknown(name, known)}")
    return values, problems


def _unknown(name: str, known: frozenset[str]) -> str:
    if name in RETIRED:
        return f"no longer used: {RETIRED[name]}"
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]}?" if close else "; see docs/deploy.md for every setting"
    return f"not a setting make deploy passes on{hint}"


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
    """Topic ARNs of SNS_CONFIGURATION / SEVERITY_ROUTING, so the role may publish to exactly those.

    Malformed JSON yields none here: the processor's own parser names the setting (preflight)."""
    if not routes_json.strip():
        return set()
    try:
        routes = json.loads(routes_json)
    except json.JSONDecodeError:
        return set()
    if not isinstance(routes, list):
        return set()
    return {
        route["sns_topic_arn"]
        for route in routes
        if isinstance(route, dict) and isinstance(route.get("sns_topic_arn"), str)
    }


def parameter_problems(template: dict[str, Any], parameters: Mapping[str, str]) -> list[str]:
    """Values the template would reject, each naming the setting as the user spelled it.

    CloudFormation would fail the change set too, but later and naming the parameter, not the setting.
    """
    import re

    names = source_names(template)
    problems = []
    for parameter, value in parameters.items():
        declared = template["Parameters"].get(parameter, {})
        shown = names.get(parameter, parameter)
        allowed = declared.get("AllowedValues")
        if allowed is not None and value not in [str(a) for a in allowed]:
            problems.append(f"{shown}={value!r} is not one of {', '.join(str(a) for a in allowed)}")
        if declared.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{shown}={value!r} is not a number")
                continue
            low, high = declared.get("MinValue"), declared.get("MaxValue")
            if (low is not None and number < low) or (high is not None and number > high):
                problems.append(f"{shown}={value} is outside {low}..{high}")
        if len(value) > declared.get("MaxLength", len(value)):
            problems.append(f"{shown} is longer than {declared['MaxLength']} characters")
        pattern = declared.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            problems.append(f"{shown}={value!r} does not match {pattern}")
    return problems
