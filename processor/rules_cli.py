"""`trailalert rules check`: the rules the Lambda would run, each with its status."""

from __future__ import annotations

import sys

import click

from processor.errors import ConfigError
from processor.rules import RuleCheck, check_rules
from processor.settings import rule_options

_EXPRESSION_WIDTH = 90


def rule_flags(command: click.Command) -> click.Command:
    """The flags that override the rule settings; shared by every command that builds rules."""
    options = [
        click.option("--rules", help="Override RULES (rules separated by --rules-separator)."),
        click.option("--ignore-rules", help="Override IGNORE_RULES."),
        click.option("--rules-separator", help="Override RULES_SEPARATOR (default ',')."),
        click.option(
            "--default-rules/--no-default-rules",
            "use_default_rules",
            default=None,
            help="Override USE_DEFAULT_RULES.",
        ),
        click.option("--events-to-track", help="Override EVENTS_TO_TRACK (comma-separated event names)."),
        click.option("--function-name", help="Override FUNCTION_NAME (used by two default rules)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command(name="check")
@rule_flags
def check_command(
    rules: str | None,
    ignore_rules: str | None,
    rules_separator: str | None,
    use_default_rules: bool | None,
    events_to_track: str | None,
    function_name: str | None,
) -> None:
    """Compile every configured rule; print each with its status; exit 1 on any invalid or unsafe rule.

    Reads the same environment variables as the Lambda; flags override them.
    """
    try:
        options = rule_options(
            rules=rules,
            ignore_rules=ignore_rules,
            separator=rules_separator,
            use_default_rules=use_default_rules,
            events_to_track=events_to_track,
            function_name=function_name,
        )
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    report = check_rules(**options)
    for check in report.checks:
        click.echo(_line(check))
    ok = sum(check.ok for check in report.checks)
    click.echo(f"\n{ok} of {len(report.checks)} rules OK", err=False)
    if report.ok:
        return
    click.echo(f"{len(report.problems)} problem(s):", err=True)
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


def _line(check: RuleCheck) -> str:
    status = click.style("ok   ", fg="green") if check.ok else click.style("ERROR", fg="red", bold=True)
    text = check.ref.expression
    if len(text) > _EXPRESSION_WIDTH:
        text = text[: _EXPRESSION_WIDTH - 1] + "…"
    where = ""
    if check.expression is not None:
        index = check.expression.index
        where = f"  [runs on {index[0]} in {sorted(index[1])}]" if index else "  [runs on every event]"
    line = f"{status} {check.ref.id:<44} {text}{where}"
    if check.error is not None:
        line += f"\n      {check.error.reason}"
    return line
