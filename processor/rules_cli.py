"""`trailalert rules check` and `rules list`: the rules the Lambda would run, with status and origin."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from processor.errors import ConfigError
from processor.rules import RuleCheck, RulesReport, check_rules
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
        click.option("--rules-file", help="Override RULES_FILE (a YAML file or folder, or s3://bucket/key)."),
        click.option(
            "--pack/--no-pack",
            "use_detection_pack",
            default=None,
            help="Override USE_DETECTION_PACK (the bundled detection pack).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command(name="check")
@rule_flags
def check_command(**flags: Any) -> None:
    """Compile every configured rule; print each with its status; exit 1 on any invalid or unsafe rule.

    Reads the same environment variables as the Lambda; flags override them. Rule files are
    validated too (schema, safe expression, duplicate ids), with errors at file:line.
    """
    report = _report(flags)
    for check in report.checks:
        click.echo(_line(check))
    ok = sum(check.ok for check in report.checks)
    click.echo(f"\n{ok} of {len(report.checks)} rules OK", err=False)
    if not report.ok:
        _problems(report.problems)
    click.echo(_decode_mode(report))


@click.command(name="list", short_help="Show the active rules: id, severity, origin, title.")
@rule_flags
def list_command(**flags: Any) -> None:
    """Show every rule that would run, in evaluation order; exit 1 if the configuration has problems."""
    report = _report(flags)
    checks = [check for check in report.checks if check.ok]
    id_width = max((len(check.ref.id) for check in checks), default=2)
    origin_width = max((len(check.ref.origin) for check in checks), default=6)
    click.echo(f"{'id':<{id_width}}  {'severity':<8}  {'origin':<{origin_width}}  title")
    for check in checks:
        ref = check.ref
        kind = " (ignore)" if ref.origin == "IGNORE_RULES" else ""
        click.echo(
            f"{ref.id:<{id_width}}  {ref.severity:<8}  {ref.origin:<{origin_width}}  {ref.title or '-'}{kind}"
        )
    click.echo(f"\n{len(checks)} active rules")
    if not report.ok:
        _problems(report.problems)


def _decode_mode(report: RulesReport) -> str:
    """Whether the fast path runs for these rules (processor/fastpath.py), and why."""
    from processor.fastpath import decode_mode
    from processor.rules.ruleset import IGNORE_RULES, CompiledRule, RuleSet
    from processor.settings import decode_setting

    compiled = [CompiledRule(c.ref, c.expression) for c in report.checks if c.expression is not None]
    rules = RuleSet(
        [rule for rule in compiled if rule.ref.origin != IGNORE_RULES],
        [rule for rule in compiled if rule.ref.origin == IGNORE_RULES],
    )
    try:
        setting = decode_setting()
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    return decode_mode(rules, setting)[1]


def options_from_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """`check_rules` keywords from the environment, overridden by the flags of `rule_flags`."""
    return rule_options(
        rules=flags["rules"],
        ignore_rules=flags["ignore_rules"],
        separator=flags["rules_separator"],
        use_default_rules=flags["use_default_rules"],
        events_to_track=flags["events_to_track"],
        function_name=flags["function_name"],
        rules_file=flags["rules_file"],
        use_detection_pack=flags["use_detection_pack"],
    )


def _report(flags: dict[str, Any]) -> RulesReport:
    try:
        options = options_from_flags(flags)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    return check_rules(**options)


def _problems(problems: tuple[ConfigError, ...]) -> NoReturn:
    click.echo(f"{len(problems)} problem(s):", err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


def _line(check: RuleCheck) -> str:
    status = click.style("ok   ", fg="green") if check.ok else click.style("ERROR", fg="red", bold=True)
    text = check.ref.expression
    if len(text) > _EXPRESSION_WIDTH:
        text = text[: _EXPRESSION_WIDTH - 1] + "…"
    where = ""
    if check.expression is not None:
        guards = check.expression.guards
        where = (
            f"  [runs when {' and '.join(g.text for g in guards)}]" if guards else "  [runs on every event]"
        )
    line = f"{status} {check.ref.id:<44} {text}{where}"
    if check.error is not None:
        line += f"\n      {check.error.reason}"
    return line
