"""Fixtures for the infra tests."""

from __future__ import annotations

from typing import Any

import pytest


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
            if stack_name in (stack.name, stack.stack_id):
                stack._parse_template()
                stack.output_map = stack._create_output_map()

    monkeypatch.setattr(CloudFormationBackend, "execute_change_set", execute_change_set)
