"""The one error of rule files: it names the setting, the file and the line to fix."""

from __future__ import annotations

from processor.errors import ConfigError


class RuleFileError(ConfigError):
    """Raised (or collected) when a rule file cannot be read, parsed, or fails the rule schema.

    `line` is 1-based; 0 when the problem is the file as a whole (unreadable, empty).
    """

    def __init__(self, setting: str, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line else path
        super().__init__(setting, f"{where}: {message}")
