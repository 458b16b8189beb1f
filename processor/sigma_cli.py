"""`trailalert rules import-sigma PATH... --output DIR`: Sigma rules for CloudTrail to rule files.

pySigma is an optional extra, so it is imported only when the command runs; without it the command
says how to install it, and the rest of `trailalert` (and the Lambda, which never has it) works.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

INSTALL_HINT = "pySigma is not installed: pip install 'trailalert[sigma]'"


@click.command(name="import-sigma", short_help="Translate Sigma rules for CloudTrail into rule files.")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the rule files (one per Sigma rule, named by its id; created if missing).",
)
def import_sigma_command(paths: tuple[str, ...], output: Path) -> None:
    """Translate the Sigma rules in PATHS (files or folders) whose logsource is product aws, service
    cloudtrail into rule files in OUTPUT, one per rule, each checked by the rule language.

    A rule that cannot be translated exactly is skipped and reported with the construct and why.
    Exits 1 when any rule was skipped or any path could not be read (the other rules are written).
    """
    try:
        from processor.rules.sigma_import import import_sigma
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "sigma":
            raise
        raise click.ClickException(INSTALL_HINT) from None
    report = import_sigma(paths, output)
    for outcome in report.outcomes:
        if outcome.written is not None:
            notes = f"  ({'; '.join(outcome.notes)})" if outcome.notes else ""
            click.echo(f"translated  {outcome.label}  {outcome.source} -> {outcome.written}{notes}")
        else:
            click.echo(f"skipped     {outcome.label}  {outcome.source}: {outcome.reason}")
    click.echo(f"\n{len(report.translated)} translated, {len(report.skipped)} skipped")
    if report.skipped:
        sys.exit(1)
