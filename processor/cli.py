"""The `trailalert` command: a click group; each feature adds its commands explicitly below."""

from __future__ import annotations

import click

from backfill.cli import backfill_command
from processor import __version__
from processor.config_cli import config_group
from processor.mutes_cli import mutes_group
from processor.pack_table_cli import pack_table_command
from processor.pattern_cli import pattern_command
from processor.rules_cli import check_command, list_command
from processor.rules_test_cli import test_command
from processor.sigma_cli import import_sigma_command

# Inherited by every subcommand's context: `-h` works wherever `--help` does.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group(name="trailalert", context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", "-V", prog_name="trailalert")
def main() -> None:
    """CloudTrail alerts to Slack and SNS: try it locally, check rules and configuration, replay
    history, mute alerts.

    Start with `trailalert demo` (no AWS account or Slack workspace needed). Every command reads
    the Lambda's settings from the environment (docs/configuration.md); `trailalert COMMAND -h`
    shows a command's flags.
    """


@main.command(
    name="demo", short_help="Try it locally: a sample day through the real handler, local AWS and Slack."
)
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, writable=True),
    default="build/demo-preview.html",
    show_default=True,
    help="Where to write the HTML preview of the Slack messages the demo produced.",
)
def demo_command(preview: str) -> None:
    """Run the real-time path end to end on this machine: local AWS (moto) and a local Slack stand-in.

    Prints what it configured, every Slack message and what reached SNS, then a snooze from Slack
    taking effect; writes an HTML preview of the Slack messages. Needs the `demo` extra (moto).
    """
    from processor.demo import run_demo

    raise SystemExit(run_demo(preview))


@main.group(name="rules")
def rules_group() -> None:
    """Validate and inspect the rules the processor would run."""


rules_group.add_command(check_command)
rules_group.add_command(list_command)
rules_group.add_command(test_command)
rules_group.add_command(pattern_command)
rules_group.add_command(pack_table_command)
rules_group.add_command(import_sigma_command)
main.add_command(backfill_command)
main.add_command(config_group)
main.add_command(mutes_group)
