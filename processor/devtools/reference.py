"""docs/configuration.md and docs/cli.md, generated so they cannot drift from the code: `make docs`.

The configuration reference is built from processor/settings.py (the names, the Settings defaults,
who reads each name, the valid values where the code lists them) and from the CloudFormation
template (which names are stack parameters); only the prose is written here, in SETTINGS. The CLI
reference is every command's `--help`, walked from the click tree, so a new command appears in it
on the next `make docs` (and tests/test_documentation.py fails until it does).

Run in a checkout: `python -m processor.devtools.reference` writes both; `--check` exits 1 when
either is out of date.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from processor import settings as settings_module
from processor.models import SEVERITIES
from processor.settings import (
    DECODE_MODES,
    DIAGNOSTIC_VARIABLES,
    ENVIRONMENT_VARIABLES,
    INTERACTIONS_VARIABLES,
    SECRET_REFERENCES,
    Settings,
)

REPO = Path(__file__).resolve().parents[2]
CONFIGURATION_MD = REPO / "docs" / "configuration.md"
CLI_MD = REPO / "docs" / "cli.md"
HELP_WIDTH = 100
# Set by the Lambda runtime, never by you: FUNCTION_NAME's fallback.
RUNTIME_VARIABLES: tuple[str, ...] = ("AWS_LAMBDA_FUNCTION_NAME",)

_BOOLEAN = "`true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case)"
_REFERENCE_VALUES = "an SSM parameter name (`/trailalert/slack` or `slack`) or a Secrets Manager ARN (`arn:aws:secretsmanager:…`)"
_CHANNEL = "a Slack channel id (`C0123456789`; the channel's details, at the bottom), no whitespace"
_TOPIC = "an SNS topic ARN (`arn:aws:sns:region:account:name`)"


def _routes(key: str, example: str) -> str:
    return f'a JSON list: `[{{"accounts": ["111122223333"], "{key}": "{example}"}}]`; empty or `null`: none'


@dataclass(frozen=True)
class SettingDoc:
    """The prose for one setting; the default, the readers and the stack parameter are derived."""

    group: str
    what: str
    values: str
    default: str | None = None  # when the Settings default alone would mislead


SETTINGS: dict[str, SettingDoc] = {
    # --- Rules ---
    "RULES": SettingDoc(
        "Rules and detection",
        "Your rules: Python expressions over `event` (the flattened CloudTrail record), separated by "
        "`RULES_SEPARATOR`. A rule alerts when it evaluates to exactly `True`. Checked, with the rest, "
        "by `trailalert rules check`.",
        "expressions in the safe subset of Python; anything else is refused at start, naming the rule and why",
    ),
    "IGNORE_RULES": SettingDoc(
        "Rules and detection",
        "Rules that suppress an event: evaluated before all other rules; an event one of them matches "
        "is counted as ignored and never alerts.",
        "expressions, as `RULES`",
    ),
    "RULES_SEPARATOR": SettingDoc(
        "Rules and detection",
        "What separates the rules of `RULES` and `IGNORE_RULES` (use e.g. `%` when rules contain commas).",
        "any non-empty string",
    ),
    "USE_DEFAULT_RULES": SettingDoc(
        "Rules and detection",
        "Run the nine default rules (root actions, console login without MFA, denied calls, CloudTrail "
        "stopped or deleted, changes to this function...). `trailalert rules list` shows them.",
        _BOOLEAN,
    ),
    "EVENTS_TO_TRACK": SettingDoc(
        "Rules and detection",
        "Event names that always alert, whatever else the event holds.",
        "comma-separated event names (`CreateUser,DeleteBucket`)",
    ),
    "FUNCTION_NAME": SettingDoc(
        "Rules and detection",
        "The processor's own function name, used by the default rules that catch changes to it.",
        "a Lambda function name",
        default="the Lambda's own name (`AWS_LAMBDA_FUNCTION_NAME`), else `trailalert`",
    ),
    "AWS_LAMBDA_FUNCTION_NAME": SettingDoc(
        "Rules and detection",
        "Set by the Lambda runtime, never by you: what `FUNCTION_NAME` falls back to.",
        "(set by Lambda)",
        default="set by Lambda",
    ),
    "RULES_FILE": SettingDoc(
        "Rules and detection",
        "YAML rule files: one file, a folder of them, or an object in S3. Each rule has an id, a "
        "severity, a title and an expression; errors are reported at file:line ([rule-files.md](rule-files.md)).",
        "a path to a `.yml` file or folder, or `s3://bucket/key`",
    ),
    "USE_DETECTION_PACK": SettingDoc(
        "Rules and detection",
        "Run the bundled detection pack (rules for real AWS attack techniques, every one with a guard). "
        "Stacks from `infra/` turn it on.",
        _BOOLEAN,
    ),
    "RULE_EVALUATION_ERRORS_TO_SLACK": SettingDoc(
        "Rules and detection",
        "Post a notice when a rule fails at run time (at most once per rule per hour per container), so "
        "its author fixes it instead of missing alerts.",
        _BOOLEAN,
    ),
    # --- Destinations ---
    "SLACK_BOT_TOKEN": SettingDoc(
        "Destinations",
        "The Slack app's bot token (`chat:write`; `channels:history`, `groups:history` for the "
        "lost-answer lookup). Turns on the Slack app, which wins over `HOOK_URL`. A secret: never "
        "logged or printed; in a deployed stack give `SLACK_BOT_TOKEN_SECRET` instead.",
        "`xoxb-…`, no whitespace",
    ),
    "SLACK_BOT_TOKEN_SECRET": SettingDoc(
        "Destinations",
        "Instead of `SLACK_BOT_TOKEN`: where it is stored, read once per container.",
        _REFERENCE_VALUES,
    ),
    "DEFAULT_SLACK_CHANNEL_ID": SettingDoc(
        "Destinations",
        "The channel for accounts not in `SLACK_APP_CONFIGURATION`. Required with `SLACK_BOT_TOKEN`.",
        _CHANNEL,
    ),
    "SLACK_APP_CONFIGURATION": SettingDoc(
        "Destinations",
        "Per-account channels for the Slack app: an event's account (`recipientAccountId`) picks its "
        "channel, other accounts go to `DEFAULT_SLACK_CHANNEL_ID` ([routing.md](routing.md)). Needs `SLACK_BOT_TOKEN`.",
        _routes("slack_channel_id", "C0123456789"),
    ),
    "HOOK_URL": SettingDoc(
        "Destinations",
        "A Slack incoming webhook, for accounts not in `CONFIGURATION`, when there is no Slack app. "
        "A secret; in a deployed stack give `HOOK_URL_SECRET` instead.",
        "an http(s) URL (`https://hooks.slack.com/services/…`), no whitespace",
    ),
    "HOOK_URL_SECRET": SettingDoc(
        "Destinations", "Instead of `HOOK_URL`: where it is stored.", _REFERENCE_VALUES
    ),
    "CONFIGURATION": SettingDoc(
        "Destinations",
        "Per-account webhooks (it holds webhook URLs, so it is a secret). Needs `HOOK_URL`, the "
        "webhook for the other accounts.",
        _routes("slack_hook_url", "https://hooks.slack.com/…"),
    ),
    "CONFIGURATION_SECRET": SettingDoc(
        "Destinations", "Instead of `CONFIGURATION`: where its JSON is stored.", _REFERENCE_VALUES
    ),
    "DEFAULT_SNS_TOPIC_ARN": SettingDoc(
        "Destinations",
        "The SNS topic for accounts not in `SNS_CONFIGURATION`. SNS alone (no Slack) is a valid "
        "configuration. Its messages are JSON ([routing.md](routing.md#messages)).",
        _TOPIC,
    ),
    "SNS_CONFIGURATION": SettingDoc(
        "Destinations",
        "Per-account SNS topics, independent of the Slack routing.",
        _routes("sns_topic_arn", "arn:aws:sns:…"),
    ),
    "SEVERITY_ROUTING": SettingDoc(
        "Destinations",
        "Extra destinations by severity: an alert at `min_severity` or above also goes to this channel "
        "and/or topic (a channel needs the Slack app; [rule-files.md](rule-files.md#severity-routing)).",
        'a JSON list: `[{"min_severity": "critical", "slack_channel_id": "C0PAGE", "sns_topic_arn": '
        f'"arn:aws:sns:…"}}]`; `min_severity` one of {", ".join(f"`{s}`" for s in SEVERITIES)}; at least '
        "one of the two destinations per item",
    ),
    "SLACK_API_URL": SettingDoc(
        "Destinations",
        "Slack's Web API base URL; the tests and the demo point it at a local stand-in.",
        "an http(s) URL",
    ),
    # --- Threads and the delivery ledger ---
    "DYNAMODB_TABLE_NAME": SettingDoc(
        "Threads and the delivery ledger",
        "The table for threads (similar events join the first alert's thread), the delivery ledger (a "
        "retried batch sends only what is missing) and, with triage, snoozes and mutes.",
        "a DynamoDB table name (partition key `pk`, a string; TTL on `expires_at`; the stacks create it)",
    ),
    "DYNAMODB_TIME_TO_LIVE": SettingDoc(
        "Threads and the delivery ledger",
        "Seconds during which similar events join the first message's thread.",
        "a whole number of seconds, greater than zero",
    ),
    # --- Triage from Slack ---
    "SLACK_SIGNING_SECRET": SettingDoc(
        "Triage from Slack",
        "The Slack app's signing secret. Setting it (or its reference) turns triage on: alerts carry "
        "Acknowledge, Snooze similar and Mute similar buttons, whose clicks the interactions function "
        "verifies with it. The processor only sees whether it is set. [slack.md](slack.md) sets it up.",
        "the app's signing secret (Basic Information, App Credentials)",
        default="— (triage off)",
    ),
    "SLACK_SIGNING_SECRET_SECRET": SettingDoc(
        "Triage from Slack",
        "Instead of `SLACK_SIGNING_SECRET`: where it is stored (only the interactions function reads it).",
        _REFERENCE_VALUES,
    ),
    "TRIAGE_SIGNING_KEY": SettingDoc(
        "Triage from Slack",
        "A random key that signs the buttons' values, so a click can only snooze what an alert showed. "
        "Required with the signing secret.",
        "a random string of at least 32 characters",
    ),
    "TRIAGE_SIGNING_KEY_SECRET": SettingDoc(
        "Triage from Slack",
        "Instead of `TRIAGE_SIGNING_KEY`: where it is stored. Stacks from `infra/` generate one in "
        "Secrets Manager.",
        _REFERENCE_VALUES,
    ),
    "TRIAGE_ALLOWED_USERS": SettingDoc(
        "Triage from Slack",
        "Who may snooze, mute and unmute; empty: anyone in the channel. Needs triage on.",
        "Slack user ids (`U…` or `W…`) separated by commas or spaces",
    ),
    # --- Accounts ---
    "ACCOUNT_NAMES": SettingDoc(
        "Accounts",
        "Names shown beside account ids in alerts.",
        'a JSON object: `{"111122223333": "production"}` (12-digit ids, non-empty names)',
    ),
    "ACCOUNT_NAMES_FROM_ORGANIZATIONS": SettingDoc(
        "Accounts",
        "Also ask AWS Organizations for account names (once per account per container; needs "
        "`organizations:DescribeAccount`).",
        _BOOLEAN,
    ),
    # --- Log files in S3 ---
    "S3_REMOVED_OBJECT_NOTIFICATION": SettingDoc(
        "Log files in S3",
        "The S3-notification handler (`processor.s3_handler`) only: alert when a CloudTrail log file "
        "is deleted.",
        _BOOLEAN,
    ),
    # --- Diagnostics ---
    "LOG_LEVEL": SettingDoc(
        "Diagnostics",
        "The functions' log level. Logs are JSON lines; secrets are never logged.",
        "",  # filled from the code's list below
    ),
    "TRAILALERT_DECODE": SettingDoc(
        "Diagnostics",
        "`full` decodes every record in full (the fast path off: to compare, or to rule it out while "
        "diagnosing); `auto` runs the fast path whenever every rule has a guard. `trailalert rules "
        "check` says which applies.",
        "",  # filled from DECODE_MODES
    ),
}
GROUPS = (
    "Rules and detection",
    "Destinations",
    "Threads and the delivery ledger",
    "Triage from Slack",
    "Accounts",
    "Log files in S3",
    "Diagnostics",
)
# Settings fields whose setting is not simply their name in upper case.
_FIELD_SETTING = {"decode": "TRAILALERT_DECODE", "triage_enabled": "SLACK_SIGNING_SECRET"}


def documented_names() -> tuple[str, ...]:
    """Every name the code reads, in the order of the reference."""
    names = ENVIRONMENT_VARIABLES + DIAGNOSTIC_VARIABLES + RUNTIME_VARIABLES
    return tuple(n for g in GROUPS for n in SETTINGS if SETTINGS[n].group == g and n in names)


def setting_of_field(name: str) -> str:
    """The environment variable behind a Settings field."""
    return _FIELD_SETTING.get(name, name.upper())


def _defaults() -> dict[str, Any]:
    return {setting_of_field(f.name): f.default for f in dataclasses.fields(Settings)}


def _shown_default(value: Any) -> str:
    if value is dataclasses.MISSING or value in (None, (), frozenset(), ""):
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _values(name: str) -> str:
    if name == "LOG_LEVEL":
        levels = sorted(
            settings_module._LOG_LEVELS, key=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].index
        )
        return ", ".join(f"`{level}`" for level in levels) + " (any case)"
    if name == "TRAILALERT_DECODE":
        return ", ".join(f"`{mode}`" for mode in DECODE_MODES) + " (any case)"
    return SETTINGS[name].values


def _stack_parameters() -> dict[str, str]:
    """Setting -> its stack parameter in infra/cloudformation/template.yaml."""
    from infra.config import source_names
    from infra.template import load_template

    return {setting: parameter for parameter, setting in source_names(load_template()).items()}


def _stack(name: str, parameters: dict[str, str]) -> str:
    if name in parameters:
        return f"`{parameters[name]}`"
    if name in SECRET_REFERENCES:
        return f"no (a secret): give `{SECRET_REFERENCES[name]}`"
    if name in RUNTIME_VARIABLES:
        return "no: set by Lambda"
    if name in DIAGNOSTIC_VARIABLES:
        return "no: a diagnostic, set by hand on the function"
    return "no"


def _readers(name: str) -> str:
    readers = []
    if name in ENVIRONMENT_VARIABLES or name in DIAGNOSTIC_VARIABLES or name in RUNTIME_VARIABLES:
        readers.append("the processor")
    if name in INTERACTIONS_VARIABLES:
        readers.append("the interactions function")
    if name in ENVIRONMENT_VARIABLES or name in DIAGNOSTIC_VARIABLES:
        readers.append("`trailalert` commands")
    return ", ".join(readers)


def configuration_markdown() -> str:
    """docs/configuration.md."""
    defaults = _defaults()
    parameters = _stack_parameters()
    names = documented_names()

    def default(name: str) -> str:
        doc = SETTINGS[name]
        return doc.default if doc.default is not None else _shown_default(defaults.get(name))

    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `make docs` from processor/settings.py, the CloudFormation template and the",
        "     descriptions in processor/devtools/reference.py: edit those, not this file. -->",
        "",
        "Every setting is an environment variable of the Lambda functions, and of the `trailalert` commands",
        "(which take flags to override some of them: [cli.md](cli.md)). Names and JSON shapes are those of",
        "terraform-aws-cloudtrail-to-slack. A bad value fails the function's first invocation (and",
        "`trailalert config check`) with a message naming the setting, never the first alert. At least one",
        "destination must be set: `SLACK_BOT_TOKEN` (Slack app), `HOOK_URL` (webhook) or SNS.",
        "",
        "With `make deploy`, set them in `deploy.env`: each is passed to its stack parameter (the last",
        "column); the stack's own settings (`TRAILALERT_…`: stream, batch size, memory...) are in",
        "[deploy.md](deploy.md).",
        "",
    ]
    for group in GROUPS:
        lines.append(f"- [{group}](#{group.lower().replace(' ', '-')})")
    lines += ["", "| Setting | Default | Stack parameter |", "|---|---|---|"]
    for name in names:
        lines.append(f"| [`{name}`](#{name.lower()}) | {default(name)} | {_stack(name, parameters)} |")
    for group in GROUPS:
        lines += ["", f"## {group}"]
        for name in (n for n in names if SETTINGS[n].group == group):
            lines += [
                "",
                f"### {name}",
                "",
                SETTINGS[name].what,
                "",
                f"- Default: {default(name)}",
                f"- Valid values: {_values(name)}",
                f"- Read by: {_readers(name)}",
                f"- Stack parameter: {_stack(name, parameters)}",
            ]
    return "\n".join(lines) + "\n"


def command_paths(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command of the tree, depth first, subcommands in the order `--help` lists them."""
    yield path, command
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            sub = command.get_command(click.Context(command), name)
            if sub is not None and not sub.hidden:
                yield from command_paths(sub, (*path, name))


