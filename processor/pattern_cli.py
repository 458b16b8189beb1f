"""`trailalert rules pattern`: the EventBridge pattern real time needs for the configured rules.

`make deploy` and the Terraform module forward exactly this pattern from EventBridge to Kinesis
(see processor/rules/forwarding.py for how it is derived). `--terraform-external` speaks the
protocol of Terraform's `external` data source: the rule settings arrive as a JSON object on stdin
and the answer is `{"pattern": "<json>"}`, so the module derives the pattern from its own variables.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import click

from processor.errors import ConfigError
from processor.rules.forwarding import MAX_PATTERN_LENGTH, Forwarding, forwarding_pattern, pattern_json
from processor.rules.ruleset import check_rules
from processor.rules_cli import options_from_flags, rule_flags
from processor.settings import rule_options


class PatternError(Exception):
    """The rules cannot be built; `problems` name each setting (or file:line) and the reason."""

    def __init__(self, problems: tuple[ConfigError, ...]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


def derive_forwarding(options: Mapping[str, Any], max_length: int = MAX_PATTERN_LENGTH) -> Forwarding:
    """The pattern for rule options as `rule_options` gives them; PatternError if a rule is bad."""
    from processor.rules.ruleset import IGNORE_RULES, CompiledRule, RuleSet

    report = check_rules(**options)
    if not report.ok:
        raise PatternError(report.problems)
    compiled = [CompiledRule(c.ref, c.expression) for c in report.checks if c.expression is not None]
    ruleset = RuleSet([rule for rule in compiled if rule.ref.origin != IGNORE_RULES])
    return forwarding_pattern(ruleset, rules_file=options.get("rules_file"), max_length=max_length)


@click.command(name="pattern", short_help="Print the EventBridge pattern the rules need (JSON).")
@rule_flags
@click.option(
    "--max-length",
    type=click.IntRange(min=100),
    default=MAX_PATTERN_LENGTH,
    show_default=True,
    help="EventBridge's event pattern size quota in your account (4096 after an increase).",
)
@click.option(
    "--terraform-external",
    is_flag=True,
    help='Read the rule settings as a JSON object on stdin, print {"pattern": ...} (Terraform\'s external data source).',
)
def pattern_command(max_length: int, terraform_external: bool, **flags: Any) -> None:
    """Print the narrowest EventBridge event pattern that forwards every event the rules could alert on.

    Reads the same environment variables as the Lambda; flags override them. The pattern is one line
    of JSON on stdout; why it is wider than the rules alone would make it goes to stderr.
    """
    try:
        options = rule_options(_terraform_query()) if terraform_external else options_from_flags(flags)
        forwarding = derive_forwarding(options, max_length)
    except PatternError as error:
        click.echo(f"{len(error.problems)} problem(s):", err=True)
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    text = pattern_json(forwarding.pattern)
    for reason in forwarding.reasons:
        click.echo(f"note: {reason}", err=True)
    if terraform_external:
        click.echo(json.dumps({"pattern": text}))
    else:
        click.echo(text)


def _terraform_query() -> dict[str, str]:
    """The external data source's query: a JSON object of strings (Terraform sends nothing else)."""
    try:
        query = json.loads(sys.stdin.read() or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError("query", f"stdin is not a JSON object: {exc}") from None
    if not isinstance(query, dict) or not all(isinstance(v, str) for v in query.values()):
        raise ConfigError("query", "stdin must be a JSON object of strings")
    return query
