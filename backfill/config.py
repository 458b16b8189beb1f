"""The backfill's Settings: the Lambda's environment variables, flags on top, and preview mode.

A dry run should work on a laptop with no destination configured: the user wants to see what a
rule would raise. In that case (and only for a dry run) the backfill runs in *preview* mode:
every alert is routed to two placeholder destinations, so the core renders both the Slack and the
SNS payload exactly as it would for real ones, and the output lists no destination. `--send` never
runs in preview mode: it needs real destinations and fails naming the missing setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from processor.errors import ConfigError
from processor.models import Destination, DestinationKind
from processor.pipeline import Router
from processor.settings import Settings, load_settings

PREVIEW_CHANNEL = "preview"
PREVIEW_TOPIC = "arn:aws:sns:us-east-1:000000000000:trailalert-preview"
PREVIEW_DESTINATIONS = (
    Destination(DestinationKind.SLACK_APP, PREVIEW_CHANNEL),
    Destination(DestinationKind.SNS, PREVIEW_TOPIC),
)


def load_backfill_settings(
    environ: Mapping[str, str], overrides: Mapping[str, Any], *, send: bool
) -> tuple[Settings, bool]:
    """Settings and whether this is preview mode. Raises ConfigError exactly as the Lambda would."""
    try:
        return load_settings(environ, **overrides), False
    except ConfigError as error:
        if send or environ.get("DEFAULT_SNS_TOPIC_ARN"):
            raise
        try:
            settings = load_settings(environ, **{**overrides, "default_sns_topic_arn": PREVIEW_TOPIC})
        except ConfigError:
            raise error from None
        if settings.uses_slack_app or settings.hook_url or settings.sns_configuration:
            raise error  # a destination is configured, so the first error was a real mistake
        return replace(settings, default_sns_topic_arn=None), True


class PreviewRouter(Router):
    """Routes every account to the placeholder destinations (see the module docstring)."""

    def destinations(self, account: str) -> tuple[Destination, ...]:
        return PREVIEW_DESTINATIONS


def is_preview(destination: Destination) -> bool:
    return destination in PREVIEW_DESTINATIONS
