"""`trailalert backfill SOURCE...`: replay CloudTrail log files through the Lambda's core.

Thin: it turns flags into Options and Settings, checks everything it can before the run starts
(settings, rules, output paths, the state file's configuration), builds the side-effect endpoints
(stdout, the Dispatcher, the S3 client), runs a Backfill and maps the summary to an exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson

from backfill.config import load_backfill_settings
from backfill.errors import BadConfiguration, IncompleteBackfill, Interrupted, raise_for_outcome
from backfill.filters import AccountIdType, RegionType
from backfill.lambda_cli import QUEUE_ENV, check_fan_out, fan_out, runs_table_option, status_command
from backfill.progress import Progress
from backfill.runner import Backfill, Options
from backfill.s3listing import DEFAULT_TIMEOUT_SECONDS, client_config
from backfill.sources import Source, SourceType
from backfill.state import FORCE_FLAG, StateFile, run_configuration
from backfill.summary import Summary
from backfill.window import Bound, TimeBoundType, TimeWindow
from processor.errors import ConfigError
from processor.rules_cli import rule_flags
from processor.settings import Settings

if TYPE_CHECKING:  # the Dispatcher imports slack_sdk (~90 ms): built only with --send
    from processor.deliver.dispatcher import Dispatcher


def _s3_client(threads: int, timeout: float) -> Any:
    """boto3 reads the standard AWS settings (profile, region, AWS_ENDPOINT_URL, ...) itself."""
    import boto3

    return boto3.client("s3", config=client_config(threads, timeout))


def _dispatcher(settings: Settings) -> Dispatcher:
    """The Lambda's Dispatcher (pacing, retries, threads, ledger): a backfill follows the same limits."""
    from processor.app import build_dispatcher

    return build_dispatcher(settings)


