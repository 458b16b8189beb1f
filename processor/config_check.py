"""The whole configuration of the Lambda, checked as its cold start checks it, every problem listed.

`load_settings` stops at the first bad setting (the Lambda has nothing to do but fail), and the rules
are built only from good settings; here the rules are checked even when a destination setting is bad,
so one run names every problem it can. Used by `trailalert config check` and by `make deploy`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from processor.errors import ConfigError
from processor.rules.ruleset import RuleSet, check_rules
from processor.settings import Settings, load_settings, rule_options

__all__ = ["SECRET_PLACEHOLDERS", "ConfigurationCheck", "check_configuration", "placeholder_secret"]

# What a *_SECRET reference stands for when it is not read: shaped like the real value, so every
# check that does not need the value itself still runs (the value is checked when it is read).
SECRET_PLACEHOLDERS = {
    "SLACK_BOT_TOKEN": "xoxb-read-at-cold-start",
    "HOOK_URL": "https://hooks.slack.com/services/read-at-cold-start",
    "CONFIGURATION": "[]",
    "SLACK_SIGNING_SECRET": "read-at-cold-start",
    "TRIAGE_SIGNING_KEY": "read-at-cold-start-a-random-key-of-64-characters",
}


def placeholder_secret(setting: str, reference: str) -> str:
    """A resolver for load_settings that reads nothing: the placeholder of the secret referenced."""
    return SECRET_PLACEHOLDERS[setting.removesuffix("_SECRET")]


@dataclass
class ConfigurationCheck:
    """The settings and rules when they are good, and every problem found."""

    settings: Settings | None = None
    rules: RuleSet | None = None
    problems: list[ConfigError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_configuration(
    environ: Mapping[str, str],
    *,
    resolve_secret: Callable[[str, str], str] = placeholder_secret,
    read_s3_rules: bool = True,
) -> ConfigurationCheck:
    """Settings (destinations included), every rule, rule files and the pack, as the Lambda sees them.

    `read_s3_rules=False` leaves an s3:// RULES_FILE unread (make deploy reads it only once the other
    settings pass)."""
    check = ConfigurationCheck()
    try:
        check.settings = load_settings(environ, resolve_secret=resolve_secret)
    except ConfigError as error:
        check.problems.append(error)
    try:
        options = rule_options(environ)
    except ConfigError as error:
        check.problems.append(error)
        return check
    if not read_s3_rules and str(options["rules_file"] or "").startswith("s3://"):
        options["rules_file"] = None
    report = check_rules(**options)
    check.problems.extend(report.problems)
    if check.settings is not None and report.ok:
        from processor.app import build_rules  # what the Lambda builds at cold start

        try:
            check.rules = build_rules(check.settings)
        except ConfigError as error:
            check.problems.append(error)
    return check
