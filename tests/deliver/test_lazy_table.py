"""The DynamoDB table's code (dynamo.py, threads.py) stays off the cold start of a deployment without one."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from processor.app import App
from processor.settings import load_settings
env = {{"DEFAULT_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:a"{extra}}}
App.from_settings(load_settings(env))
print(sorted(m for m in ("processor.deliver.dynamo", "processor.deliver.threads") if m in sys.modules))
"""


def _table_modules(extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(extra=extra)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_a_deployment_without_a_table_never_imports_its_code() -> None:
    assert _table_modules("") == "[]"


def test_a_deployment_with_a_table_imports_it() -> None:
    assert _table_modules(', "DYNAMODB_TABLE_NAME": "trailalert"') == (
        "['processor.deliver.dynamo', 'processor.deliver.threads']"
    )
