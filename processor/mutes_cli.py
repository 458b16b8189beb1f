"""`trailalert mutes list | add | remove`: the snoozes and mutes in the table, from a terminal.

The same items the Slack buttons make (processor/deliver/dynamo.py), with the same audit line,
printed here; removing one made from Slack also posts the line in its alert's thread when a Slack
bot token is configured (SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_SECRET, as for the Lambda). The
processor sees a change within a minute (its cache). AWS credentials with access to the table needed.
"""

from __future__ import annotations

import getpass
import os
import re
import sys
import time
from typing import Any

import click

from processor.deliver.dynamo import MUTE, SNOOZE, Suppression, SuppressionStore
from processor.deliver.threads import similarity_key
from processor.render import triage

_DURATION = re.compile(r"(\d+)\s*([mhd])")
_UNITS = {"m": 60, "h": 3600, "d": 86_400}


@click.group(name="mutes")
def mutes_group() -> None:
    """Snoozes and mutes: similar alerts not posted to Slack (docs/slack.md)."""


def _table_option(command: Any) -> Any:
    return click.option(
        "--table",
        envvar="DYNAMODB_TABLE_NAME",
        required=True,
        help="The stack's table (default: DYNAMODB_TABLE_NAME; `make deploy` prints it as TableName).",
    )(command)


@mutes_group.command(name="list")
@_table_option
@click.option("--all", "show_all", is_flag=True, help="Also show snoozes that are over.")
def list_command(table: str, show_all: bool) -> None:
    """Every snooze and mute: key, what it holds back, who made it, until when, how many it held back."""
    now = time.time()
    found = sorted(_store(table).all(), key=lambda s: s.at)
    shown = [s for s in found if show_all or s.live(now)]
    if not shown:
        click.echo("no snooze or mute" + ("" if show_all else " in effect"))
    for suppression in shown:
        state = "" if suppression.live(now) else " (over)"
        until = "until unmuted" if suppression.until is None else f"until {triage.utc(suppression.until)}"
        click.echo(f"{suppression.key}  {suppression.kind} {until}{state}")
        click.echo(
            f"  by {suppression.by} at {triage.utc(suppression.at)}; {suppression.suppressed} held back"
        )
        click.echo(f"  {triage.shown_line(suppression.what)}")


@mutes_group.command(name="add")
@_table_option
@click.option("--rule", required=True, help="The rule id, as alerts show it.")
@click.option("--actor", help="Who, as alerts show it (an ARN, a service...).")
@click.option("--account", help="The account id.")
@click.option("--event-source", help="e.g. cloudtrail.amazonaws.com")
@click.option("--event", "event_name", help="The event name, e.g. StopLogging.")
@click.option("--outcome", default="ok", show_default=True, help='The errorCode, or "ok".')
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="KEY=VALUE",
    help="For a rule with group_by: each of its keys and value, in the rule's order (instead of --actor ...).",
)
@click.option("--for", "duration", help="Snooze for 30m, 1h, 24h, 7d ... (default: mute until removed).")
@click.option("--by", default=None, help="Who makes it, for the audit line (default: your login name).")
def add_command(
    table: str,
    rule: str,
    actor: str | None,
    account: str | None,
    event_source: str | None,
    event_name: str | None,
    outcome: str,
    groups: tuple[str, ...],
    duration: str | None,
    by: str | None,
) -> None:
    """Hold back alerts similar to the ones described: exactly these values, as the buttons do."""
    if groups:
        pairs = [group.partition("=") for group in groups]
        if any(not key or not sep for key, sep, _ in pairs):
            raise click.UsageError("--group takes KEY=VALUE")
        what = (("Rule", rule), *((key, value) for key, _, value in pairs))
    else:
        given = {
            "--actor": actor,
            "--account": account,
            "--event-source": event_source,
            "--event": event_name,
        }
        missing = [flag for flag, value in given.items() if not value]
        if missing:
            raise click.UsageError(f"give {', '.join(missing)} (or --group for a rule with group_by)")
        what = (
            ("Rule", rule),
            ("Actor", str(actor)),
            ("Account", str(account)),
            ("Event source", str(event_source)),
            ("Event", str(event_name)),
            ("Outcome", outcome),
        )
    now = time.time()
    seconds = _seconds(duration) if duration else None
    suppression = Suppression(
        key=similarity_key(what),
        kind=SNOOZE if seconds else MUTE,
        what=what,
        by=_who(by),
        at=now,
        until=None if seconds is None else now + seconds,
    )
    _store(table).put(suppression)
    click.echo(triage.made_line(suppression, duration=duration or ""))
    click.echo(f"key {suppression.key} (trailalert mutes remove {suppression.key})")


@mutes_group.command(name="remove")
@_table_option
@click.argument("key")
@click.option("--by", default=None, help="Who removes it, for the audit line (default: your login name).")
def remove_command(table: str, key: str, by: str | None) -> None:
    """Remove a snooze or mute by its key (or a unique start of it, as `list` shows it)."""
    store = _store(table)
    matches = [s.key for s in store.all() if s.key.startswith(key)] if len(key) < 32 else [key]
    if len(matches) != 1:
        click.echo(
            f"{'no' if not matches else 'more than one'} snooze or mute has a key starting {key!r}", err=True
        )
        sys.exit(1)
    removed = store.remove(matches[0])
    if removed is None:
        click.echo(f"no snooze or mute has the key {matches[0]}", err=True)
        sys.exit(1)
    who = _who(by)
    click.echo(triage.removed_line(removed, who))
    if removed.channel and removed.thread_ts:
        click.echo(_post_in_thread(removed, who))


def _store(table: str) -> SuppressionStore:
    import boto3

    return SuppressionStore(boto3.resource("dynamodb").Table(table))


def _who(by: str | None) -> str:
    return f"{by or getpass.getuser()} (CLI)"


def _seconds(duration: str) -> int:
    match = _DURATION.fullmatch(duration.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise click.BadParameter(
            f"{duration!r}: give a duration such as 30m, 1h, 24h or 7d", param_hint="--for"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def _post_in_thread(removed: Suppression, who: str) -> str:
    """Post the audit line in the thread the suppression was made from, when a bot token is set."""
    token = os.environ.get("SLACK_BOT_TOKEN", "")
    reference = os.environ.get("SLACK_BOT_TOKEN_SECRET", "")
    if not token and not reference:
        return "not posted in its Slack thread: set SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_SECRET to post it"
    try:
        if not token:
            from processor.deliver.secrets import SecretResolver

            token = SecretResolver()("SLACK_BOT_TOKEN_SECRET", reference)
        from slack_sdk import WebClient

        from processor.deliver.senders import SLACK_SDK_LOG
        from processor.settings import DEFAULT_SLACK_API_URL

        base_url = os.environ.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        client = WebClient(
            token=token,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            timeout=10,
            logger=SLACK_SDK_LOG,
        )
        line = triage.suppression_removed(removed, who)
        client.chat_postMessage(
            channel=removed.channel, thread_ts=removed.thread_ts, text=line.text, blocks=list(line.blocks)
        )
    except Exception as exc:  # the token's text never reaches here: only the error's type
        return f"not posted in its Slack thread: {type(exc).__name__}"
    return f"posted in its Slack thread ({removed.channel})"
