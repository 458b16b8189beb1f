"""One typed Settings object, read once from the environment and validated up front.

The names are the reference module's, so its users can switch without renaming anything. Every
problem is a `ConfigError` naming the setting, raised at cold start rather than on the first alert.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from processor.errors import ConfigError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_FUNCTION_NAME = "trailalert"

# Every environment variable the processor reads. infra/ must set exactly these (a test checks it).
ENVIRONMENT_VARIABLES: tuple[str, ...] = (
    "RULES",
    "IGNORE_RULES",
    "RULES_SEPARATOR",
    "USE_DEFAULT_RULES",
    "EVENTS_TO_TRACK",
    "FUNCTION_NAME",
    "RULE_EVALUATION_ERRORS_TO_SLACK",
    "LOG_LEVEL",
    "SLACK_BOT_TOKEN",
    "DEFAULT_SLACK_CHANNEL_ID",
    "SLACK_APP_CONFIGURATION",
    "HOOK_URL",
    "CONFIGURATION",
    "DEFAULT_SNS_TOPIC_ARN",
    "SNS_CONFIGURATION",
    "SLACK_API_URL",
    "DYNAMODB_TABLE_NAME",
    "DYNAMODB_TIME_TO_LIVE",
    "SLACK_BOT_TOKEN_SECRET",
    "HOOK_URL_SECRET",
    "CONFIGURATION_SECRET",
    "RULES_FILE",
    "USE_DETECTION_PACK",
    "SEVERITY_ROUTING",
    "S3_REMOVED_OBJECT_NOTIFICATION",
    "SLACK_SIGNING_SECRET",
    "SLACK_SIGNING_SECRET_SECRET",
    "TRIAGE_SIGNING_KEY",
    "TRIAGE_SIGNING_KEY_SECRET",
    "TRIAGE_ALLOWED_USERS",
    "ACCOUNT_NAMES",
    "ACCOUNT_NAMES_FROM_ORGANIZATIONS",
)
# What the interactions function (processor.interactions.handler) reads: a subset, so its role
# reaches only the table and the secrets it needs.
INTERACTIONS_VARIABLES: tuple[str, ...] = (
    "LOG_LEVEL",
    "SLACK_API_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_BOT_TOKEN_SECRET",
    "SLACK_SIGNING_SECRET",
    "SLACK_SIGNING_SECRET_SECRET",
    "TRIAGE_SIGNING_KEY",
    "TRIAGE_SIGNING_KEY_SECRET",
    "TRIAGE_ALLOWED_USERS",
    "DYNAMODB_TABLE_NAME",
)
# Read by the processor but not set by infra/: the default is right in production.
DIAGNOSTIC_VARIABLES: tuple[str, ...] = ("TRAILALERT_DECODE",)
DECODE_MODES: tuple[str, ...] = ("auto", "full")
# Secrets may be given by reference (an SSM parameter name or a Secrets Manager ARN) instead.
SECRET_REFERENCES: dict[str, str] = {
    "SLACK_BOT_TOKEN": "SLACK_BOT_TOKEN_SECRET",
    "HOOK_URL": "HOOK_URL_SECRET",
    "CONFIGURATION": "CONFIGURATION_SECRET",
    "SLACK_SIGNING_SECRET": "SLACK_SIGNING_SECRET_SECRET",
    "TRIAGE_SIGNING_KEY": "TRIAGE_SIGNING_KEY_SECRET",
}
# Only the interactions function reads the Slack signing secret: the processor sees whether it is
# set (triage is on, so alerts carry buttons), never its value.
PROCESSOR_SKIPS_SECRETS = frozenset({"SLACK_SIGNING_SECRET"})
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_ACCOUNT_ID = re.compile(r"\d{12}")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


class AccountRoute(NamedTuple):
    """Events from these accounts go to `target` (a channel id, webhook URL or topic ARN)."""

    accounts: frozenset[str]
    target: str


class SeverityRoute(NamedTuple):
    """Alerts at `min_severity` or above also go to this Slack channel and/or SNS topic."""

    min_severity: str
    slack_channel_id: str | None = None
    sns_topic_arn: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything an entry point needs to know, validated. Secrets are excluded from repr."""

    rules: str | None = None
    ignore_rules: str | None = None
    rules_separator: str = ","
    use_default_rules: bool = True
    events_to_track: str | None = None
    function_name: str = DEFAULT_FUNCTION_NAME
    rules_file: str | None = None  # a YAML file or folder, or s3://bucket/key (see processor/rules/files)
    use_detection_pack: bool = False
    severity_routing: tuple[SeverityRoute, ...] = ()
    rule_evaluation_errors_to_slack: bool = True
    log_level: str = "INFO"

    slack_bot_token: str | None = field(default=None, repr=False)
    default_slack_channel_id: str | None = None
    slack_app_configuration: tuple[AccountRoute, ...] = ()
    hook_url: str | None = field(default=None, repr=False)
    configuration: tuple[AccountRoute, ...] = field(default=(), repr=False)
    default_sns_topic_arn: str | None = None
    sns_configuration: tuple[AccountRoute, ...] = ()
    slack_api_url: str = DEFAULT_SLACK_API_URL

    dynamodb_table_name: str | None = None
    dynamodb_time_to_live: int = 900

    s3_removed_object_notification: bool = True  # the S3-notification Lambda alerts on deleted log files
    # "auto": the fast path decodes in full only the records some rule may match (processor/fastpath.py);
    # "full": every record is decoded in full (to compare, or to rule the fast path out while diagnosing).
    decode: str = "auto"

    # Triage from Slack (docs/slack.md): alerts carry buttons when the interactions function can take
    # their clicks, i.e. the Slack app's signing secret is set (the processor never reads its value).
    triage_enabled: bool = False
    triage_signing_key: str | None = field(default=None, repr=False)  # signs the buttons' values
    triage_allowed_users: frozenset[str] = frozenset()  # Slack user ids; empty: anyone in the channel
    account_names: tuple[tuple[str, str], ...] = ()  # (account id, name), from ACCOUNT_NAMES
    account_names_from_organizations: bool = False

    @property
    def uses_slack_app(self) -> bool:
        return bool(self.slack_bot_token)

    @property
    def uses_webhook(self) -> bool:
        """The reference prefers the Slack app when both are set; so do we."""
        return bool(self.hook_url) and not self.uses_slack_app

    @property
    def uses_sns(self) -> bool:
        return bool(self.default_sns_topic_arn or self.sns_configuration)


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    resolve_secret: Callable[[str, str], str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from environment variables; `overrides` (CLI flags) win over the environment.

    `resolve_secret(setting, reference)` reads *_SECRET references (SSM or Secrets Manager); by
    default a boto3-backed resolver is created, only when such a reference is set.
    """
    raw = os.environ if environ is None else environ
    env = _with_secrets(raw, resolve_secret, skip=PROCESSOR_SKIPS_SECRETS)

    def text(name: str) -> str | None:
        value = env.get(name)
        return value if value not in (None, "") else None

    values: dict[str, Any] = {
        "rules": text("RULES"),
        "ignore_rules": text("IGNORE_RULES"),
        "rules_separator": env.get("RULES_SEPARATOR") or ",",
        "use_default_rules": _boolean(env, "USE_DEFAULT_RULES", True),
        "events_to_track": text("EVENTS_TO_TRACK"),
        "function_name": text("FUNCTION_NAME") or text("AWS_LAMBDA_FUNCTION_NAME") or DEFAULT_FUNCTION_NAME,
        "rules_file": text("RULES_FILE"),
        "use_detection_pack": _boolean(env, "USE_DETECTION_PACK", False),
        "severity_routing": _severity_routes(env),
        "rule_evaluation_errors_to_slack": _boolean(env, "RULE_EVALUATION_ERRORS_TO_SLACK", True),
        "log_level": (text("LOG_LEVEL") or "INFO").upper(),
        "slack_bot_token": text("SLACK_BOT_TOKEN"),
        "default_slack_channel_id": text("DEFAULT_SLACK_CHANNEL_ID"),
        "slack_app_configuration": _routes(env, "SLACK_APP_CONFIGURATION", "slack_channel_id"),
        "hook_url": text("HOOK_URL"),
        "configuration": _routes(env, "CONFIGURATION", "slack_hook_url"),
        "default_sns_topic_arn": text("DEFAULT_SNS_TOPIC_ARN"),
        "sns_configuration": _routes(env, "SNS_CONFIGURATION", "sns_topic_arn"),
        "slack_api_url": _slack_api_url(text("SLACK_API_URL")),
        "dynamodb_table_name": text("DYNAMODB_TABLE_NAME"),
        "dynamodb_time_to_live": _positive_int(env, "DYNAMODB_TIME_TO_LIVE", 900),
        "s3_removed_object_notification": _boolean(env, "S3_REMOVED_OBJECT_NOTIFICATION", True),
        "decode": decode_setting(env),
        "triage_enabled": bool(
            (raw.get("SLACK_SIGNING_SECRET") or "").strip()
            or (raw.get("SLACK_SIGNING_SECRET_SECRET") or "").strip()
        ),
        "triage_signing_key": text("TRIAGE_SIGNING_KEY"),
        "triage_allowed_users": allowed_users(env),
        "account_names": _account_names(env),
        "account_names_from_organizations": _boolean(env, "ACCOUNT_NAMES_FROM_ORGANIZATIONS", False),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)
    validate(settings)
    return settings


def rule_options(environ: Mapping[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    """Only the rule settings, as keyword arguments for `check_rules` / `build_ruleset`.

    Checking rules must work on a laptop with no destination configured, so this skips the
    destination checks that `load_settings` makes.
    """
    env = os.environ if environ is None else environ
    options: dict[str, Any] = {
        "rules": env.get("RULES") or None,
        "ignore_rules": env.get("IGNORE_RULES") or None,
        "separator": env.get("RULES_SEPARATOR") or ",",
        "use_default_rules": _boolean(env, "USE_DEFAULT_RULES", True),
        "events_to_track": env.get("EVENTS_TO_TRACK") or None,
        "function_name": env.get("FUNCTION_NAME")
        or env.get("AWS_LAMBDA_FUNCTION_NAME")
        or DEFAULT_FUNCTION_NAME,
        "rules_file": env.get("RULES_FILE") or None,
        "use_detection_pack": _boolean(env, "USE_DETECTION_PACK", False),
    }
    options.update({k: v for k, v in overrides.items() if v is not None})
    return options


def validate(settings: Settings) -> None:
    """Cross-setting checks: each failure names the setting a user has to fix."""
    if settings.log_level not in _LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"{settings.log_level!r} is not one of {sorted(_LOG_LEVELS)}")
    if settings.uses_slack_app and not settings.default_slack_channel_id:
        raise ConfigError("DEFAULT_SLACK_CHANNEL_ID", "must be set when SLACK_BOT_TOKEN is set")
    if settings.slack_app_configuration and not settings.uses_slack_app:
        raise ConfigError("SLACK_APP_CONFIGURATION", "needs SLACK_BOT_TOKEN")
    if settings.configuration and not settings.hook_url:
        raise ConfigError("CONFIGURATION", "needs HOOK_URL (the default webhook for other accounts)")
    secrets = [("SLACK_BOT_TOKEN", settings.slack_bot_token), ("HOOK_URL", settings.hook_url)]
    for name, value in secrets + [("CONFIGURATION", r.target) for r in settings.configuration]:
        if value and _has_space(value.strip()):
            # Never quote the value: it is a secret. Such a value fails every send, and the HTTP
            # library's error would quote it.
            raise ConfigError(name, "contains whitespace or a control character (a copy-paste error?)")
    if settings.hook_url and not settings.hook_url.startswith(("https://", "http://")):
        raise ConfigError("HOOK_URL", "must be an http(s) URL")
    for route in settings.configuration:
        if not route.target.startswith(("https://", "http://")):
            raise ConfigError("CONFIGURATION", "every slack_hook_url must be an http(s) URL")
    for name, arn in [("DEFAULT_SNS_TOPIC_ARN", settings.default_sns_topic_arn)] + [
        ("SNS_CONFIGURATION", r.target) for r in settings.sns_configuration
    ]:
        if arn is not None and not _is_topic_arn(arn):
            raise ConfigError(name, f"{arn!r} is not an SNS topic ARN")
    channels = [("DEFAULT_SLACK_CHANNEL_ID", settings.default_slack_channel_id)]
    channels += [("SLACK_APP_CONFIGURATION", r.target) for r in settings.slack_app_configuration]
    channels += [("SEVERITY_ROUTING", r.slack_channel_id) for r in settings.severity_routing]
    for name, channel in channels:
        if channel and _has_space(channel):  # Slack would answer channel_not_found to every alert
            raise ConfigError(name, f"{channel!r} is not a Slack channel id (it contains whitespace)")
    for route in settings.severity_routing:
        if route.slack_channel_id and not settings.uses_slack_app:
            raise ConfigError("SEVERITY_ROUTING", "slack_channel_id needs SLACK_BOT_TOKEN (the Slack app)")
        arn = route.sns_topic_arn
        if arn is not None and not _is_topic_arn(arn):
            raise ConfigError("SEVERITY_ROUTING", f"{arn!r} is not an SNS topic ARN")
    _validate_triage(settings)
    if not (settings.uses_slack_app or settings.hook_url or settings.uses_sns):
        raise ConfigError(
            "SLACK_BOT_TOKEN",
            "no destination configured: set SLACK_BOT_TOKEN (Slack app), HOOK_URL (webhook) "
            "or DEFAULT_SNS_TOPIC_ARN / SNS_CONFIGURATION (SNS)",
        )


def _validate_triage(settings: Settings) -> None:
    if settings.triage_allowed_users and not settings.triage_enabled:
        raise ConfigError("TRIAGE_ALLOWED_USERS", "has no effect without SLACK_SIGNING_SECRET_SECRET")
    if not settings.triage_enabled:
        return
    needs = [
        ("SLACK_BOT_TOKEN", settings.uses_slack_app, "the buttons are on Slack app messages"),
        ("DYNAMODB_TABLE_NAME", settings.dynamodb_table_name, "snoozes and mutes are kept in the table"),
        ("TRIAGE_SIGNING_KEY", settings.triage_signing_key, "it signs the buttons' values"),
    ]
    for name, value, why in needs:
        if not value:
            raise ConfigError(name, f"must be set when SLACK_SIGNING_SECRET(_SECRET) is set: {why}")
    if len(settings.triage_signing_key or "") < 32:
        raise ConfigError("TRIAGE_SIGNING_KEY", "must be at least 32 characters (a random key)")


def _has_space(value: str) -> bool:
    return any(char.isspace() or not char.isprintable() for char in value)


def _is_topic_arn(arn: str) -> bool:
    """Shape only; whitespace (a trailing newline from a heredoc) would fail every publish."""
    return arn.startswith("arn:") and arn.count(":") >= 5 and not _has_space(arn)


def _with_secrets(
    env: Mapping[str, str],
    resolve_secret: Callable[[str, str], str] | None,
    *,
    only: frozenset[str] | None = None,
    skip: frozenset[str] = frozenset(),
) -> Mapping[str, str]:
    """Replace each `X_SECRET` reference by its value under `X`; setting both is an error.

    `only` / `skip` name the secrets (by X) this reader needs: the others' references are checked
    for shape but not read, so a role is granted exactly the secrets its function reads."""
    resolved: dict[str, str] = {}
    for direct, reference_name in SECRET_REFERENCES.items():
        reference = (env.get(reference_name) or "").strip()
        if not reference:
            continue
        if env.get(direct):
            raise ConfigError(reference_name, f"set either {direct} or {reference_name}, not both")
        if not (reference.startswith("arn:") or reference.startswith("/") or "/" not in reference):
            raise ConfigError(reference_name, "must be an SSM parameter name or a Secrets Manager ARN")
        if direct in skip or (only is not None and direct not in only):
            continue
        if resolve_secret is None:
            from processor.deliver.secrets import SecretResolver

            resolve_secret = SecretResolver()
        resolved[direct] = resolve_secret(reference_name, reference)
    return {**env, **resolved} if resolved else env


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, f"{raw!r} is not a boolean (use true or false)")


def decode_setting(environ: Mapping[str, str] | None = None) -> str:
    """TRAILALERT_DECODE, validated: "auto" (the default) or "full"."""
    return _choice(os.environ if environ is None else environ, "TRAILALERT_DECODE", DECODE_MODES)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (case and surrounding blanks ignored); unset or empty is the first."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return choices[0]
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(name, f"{raw!r} is not one of {', '.join(choices)}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a whole number of seconds") from None
    if value <= 0:
        raise ConfigError(name, "must be greater than zero")
    return value


def _slack_api_url(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_SLACK_API_URL
    if not raw.startswith(("https://", "http://")):
        raise ConfigError("SLACK_API_URL", f"{raw!r} is not an http(s) URL")
    return raw if raw.endswith("/") else raw + "/"


def _json_objects(env: Mapping[str, str], name: str, shape: str) -> list[dict[str, Any]]:
    """A setting holding a JSON list of objects (unset, empty or "null" is an empty list)."""
    raw = env.get(name)
    if raw is None or raw.strip() in ("", "null"):
        return []
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(name, f"is not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise ConfigError(name, f"must be a JSON list of {shape}")
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConfigError(name, f"item {position} is not an object")
    return items


def _routes(env: Mapping[str, str], name: str, target_key: str) -> tuple[AccountRoute, ...]:
    """Parse the reference's `[{"accounts": [...], "<target_key>": "..."}]` JSON lists."""
    routes = []
    shape = f'{{"accounts": [...], "{target_key}": "..."}}'
    for position, item in enumerate(_json_objects(env, name, shape)):
        accounts, target = item.get("accounts"), item.get(target_key)
        if not isinstance(accounts, list) or not all(isinstance(a, str | int) for a in accounts):
            raise ConfigError(name, f'item {position}: "accounts" must be a list of account ids')
        if not isinstance(target, str) or not target:
            raise ConfigError(name, f'item {position}: "{target_key}" must be a non-empty string')
        routes.append(AccountRoute(frozenset(str(a) for a in accounts), target))
    return tuple(routes)


def _severity_routes(env: Mapping[str, str]) -> tuple[SeverityRoute, ...]:
    """Parse `[{"min_severity": "critical", "slack_channel_id": "C…", "sns_topic_arn": "arn:…"}]`."""
    from processor.models import SEVERITIES

    name = "SEVERITY_ROUTING"
    routes = []
    shape = '{"min_severity": ..., "slack_channel_id": ...}'
    for position, item in enumerate(_json_objects(env, name, shape)):
        unknown = set(item) - {"min_severity", "slack_channel_id", "sns_topic_arn"}
        if unknown:
            raise ConfigError(name, f"item {position}: unknown keys {sorted(unknown)}")
        severity = item.get("min_severity")
        if severity not in SEVERITIES:
            raise ConfigError(name, f'item {position}: "min_severity" must be one of {list(SEVERITIES)}')
        targets = {key: item.get(key) for key in ("slack_channel_id", "sns_topic_arn")}
        for key, value in targets.items():
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(name, f'item {position}: "{key}" must be a non-empty string')
        if not any(targets.values()):
            raise ConfigError(name, f'item {position}: give "slack_channel_id" and/or "sns_topic_arn"')
        routes.append(SeverityRoute(severity, **targets))
    return tuple(routes)


def allowed_users(env: Mapping[str, str]) -> frozenset[str]:
    """TRIAGE_ALLOWED_USERS: Slack user ids (U…, W…) separated by commas or spaces."""
    raw = env.get("TRIAGE_ALLOWED_USERS") or ""
    users = frozenset(part for part in re.split(r"[\s,]+", raw.strip()) if part)
    for user in sorted(users):
        if not _SLACK_USER_ID.fullmatch(user):
            raise ConfigError(
                "TRIAGE_ALLOWED_USERS",
                f"{user!r} is not a Slack user id (U… or W…: a member's profile, ⋮, Copy member ID)",
            )
    return users


def _account_names(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """ACCOUNT_NAMES: a JSON object {"111122223333": "prod", ...}."""
    raw = env.get("ACCOUNT_NAMES")
    if raw is None or raw.strip() in ("", "null"):
        return ()
    try:
        names = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConfigError("ACCOUNT_NAMES", f"is not valid JSON: {exc}") from None
    if not isinstance(names, dict):
        raise ConfigError("ACCOUNT_NAMES", 'must be a JSON object {"111122223333": "prod", ...}')
    pairs = []
    for account, name in names.items():
        if not _ACCOUNT_ID.fullmatch(account):
            raise ConfigError("ACCOUNT_NAMES", f"{account!r} is not a 12-digit account id")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("ACCOUNT_NAMES", f"the name of {account} must be a non-empty string")
        pairs.append((account, name.strip()))
    return tuple(sorted(pairs))


@dataclass(frozen=True)
class InteractionSettings:
    """What processor.interactions.handler needs: it reads INTERACTIONS_VARIABLES and nothing else."""

    slack_bot_token: str = field(repr=False)
    slack_signing_secret: str = field(repr=False)
    triage_signing_key: str = field(repr=False)
    dynamodb_table_name: str
    triage_allowed_users: frozenset[str] = frozenset()
    slack_api_url: str = DEFAULT_SLACK_API_URL
    log_level: str = "INFO"


def load_interaction_settings(
    environ: Mapping[str, str] | None = None, *, resolve_secret: Callable[[str, str], str] | None = None
) -> InteractionSettings:
    """The interactions function's settings, read once per container; every problem names the setting."""
    needed = frozenset({"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "TRIAGE_SIGNING_KEY"})
    raw = os.environ if environ is None else environ
    env = _with_secrets({k: raw[k] for k in INTERACTIONS_VARIABLES if k in raw}, resolve_secret, only=needed)
    values: dict[str, str] = {}
    for name in (*sorted(needed), "DYNAMODB_TABLE_NAME"):
        value = (env.get(name) or "").strip()
        if not value:
            hint = f" (or {SECRET_REFERENCES[name]})" if name in SECRET_REFERENCES else ""
            raise ConfigError(name, f"must be set{hint}: the interactions function needs it")
        values[name] = value
    if len(values["TRIAGE_SIGNING_KEY"]) < 32:
        raise ConfigError("TRIAGE_SIGNING_KEY", "must be at least 32 characters (a random key)")
    if _has_space(values["SLACK_BOT_TOKEN"]):  # never quoted: it is a secret
        raise ConfigError(
            "SLACK_BOT_TOKEN", "contains whitespace or a control character (a copy-paste error?)"
        )
    log_level = (env.get("LOG_LEVEL") or "INFO").strip().upper()
    if log_level not in _LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"{log_level!r} is not one of {sorted(_LOG_LEVELS)}")
    return InteractionSettings(
        slack_bot_token=values["SLACK_BOT_TOKEN"],
        slack_signing_secret=values["SLACK_SIGNING_SECRET"],
        triage_signing_key=values["TRIAGE_SIGNING_KEY"],
        dynamodb_table_name=values["DYNAMODB_TABLE_NAME"],
        triage_allowed_users=allowed_users(env),
        slack_api_url=_slack_api_url((env.get("SLACK_API_URL") or "").strip() or None),
        log_level=log_level,
    )
