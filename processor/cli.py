"""The `trailalert` command: a click group; each feature adds its commands explicitly below."""

from __future__ import annotations

import click

from backfill.cli import backfill_command
from processor import __version__
from processor.config_cli import config_group
from processor.mutes_cli import mutes_group
from processor.pattern_cli import pattern_command
from processor.rules_cli import check_command, list_command
from processor.rules_test_cli import test_command
from processor.sigma_cli import import_sigma_command


@click.group(name="trailalert")
@click.version_option(__version__, prog_name="trailalert")
def main() -> None:
    """CloudTrail alerts to Slack and SNS: check rules and configuration, replay history, mute alerts."""


@main.group(name="rules")
def rules_group() -> None:
    """Validate and inspect the rules the processor would run."""


rules_group.add_command(check_command)
rules_group.add_command(list_command)
rules_group.add_command(test_command)
rules_group.add_command(pattern_command)
rules_group.add_command(import_sigma_command)
main.add_command(backfill_command)
main.add_command(config_group)
main.add_command(mutes_group)
