"""The command line of a backfill on Lambda: `backfill ... --on-lambda` and `backfill status RUN_ID`.

The stack's queue and runs table are named by flags or, once exported, by the environment
(TRAILALERT_BACKFILL_QUEUE_URL, TRAILALERT_BACKFILL_TABLE: the stack's outputs BackfillQueueUrl
and BackfillTableName, Terraform's backfill_queue_url and backfill_table_name).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
import orjson

from backfill.errors import (
    BackfillError,
    BadConfiguration,
    IncompleteBackfill,
    Interrupted,
    NothingRead,
    raise_for_outcome,
)
from backfill.progress import Progress
from backfill.run_status import RunStatus, load_status, pending_lines, queue_lines, stalled, stalled_lines
from backfill.runs import RunsTable
from backfill.s3listing import client_config
from backfill.sources import S3Source, Selection, Source
from backfill.window import TimeWindow

QUEUE_ENV = "TRAILALERT_BACKFILL_QUEUE_URL"
TABLE_ENV = "TRAILALERT_BACKFILL_TABLE"
WAIT_SECONDS = 15.0


class StillRunning(BackfillError):
    """`status` of a run with objects still to go (without --wait)."""

    exit_code = 4


def runs_table_option(function: Any) -> Any:
    return click.option(
        "--runs-table",
        envvar=TABLE_ENV,
        metavar="NAME",
        help=f"The stack's backfill runs table (output BackfillTableName; env {TABLE_ENV}).",
    )(function)


def check_fan_out(
    sources: tuple[Source, ...], queue_url: str | None, runs_table: str | None, conflicts: dict[str, bool]
) -> tuple[S3Source, ...]:
    """Before anything is listed: only S3 sources, the queue and table named, no local-only flag."""
    local = [str(s) for s in sources if not isinstance(s, S3Source)]
    if local:
        raise click.UsageError(
            f"--on-lambda reads S3 only; {', '.join(local)} is local (the workers cannot read it)"
        )
    given = [flag for flag, used in conflicts.items() if used]
    if given:
        raise click.UsageError(
            f"{', '.join(given)} cannot be used with --on-lambda: the workers run the deployed function's "
            "rules and settings, and record their progress in the runs table (see `backfill status`)"
        )
    if not queue_url:
        raise BadConfiguration(
            f"--on-lambda needs the backfill queue: --queue-url or {QUEUE_ENV} (output BackfillQueueUrl)"
        )
    if not runs_table:
        raise BadConfiguration(
            f"--on-lambda needs the runs table: --runs-table or {TABLE_ENV} (output BackfillTableName)"
        )
    return tuple(s for s in sources if isinstance(s, S3Source))


def fan_out(
    sources: tuple[S3Source, ...],
    window: TimeWindow,
    accounts: frozenset[str],
    regions: frozenset[str],
    *,
    send: bool,
    queue_url: str,
    runs_table: str,
    s3_timeout: float,
    progress: Progress,
) -> None:
    """Lists, queues, prints the run id; exits 3 when nothing was listed, 1 when a listing failed."""
    import boto3
    from botocore.config import Config

    from backfill.fanout import THREADS, FanOut

    s3 = boto3.client("s3", config=client_config(1, s3_timeout))
    pool = Config(max_pool_connections=THREADS * 2)  # every writing thread has its connection
    runner = FanOut(
        sources,
        window,
        accounts,
        regions,
        send,
        RunsTable.named(runs_table, pool),
        boto3.client("sqs", config=pool),
        queue_url,
        s3,
        progress,
        s3_timeout,
    )
    result = runner.run()
    err = sys.stderr
    click.echo(result.run)  # stdout: the run id alone, for scripts
    click.echo(
        f"backfill queued on Lambda ({'send' if send else 'dry-run'}): run {result.run}, {result.objects:,} "
        f"objects in {result.messages:,} messages in {result.seconds:.1f}s",
        err=True,
    )
    for source, reason in result.listing_failures:
        click.echo(f"  could not read {source}: {reason}", err=True)
    for url, reason in result.not_sent[:20]:
        click.echo(f"  not queued {url}: {reason}", err=True)
    for note in result.notes:
        click.echo(f"  note: {note}", err=True)
    click.echo(f"  follow it with: trailalert backfill status {result.run} --wait", file=err)
    if result.interrupted:
        raise Interrupted(
            f"interrupted: the {result.objects:,} objects queued are read on Lambda as run {result.run}; "
            "the rest were not listed"
        )
    if result.listing_failures or result.not_sent:
        raise IncompleteBackfill(
            f"{len(result.listing_failures)} listing(s) failed, {len(result.not_sent)} object(s) not queued (see above)"
        )
    if result.objects == 0:
        assert result.selection is not None
        raise NothingRead(
            f"nothing was queued from {', '.join(str(s) for s in sources)}: {_nothing(result.selection)}"
        )


def _nothing(selection: Selection) -> str:
    from backfill.summary import Summary

    summary = Summary(mode="", workers=0)
    summary.skipped_digests, summary.skipped_filtered = selection.digests, selection.filtered
    summary.skipped_not_logs = selection.not_logs
    return summary.nothing_read() or "found no file at all"


@click.command(name="status", short_help="Progress and summary of a backfill run on Lambda.")
@click.argument("run")
@runs_table_option
@click.option("--wait", is_flag=True, help="Poll until every object is finished, then print the summary.")
@click.option("--alerts", is_flag=True, help="Print the run's alerts as JSON lines on stdout.")
@click.option(
    "--summary-json", type=click.Path(dir_okay=False, path_type=Path), help="Also write the summary here."
)
def status_command(
    run: str, runs_table: str | None, wait: bool, alerts: bool, summary_json: Path | None
) -> None:
    """Progress and summary of the backfill run RUN (printed by `backfill ... --on-lambda`).

    Exit status: 0 done, 1 an object could not be read or a delivery failed, 2 bad flags or an
    unknown run, 3 nothing was read, 4 objects still to go (without --wait).
    """
    if not runs_table:
        raise BadConfiguration(
            f"status needs the runs table: --runs-table or {TABLE_ENV} (output BackfillTableName)"
        )
    import boto3

    table = RunsTable.named(runs_table)
    sqs = boto3.client("sqs")
    while True:
        started = time.monotonic()
        status = load_status(table, run)
        if status is None:
            raise BadConfiguration(f"no backfill run {run!r} in the table {runs_table}")
        stuck = stalled(status, sqs)
        if status.complete or stuck or not wait:
            break
        click.echo(status.progress_line(), err=True)
        # Each look reads every item of the run: for millions of objects, look less often.
        time.sleep(max(WAIT_SECONDS, 4 * (time.monotonic() - started)))
    _print(status, sqs, alerts)
    if summary_json is not None:
        document = {
            "run": run,
            "complete": status.complete,
            "pending": len(status.pending),
            **status.summary.to_json(),
        }
        try:
            summary_json.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        except OSError as exc:  # checked writable at start; a full disk can still refuse it
            raise IncompleteBackfill(
                f"--summary-json {summary_json}: not written: {exc.strerror or exc}"
            ) from None
    if stuck:
        for line in stalled_lines(status):
            click.echo(line, err=True)
        raise IncompleteBackfill(
            f"run {run}: {len(status.pending):,} object(s) have no result and the queue is empty: their "
            "messages are in the dead-letter queue (a worker died on their last attempt) or were lost. Move "
            "the dead letters back (aws sqs start-message-move-task) to finish the run"
        )
    if not status.complete:
        raise StillRunning(f"run {run}: {len(status.pending):,} object(s) still to go; --wait waits for them")
    raise_for_outcome(status.summary, f"run {run} read nothing")


def _print(status: RunStatus, sqs: Any, alerts: bool) -> None:
    if alerts:
        for entry in status.alerts:
            click.echo(orjson.dumps(entry).decode())
    click.echo(status.progress_line(), err=True)
    for line in status.summary.lines():
        click.echo(line, err=True)
    for line in pending_lines(status) + queue_lines(sqs, status.queue_url):
        click.echo(line, err=True)