class _BackfillCommand(click.Command):
    """`backfill SOURCE...` replays; `backfill status RUN_ID` reports on a run on Lambda (a local
    folder named `status` is given as `./status`)."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        if args and args[0] == "status":
            return status_command.make_context(f"{info_name} status", args[1:], parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)


@click.command(
    name="backfill",
    cls=_BackfillCommand,
    short_help="Replay CloudTrail log files from S3 or disk through the rules, here or on Lambda.",
)
@click.argument("sources", nargs=-1, required=True, type=SourceType())
@click.option("--start", type=TimeBoundType(), help="First event time to include (UTC if no offset).")
@click.option("--end", type=TimeBoundType(), help="End of the window (exclusive); a date includes that day.")
@click.option(
    "--account", "accounts", multiple=True, type=AccountIdType(), help="Only this account id (repeatable)."
)
@click.option(
    "--region",
    "regions",
    multiple=True,
    type=RegionType(),
    help="Only this region, e.g. us-east-1 (repeatable).",
)
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
    "--s3-timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=DEFAULT_TIMEOUT_SECONDS,
    show_default=True,
    help="Seconds to wait for S3 to connect or answer, per attempt (3 attempts).",
)
@click.option(
    "--state", type=click.Path(dir_okay=False, path_type=Path), help="Checkpoint file to resume from."
)
@click.option(
    FORCE_FLAG,
    "force_state",
    is_flag=True,
    help="Use the --state file even if it was made with other rules, filters or --send.",
)
@click.option(
    "--summary-json", type=click.Path(dir_okay=False, path_type=Path), help="Also write the summary here."
)
@click.option(
    "--on-lambda",
    is_flag=True,
    help="List here and read on the stack's backfill worker Lambda (docs/backfill.md); prints the run id.",
)
@click.option(
    "--queue-url",
    envvar=QUEUE_ENV,
    metavar="URL",
    help=f"With --on-lambda: the backfill queue (env {QUEUE_ENV}).",
)
@runs_table_option
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
    s3_timeout: float,
    state: Path | None,
    force_state: bool,
    summary_json: Path | None,
    on_lambda: bool,
    queue_url: str | None,
    runs_table: str | None,
    **rule_flags: Any,
) -> None:
    """Run CloudTrail log files (`.json.gz`, `.json`) through the same rules, routing and rendering as
    the Lambda. SOURCE is s3://bucket[/prefix] or a local file or folder. Configuration comes from the
    Lambda's environment variables; the flags below override them.

    Without --send nothing is delivered: each alert is printed as one JSON line on stdout (with the
    exact Slack and SNS payloads), and progress and the summary go to stderr.

    With --on-lambda (S3 only), the objects are listed here and read by the stack's backfill worker
    Lambda; `trailalert backfill status RUN_ID` follows the run.

    Exit status: 0 done, 1 an object could not be read or a delivery failed, 2 bad settings or
    flags, 3 nothing was read, 130 interrupted.
    """
    if on_lambda:
        _on_lambda(click.get_current_context(), rule_flags)
        return
    if force_state and state is None:
        raise click.UsageError(f"{FORCE_FLAG} needs --state")
    if summary_json is not None:
        _check_writable(summary_json, "--summary-json")
    options = Options(
        sources=sources,
        window=TimeWindow.from_bounds(start, end),
        accounts=frozenset(accounts),
        regions=frozenset(regions),
        send=send,
        workers=workers,
        download_threads=download_threads,
        s3_timeout=s3_timeout,
    )
    overrides = {name: value for name, value in rule_flags.items() if value is not None}
    try:
        settings, preview = load_backfill_settings(os.environ, overrides, send=send)
        state_file = None
        if state is not None or workers > 1:  # each worker compiles the rules: a bad one must fail here
            from processor.app import build_rules

            rules = build_rules(settings)
            if state is not None:
                configuration = run_configuration(
                    rules, options.window, options.accounts, options.regions, send=send
                )
                state_file = StateFile.open_for_run(state, configuration, force=force_state)
    except ConfigError as exc:
        raise BadConfiguration(str(exc)) from None
    err = sys.stderr
    dispatcher = reporter = None
    if send:
        from processor.app import RuleErrorReporter
        from processor.pipeline import Router

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
        s3_client=lambda: _s3_client(download_threads, s3_timeout),
        dispatcher=dispatcher,
        report_rule_failures=reporter,
        state=state_file,
    )
    try:
        summary = run.run()
    except ConfigError as exc:  # a bad rule or RULES_FILE, found when the rules are compiled
        raise BadConfiguration(str(exc)) from None
    for line in summary.lines():
        click.echo(line, err=True)
    if summary_json is not None:
        _write_summary(summary, summary_json)
    _exit_status(summary, sources, state, ledger=bool(settings.dynamodb_table_name))


def _on_lambda(ctx: click.Context, rule_flags: dict[str, Any]) -> None:
    """`--on-lambda`: what the workers cannot honour is refused, then the objects are queued."""
    p = ctx.params
    typed = {name: ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE for name in p}
    conflicts = {
        "--state": p["state"] is not None,
        FORCE_FLAG: p["force_state"],
        "--summary-json (use it with `backfill status`)": p["summary_json"] is not None,
        "--workers": typed["workers"],
        "--download-threads": typed["download_threads"],
        "the rule flags": any(value is not None for value in rule_flags.values()),
    }
    sources = check_fan_out(p["sources"], p["queue_url"], p["runs_table"], conflicts)
    err = sys.stderr
    fan_out(
        sources,
        TimeWindow.from_bounds(p["start"], p["end"]),
        frozenset(p["accounts"]),
        frozenset(p["regions"]),
        send=p["send"],
        queue_url=p["queue_url"],
        runs_table=p["runs_table"],
        s3_timeout=p["s3_timeout"],
        progress=Progress(err, tty=_is_tty(err)),
    )


def _exit_status(summary: Summary, sources: tuple[Source, ...], state: Path | None, *, ledger: bool) -> None:
    """Raises the error that says how the run ended, unless it simply succeeded."""
    if summary.interrupted:
        raise Interrupted(_resume_advice(summary, state, ledger=ledger))
    raise_for_outcome(summary, f"nothing was read from {', '.join(str(s) for s in sources)}")


def _resume_advice(summary: Summary, state: Path | None, *, ledger: bool) -> str:
    """What a rerun would do, so the advice fits the run that was interrupted."""
    if state is not None:
        return (
            f"interrupted: rerun the same command to resume from {state} (finished objects are "
            "skipped, alerts already delivered are not sent again)"
        )
    advice = "interrupted: without --state nothing was recorded, so a rerun starts over"
    if summary.mode == "send" and summary.delivered:
        if ledger:
            advice += (
                f" (the DYNAMODB_TABLE_NAME ledger keeps the {summary.delivered:,} alert(s) already "
                "delivered from being sent again)"
            )
        else:
            advice += f" and sends again the {summary.delivered:,} alert(s) already delivered"
    return advice + "; give --state FILE to make a long run resumable"


def _check_writable(path: Path, option: str) -> None:
    """Before the run: an output path that cannot be written fails now, not after hours of work."""
    existed = path.exists()
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True)
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise BadConfiguration(f"{option} {path}: cannot be written: {exc.strerror or exc}") from None
    if not existed:
        path.unlink()


def _write_summary(summary: Summary, path: Path) -> None:
    try:
        path.write_bytes(orjson.dumps(summary.to_json(), option=orjson.OPT_INDENT_2) + b"\n")
    except OSError as exc:  # checked writable at start; a full disk can still refuse it
        raise IncompleteBackfill(f"--summary-json {path}: not written: {exc.strerror or exc}") from None


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False
