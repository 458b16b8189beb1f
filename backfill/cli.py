"""`trailalert backfill SOURCE...`: replay CloudTrail log files through the Lambda's core.

Thin: it turns flags into Options and Settings, builds the side-effect endpoints (stdout, the
Dispatcher, the S3 client), runs a Backfill and maps the summary to an exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson

from backfill.config import load_backfill_settings
from backfill.errors import BadConfiguration, IncompleteBackfill, Interrupted
from backfill.progress import Progress
from backfill.runner import Backfill, Options
from backfill.sources import Source, SourceType
from backfill.window import Bound, TimeBoundType, TimeWindow
from processor.errors import ConfigError
from processor.rules_cli import rule_flags
from processor.settings import Settings

if TYPE_CHECKING:  # the Dispatcher imports slack_sdk (~90 ms): built only with --send
    from processor.deliver.dispatcher import Dispatcher


def _s3_client(threads: int) -> Any:
    """boto3 reads the standard AWS settings (profile, region, AWS_ENDPOINT_URL, ...) itself."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(max_pool_connections=max(10, threads * 2)))


def _dispatcher(settings: Settings) -> Dispatcher:
    """The Lambda's Dispatcher (pacing, retries, threads, ledger): a backfill follows the same limits."""
    from processor.app import build_dispatcher

    return build_dispatcher(settings)


@click.command(name="backfill", short_help="Replay CloudTrail log files from S3 or disk through the rules.")
@click.argument("sources", nargs=-1, required=True, type=SourceType())
@click.option("--start", type=TimeBoundType(), help="First event time to include (UTC if no offset).")
@click.option("--end", type=TimeBoundType(), help="End of the window (exclusive); a date includes that day.")
@click.option("--account", "accounts", multiple=True, help="Only this account id (repeatable).")
@click.option("--region", "regions", multiple=True, help="Only this region (repeatable).")
@click.option("--send", is_flag=True, help="Deliver the alerts. Without it: a dry run printing JSON lines.")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Processes for CPU work."
)
@click.option(
    "--download-threads",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Concurrent downloads.",
)
@click.option(
    "--state", type=click.Path(dir_okay=False, path_type=Path), help="Checkpoint file to resume from."
)
@click.option(
    "--summary-json", type=click.Path(dir_okay=False, path_type=Path), help="Also write the summary here."
)
@rule_flags
def backfill_command(
    sources: tuple[Source, ...],
    start: Bound | None,
    end: Bound | None,
    accounts: tuple[str, ...],
    regions: tuple[str, ...],
    send: bool,
    workers: int,
    download_threads: int,
    state: Path | None,
    summary_json: Path | None,
    **rule_flags: Any,
) -> None:
    """Run CloudTrail log files (`.json.gz`, `.json`) through the same rules, routing and rendering as
    the Lambda. SOURCE is s3://bucket[/prefix] or a local file or folder. Configuration comes from the
    Lambda's environment variables; the flags below override them.

    Without --send nothing is delivered: each alert is printed as one JSON line on stdout (with the
    exact Slack and SNS payloads), and progress and the summary go to stderr.
    """
    overrides = {name: value for name, value in rule_flags.items() if value is not None}
    try:
        settings, preview = load_backfill_settings(os.environ, overrides, send=send)
        if workers > 1:  # each worker compiles the rules: a bad one must fail here, not kill them
            from processor.app import build_rules

            build_rules(settings)
    except ConfigError as exc:
        raise BadConfiguration(str(exc)) from None
    options = Options(
        sources=sources,
        window=TimeWindow.from_bounds(start, end),
        accounts=frozenset(accounts),
        regions=frozenset(regions),
        send=send,
        workers=workers,
        download_threads=download_threads,
        state=state,
    )
    err = sys.stderr
    dispatcher = reporter = None
    if send:
        from processor.app import RuleErrorReporter
        from processor.routing import Router

        dispatcher = _dispatcher(settings)
        notices = RuleErrorReporter(dispatcher, Router(settings), settings.rule_evaluation_errors_to_slack)

        def reporter(failures: tuple[Any, ...]) -> None:
            notices.report(failures, "backfill")

    run = Backfill(
        options,
        settings,
        preview,
        emit=click.echo,
        progress=Progress(err, tty=_is_tty(err)),
        s3_client=lambda: _s3_client(download_threads),
        dispatcher=dispatcher,
        report_rule_failures=reporter,
    )
    try:
        summary = run.run()
    except ConfigError as exc:  # a bad rule or RULES_FILE, found when the rules are compiled
        raise BadConfiguration(str(exc)) from None
    for line in summary.lines():
        click.echo(line, err=True)
    if summary_json is not None:
        summary_json.write_bytes(orjson.dumps(summary.to_json(), option=orjson.OPT_INDENT_2) + b"\n")
    if summary.interrupted:
        raise Interrupted("interrupted: rerun the same command with --state to resume")
    if not summary.ok:
        raise IncompleteBackfill(
            f"{len(summary.objects_failed)} object(s) could not be read, "
            f"{summary.delivery_failed} delivery(ies) failed (see above)"
        )


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False
