"""AWS Lambda entry point for Kinesis: `processor.handler.handler`.

Configuration, rules and clients are built on the first invocation of a container and reused;
a bad configuration fails that first invocation with a message naming the setting.
"""

from __future__ import annotations

from typing import Any

from processor.app import App
from processor.deliver.timing import remaining_seconds
from processor.log import configure_logging
from processor.settings import load_settings

_app: App | None = None
_app_options: dict[str, Any] = {}


def get_app() -> App:
    global _app
    if _app is None:
        settings = load_settings()  # *_SECRET references are read here: once per container
        configure_logging(settings.log_level)
        _app = App.from_settings(settings, **_app_options)
    return _app


def reset(**app_options: Any) -> None:
    """Forget the cached App (tests and the demo change the environment between runs).

    `app_options` are passed to `App.from_settings` for the next App, e.g. `timing=` so tests
    drive retries and pacing with a fake clock instead of sleeping.
    """
    global _app, _app_options
    _app = None
    _app_options = dict(app_options)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Kinesis batch in; `{"batchItemFailures": [...]}` out, listing exactly the records to retry."""
    return get_app().process_kinesis(event, remaining_seconds(context))
