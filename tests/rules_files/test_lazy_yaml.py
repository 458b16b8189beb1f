"""PyYAML stays off the cold-start path unless RULES_FILE or the pack asks for it."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from processor.app import build_rules
from processor.settings import load_settings
env = {{"DEFAULT_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:a"{extra}}}
build_rules(load_settings(env))
print("yaml" in sys.modules)
"""


def _imports_yaml(extra: str) -> bool:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(extra=extra)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip() == "True"


def test_default_deployment_never_imports_yaml() -> None:
    assert not _imports_yaml("")


def test_the_pack_imports_yaml() -> None:
    assert _imports_yaml(', "USE_DETECTION_PACK": "true"')