def command_help(root: click.Command, path: tuple[str, ...]) -> str:
    """`trailalert PATH --help`, at a fixed width so the file does not depend on the terminal."""
    ctx = click.Context(root, info_name="trailalert", terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH,
                        **root.context_settings)  # fmt: skip
    command = root
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(ctx, name)  # type: ignore[assignment]
        ctx = click.Context(command, info_name=name, parent=ctx, **command.context_settings)
    return command.get_help(ctx)


def cli_markdown() -> str:
    """docs/cli.md: every command's help, from the click tree."""
    from processor.cli import main

    paths = [path for path, _ in command_paths(main)]
    lines = [
        "# Command reference",
        "",
        "<!-- Generated by `make docs` from the commands' own help (processor/cli.py and the modules it",
        "     registers): edit the commands, not this file. -->",
        "",
        "`trailalert` is installed with the package ([install.md](install.md)). Every command reads the Lambda's",
        "settings from the environment ([configuration.md](configuration.md)); flags override them.",
        "`-h` and `--help` work everywhere.",
        "",
    ]
    lines += [f"- [`{' '.join(('trailalert', *p))}`](#{'-'.join(('trailalert', *p))})" for p in paths]
    for path in paths:
        title = " ".join(("trailalert", *path))
        lines += ["", f"## {title}", "", "```", command_help(main, path).rstrip(), "```"]
    return "\n".join(lines) + "\n"


def generated() -> dict[Path, str]:
    return {CONFIGURATION_MD: configuration_markdown(), CLI_MD: cli_markdown()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    stale = []
    for path, text in generated().items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        stale.append(path)
        if "--check" not in args:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")
    if "--check" in args and stale:
        print("out of date (run `make docs`): " + ", ".join(str(p.relative_to(REPO)) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
