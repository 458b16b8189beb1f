"""`trailalert config check`: the Lambda's whole configuration, checked as its cold start checks it.

Reads the environment as the function sees it (run it with the function's variables exported, or in
CI with the values you deploy), prints every setting that is set and every problem, and exits 1 on
any: settings, destinations (the JSON of SLACK_APP_CONFIGURATION, SNS_CONFIGURATION, SEVERITY_ROUTING
...), rules, rule files and the pack. Secrets are never printed. *_SECRET references are read only
with --resolve-secrets (AWS credentials needed); otherwise their values are checked at cold start.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from processor.config_check import check_configuration, placeholder_secret
from processor.settings import ENVIRONMENT_VARIABLES, SECRET_REFERENCES

_WIDTH = 72


@click.group(name="config")
def config_group() -> None:
    """Check the Lambda's configuration."""


@config_group.command(name="check")
@click.option(
    "--resolve-secrets",
    is_flag=True,
    help="Read the processor's *_SECRET references (SSM or Secrets Manager) and check the values.",
)
def check_command(resolve_secrets: bool) -> None:
    """Check every setting of the Lambda, destinations and rules included; exit 1 on any problem.

    Uses the environment variables, as the Lambda does; usable in CI before a deploy.
    """
    environ = dict(os.environ)
    resolver: Any = placeholder_secret
    if resolve_secrets:
        from processor.deliver.secrets import SecretResolver

        resolver = SecretResolver()
    check = check_configuration(environ, resolve_secret=resolver)
    set_names = [name for name in ENVIRONMENT_VARIABLES if environ.get(name, "") != ""]
    width = max((len(name) for name in set_names), default=10)
    for name in set_names:
        click.echo(f"{name:<{width}}  {_shown(name, environ[name], resolve_secrets)}")
    if not set_names:
        click.echo("no setting is set: every setting has its default")
    if check.settings is not None:
        click.echo(f"\ndestinations: {_destinations(check.settings)}")
    if check.rules is not None:
        click.echo(f"rules: {len(check.rules.rules)} active, {len(check.rules.ignore_rules)} ignore rules")
    if check.ok:
        click.echo("\nconfiguration OK")
        return
    click.echo(f"\n{len(check.problems)} problem(s):", err=True)
    for problem in check.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


def _shown(name: str, value: str, resolved: bool) -> str:
    if name in SECRET_REFERENCES:
        return "(secret, not shown)"
    if name in SECRET_REFERENCES.values():
        return value + ("" if resolved else "  (not read: --resolve-secrets reads it)")
    one_line = " ".join(value.split())
    return one_line if len(one_line) <= _WIDTH else one_line[: _WIDTH - 1] + "…"


def _destinations(settings: Any) -> str:
    parts = []
    if settings.uses_slack_app:
        parts.append(
            f"Slack app (default channel {settings.default_slack_channel_id}, "
            f"{len(settings.slack_app_configuration)} account route(s))"
        )
    if settings.uses_webhook:
        parts.append(f"Slack webhook ({len(settings.configuration)} account route(s))")
    if settings.uses_sns:
        default = settings.default_sns_topic_arn or "none"
        parts.append(f"SNS (default topic {default}, {len(settings.sns_configuration)} account route(s))")
    if settings.severity_routing:
        parts.append(f"{len(settings.severity_routing)} severity route(s)")
    return ", ".join(parts)
