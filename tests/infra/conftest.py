"""Fixtures for the infra tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra import package


@pytest.fixture(scope="session")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real package for x86_64, built once: our code plus wheels for every allowed runtime.

    pip reads the package index it is configured with (nothing else is reached)."""
    path = tmp_path_factory.mktemp("zip") / "trailalert-lambda.zip"
    package.build(path, architecture="x86_64")
    return path


@pytest.fixture(autouse=True)
def moto_change_set_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto give change-set stacks their Outputs, as CloudFormation does.

    moto 5 builds a stack created by a CREATE change set from an empty template and never re-reads the
    real one after executing it, so describe_stacks returns no Outputs (and stale ones after an UPDATE).
    The server runs in this process (ThreadedMotoServer), so we re-parse after execution; nothing else
    about moto changes, and our code under test is untouched.
    """
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        for stack in self.stacks.values():
            if stack_name in (stack.name, stack.stack_id) and isinstance(stack.template, str):
                stack._parse_template()
                stack.output_map = stack._create_output_map()

    monkeypatch.setattr(CloudFormationBackend, "execute_change_set", execute_change_set)


@pytest.fixture(autouse=True)
def moto_event_pattern_as_string(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let moto take an AWS::Events::Rule EventPattern given as a JSON string, as CloudFormation does.

    The resource's schema types EventPattern as string or object (AWS documents the string form for
    patterns with null values); moto json.dumps it either way, so a string arrives double-encoded
    and moto's own pattern parser fails. A string is passed through as the JSON it already is.
    """
    import json

    from moto.events.models import Rule

    original = Rule.create_from_cloudformation_json.__func__

    def create(cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any) -> Any:
        properties = cloudformation_json.get("Properties", {})
        if isinstance(properties.get("EventPattern"), str):
            properties["EventPattern"] = json.loads(properties["EventPattern"])
        return original(cls, resource_name, cloudformation_json, *args, **kwargs)

    monkeypatch.setattr(Rule, "create_from_cloudformation_json", classmethod(create))


@pytest.fixture(autouse=True)
def moto_leaves_resources_whose_condition_is_false(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's stack update skip a resource whose Condition is false, as CloudFormation does.

    moto 5 lists a resource under "Modify" when a parameter it uses changed, whether or not its
    Condition let it be created, then fails resolving its references to other resources that were
    not created either (the triage resources, off by default, use LogLevel and LambdaMemorySize).
    """
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap.build_resource_diff

    def build_resource_diff(
        self: Any, other_template: dict[str, Any], parameters: Any = None
    ) -> dict[str, Any]:
        diff = original(self, other_template, parameters)
        resources = other_template["Resources"]

        def created(name: str) -> bool:
            condition = resources[name].get("Condition")
            return not condition or bool(self.lazy_condition_map[condition])

        diff["Modify"] = [name for name in diff["Modify"] if created(name)]
        return diff

    monkeypatch.setattr(ResourceMap, "build_resource_diff", build_resource_diff)
