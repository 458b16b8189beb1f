"""`trailalert rules test [PATH]`: run every inline test of rule files, print a table, fail on any miss."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from processor.errors import ConfigError
from processor.settings import rule_options

if TYPE_CHECKING:
    from processor.rules.files.inline import TestResult

_NAME_WIDTH = 60


@click.command(name="test", short_help="Run the inline tests of rule files and the detection pack.")
@click.argument("path", required=False)
@click.option(
    "--pack/--no-pack",
    "use_detection_pack",
    default=None,
    help="Also test the bundled detection pack (default: USE_DETECTION_PACK).",
)
@click.option("--failures-only", is_flag=True, help="Print only the failing tests.")
def test_command(path: str | None, use_detection_pack: bool | None, failures_only: bool) -> None:
    """Run every inline test of PATH (a rule file or folder, or s3://bucket/key; default RULES_FILE)
    and of the detection pack when enabled. Prints PASS/FAIL per test; exits 1 on any failure or
    any invalid rule file.
    """
    from processor.rules.files import load_rule_files
    from processor.rules.files.inline import run_inline_tests

    try:
        options = rule_options(os.environ, rules_file=path, use_detection_pack=use_detection_pack)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    rules_file, use_pack = options["rules_file"], options["use_detection_pack"]
    if not rules_file and not use_pack:
        raise click.UsageError("nothing to test: give PATH, set RULES_FILE, or use --pack")
    load = load_rule_files(rules_file, use_pack=use_pack)
    results = run_inline_tests(load.rules)
    for result in results:
        if failures_only and result.passed:
            continue
        click.echo(_row(result))
    passed = sum(result.passed for result in results)
    untested = [rule.ref.id for rule in load.rules if not rule.tests]
    click.echo(f"\n{passed} passed, {len(results) - passed} failed, {len(load.rules)} rules")
    if untested:
        click.echo(f"rules without tests: {', '.join(untested)}")
    if load.problems:
        click.echo(f"{len(load.problems)} problem(s) in rule files:", err=True)
        for problem in load.problems:
            click.echo(f"  {problem}", err=True)
    if load.problems or passed != len(results):
        sys.exit(1)


def _row(result: TestResult) -> str:
    status = click.style("PASS", fg="green") if result.passed else click.style("FAIL", fg="red", bold=True)
    if result.test is None:
        return f"{status}  {result.rule.ref.id}  (does not compile)\n      {result.error}"
    name = (
        result.test.name
        if len(result.test.name) <= _NAME_WIDTH
        else result.test.name[: _NAME_WIDTH - 1] + "…"
    )
    expected = "alert" if result.test.alert else "no alert"
    line = f"{status}  {result.rule.ref.id:<52} {name:<{_NAME_WIDTH}} expects {expected}"
    if not result.passed:
        got = "error" if result.error else ("alert" if result.alerted else "no alert")
        line += f", got {got}  ({result.test.location})"
        if result.error:
            line += f"\n      {result.error}"
    return line
