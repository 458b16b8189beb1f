"""Read the CloudFormation template and map processor settings to stack parameters.

Kept in one place so `make deploy`, the drift tests and the README agree on the naming rule:
parameter = CamelCase of the environment variable (RULES_SEPARATOR -> RulesSeparator).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from processor import settings

TEMPLATE_PATH = Path(__file__).parent / "cloudformation" / "template.yaml"

# Secrets (Slack token, webhook URLs) are never stack parameters: the stack takes only a reference (a
# Secrets Manager ARN or an SSM parameter), which the processor resolves at cold start, so the plaintext
# is not in the Lambda environment, where lambda:GetFunctionConfiguration would show it. The mapping is
# the processor's own, so infra follows when a secret is added there.
SECRET_REFERENCES: dict[str, str] = dict(settings.SECRET_REFERENCES)


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns short-form intrinsics (`!Ref X`) into their long form (`{"Ref": "X"}`)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix == "Ref" or suffix == "Condition" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data, intrinsics in long form."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def parameter_name(env_name: str) -> str:
    """RULES_SEPARATOR -> RulesSeparator: the stack parameter for a processor setting."""
    return "".join(part.capitalize() for part in env_name.split("_"))


def env_style_name(parameter: str) -> str:
    """LambdaMemorySize -> LAMBDA_MEMORY_SIZE: how infrastructure parameters are spelled in deploy.env."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", parameter).upper()


def expected_environment(settings_names: tuple[str, ...]) -> set[str]:
    """The exact environment the function must get: every setting, secrets replaced by their reference."""
    names = set(settings_names)
    for plain, reference in SECRET_REFERENCES.items():
        names.discard(plain)
        names.add(reference)
    return names


def function_environment(template: dict[str, Any]) -> dict[str, Any]:
    """The Variables block of the processor function's environment."""
    resource = template["Resources"]["Function"]
    return resource["Properties"]["Environment"]["Variables"]
