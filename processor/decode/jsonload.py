"""JSON parsing with reasons precise enough to diagnose a producer from a log line."""

from __future__ import annotations

from typing import Any

import orjson

from processor.errors import DecodeError


def load_json(data: bytes | str) -> Any:
    """Parse `data` with orjson; on failure raise DecodeError saying what and where.

    orjson reports invalid UTF-8 as "str is not valid UTF-8: surrogates not allowed" and
    gives positions in characters, so the failure path works out the real cause and the
    byte offset. The success path is a bare `orjson.loads`.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(_describe(data, exc)) from None


def _describe(data: bytes | str, exc: orjson.JSONDecodeError) -> str:
    if isinstance(data, str):
        return f"not JSON: {exc.msg} at character {exc.pos}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8: {bad.reason} (byte 0x{data[bad.start]:02x} at byte {bad.start})"
    if not text.strip():
        return f"not JSON: empty document ({len(data)} bytes of whitespace)"
    return f"not JSON: {exc.msg} at byte {len(text[: exc.pos].encode())}"


def json_kind(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages such as "JSON array, expected ..."."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
