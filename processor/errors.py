"""Exceptions of trailalert: one root, one class per failure."""

from __future__ import annotations


class TrailalertError(Exception):
    """Root of every error trailalert raises on purpose."""


class ConfigError(TrailalertError):
    """Raised at start when a setting is missing or invalid; the message names the setting."""

    def __init__(self, setting: str, reason: str) -> None:
        self.setting = setting
        self.reason = reason
        super().__init__(f"{setting}: {reason}")


class RuleError(ConfigError):
    """Raised when a rule cannot be compiled: bad syntax, or outside the safe subset."""

    def __init__(self, setting: str, rule: str, reason: str) -> None:
        self.rule = rule
        super().__init__(setting, f"rule {rule!r} rejected: {reason}")
        self.reason = reason


class DecodeError(TrailalertError):
    """Raised when an input item cannot be turned into CloudTrail records; the message says why."""
