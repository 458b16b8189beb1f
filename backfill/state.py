"""`--state FILE`: which objects are finished and which alerts were sent, so a rerun resumes.

Append-only JSON lines, flushed after each line: a crash loses at most the line being written,
and a torn last line is ignored on load. An object is written as finished only after all of its
alerts were printed or delivered. Deliveries are recorded one by one so that resuming inside an
object that was cut short sends only what it had not sent yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson


class StateFile:
    """Loaded once at start; every record call appends and flushes one line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._finished: set[str] = set()
        self._delivered: dict[str, set[str]] = {}
        if path.exists():
            self._load(path)
        self._handle: IO[bytes] | None = None

    def _load(self, path: Path) -> None:
        with open(path, "rb") as handle:
            for line in handle:
                try:
                    entry: Any = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue  # a line torn by a crash: that object simply is not finished
                if not isinstance(entry, dict):
                    continue
                if isinstance(entry.get("finished"), str):
                    self._finished.add(entry["finished"])
                    self._delivered.pop(entry["finished"], None)
                elif (
                    isinstance(entry.get("delivered"), str)
                    and isinstance(entry.get("object"), str)
                    and entry["object"] not in self._finished
                ):
                    self._delivered.setdefault(entry["object"], set()).add(entry["delivered"])

    @property
    def finished_count(self) -> int:
        return len(self._finished)

    def is_finished(self, url: str) -> bool:
        return url in self._finished

    def delivered(self, url: str) -> frozenset[str]:
        """Delivery keys already sent for an object that was not finished."""
        return frozenset(self._delivered.get(url, ()))

    def record_delivered(self, url: str, key: str) -> None:
        self._delivered.setdefault(url, set()).add(key)
        self._append({"delivered": key, "object": url})

    def mark_finished(self, url: str, events: int, alerts: int) -> None:
        self._finished.add(url)
        self._delivered.pop(url, None)
        at = datetime.now(UTC).isoformat(timespec="seconds")
        self._append({"finished": url, "events": events, "alerts": alerts, "at": at})

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _append(self, entry: dict[str, Any]) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "ab")  # noqa: SIM115 - kept open for the run, closed by close()
        self._handle.write(orjson.dumps(entry) + b"\n")
        self._handle.flush()
