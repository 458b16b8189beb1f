"""JSON log lines, so CloudWatch Logs Insights can filter on any field.

Log lines quote event values (a decode failure's reason, a rule's error), which an attacker
controls: every string is cut to LOG_VALUE_LIMIT characters and every structure to a few times that,
so a record of a kilobyte (gzip makes megabytes of it) cannot make a log line of a megabyte.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

LOG_VALUE_LIMIT = 2000  # characters of one string: enough to diagnose, bounded whatever the input
_STRUCTURE_LIMIT = 8 * LOG_VALUE_LIMIT  # a dict or list (counts per rule), measured as JSON
_TRACEBACK_LIMIT = 8 * LOG_VALUE_LIMIT
_MARKER = "… (truncated, {n} more characters)"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: level, time, logger, message and every `extra=` field, bounded."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "level": record.levelname,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "logger": record.name,
            "message": _clip(record.getMessage(), LOG_VALUE_LIMIT),
        }
        entry.update({k: bounded(v) for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = _clip(self.formatException(record.exc_info), _TRACEBACK_LIMIT)
        return orjson.dumps(entry, default=str).decode()


def bounded(value: Any) -> Any:
    """`value` as it may appear in a log line: itself when small, else cut (structures become text)."""
    if isinstance(value, str):
        return _clip(value, LOG_VALUE_LIMIT)
    if value is None or isinstance(value, bool | int | float):
        return value
    try:
        text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # e.g. an int beyond 64 bits
        text = repr(value)
    if len(text) <= _STRUCTURE_LIMIT and isinstance(value, dict | list | tuple):
        return value
    return _clip(text, _STRUCTURE_LIMIT)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + _MARKER.format(n=len(text) - limit)


def configure_logging(level: str) -> None:
    """Route trailalert's loggers to stdout as JSON at `level`; leave other libraries at WARNING."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("trailalert")
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False
