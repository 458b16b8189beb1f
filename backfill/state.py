"""`--state FILE`: which objects are finished and which alerts were sent, so a rerun resumes.

Append-only JSON lines, flushed after each line: a crash loses at most the line being written.
An object is written as finished only after all of its alerts were printed or delivered.
Deliveries are recorded one by one so that resuming inside an object that was cut short sends
only what it had not sent yet.

A line cut short by a crash (no newline at the end of the file) is ended before anything is
appended, so the next line stands on its own instead of being glued to it and lost; unparsable
lines are skipped and counted. The first line records the configuration the file was made with
(`run_configuration`): finished objects only mean something for the same rules, filters and mode,
so a file made with another configuration is refused unless the user says to use it anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from backfill.errors import BadConfiguration
from backfill.window import TimeWindow
from processor.rules.ruleset import RuleSet

FORCE_FLAG = "--force-state"


def run_configuration(
    rules: RuleSet, window: TimeWindow, accounts: frozenset[str], regions: frozenset[str], *, send: bool
) -> dict[str, Any]:
    """What a state file's finished objects depend on: the rules (as a hash of every rule's id,
    expression, severity, destinations and threshold), the filters, and whether alerts are sent."""
    refs = repr(tuple(rule.ref for rule in (*rules.ignore_rules, *rules.rules)))
    return {
        "rules": hashlib.sha256(refs.encode()).hexdigest(),
        "start": window.start.isoformat() if window.start else None,
        "end": window.end.isoformat() if window.end else None,
        "accounts": sorted(accounts),
        "regions": sorted(regions),
        "send": send,
    }


class StateFile:
    """Reads the file; `open_for_run` then checks its configuration and appends to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._finished: set[str] = set()
        self._delivered: dict[str, set[str]] = {}
        self.configuration: dict[str, Any] | None = None  # the last one recorded
        self.unparsable: list[int] = []  # line numbers skipped
        self._entries = 0
        self._torn = False
        self._handle: IO[bytes] | None = None
        if path.exists():
            self._load(path)

    @classmethod
    def open_for_run(cls, path: Path, configuration: Mapping[str, Any], *, force: bool) -> StateFile:
        """Raises BadConfiguration (naming --state) if the file cannot be written, or was made with
        another configuration and `force` is not set."""
        try:
            state = cls(path)
        except OSError as exc:
            raise BadConfiguration(f"--state {path}: cannot be read: {exc.strerror or exc}") from None
        if not force:
            state._check(configuration)
        try:
            state._open()
        except OSError as exc:
            raise BadConfiguration(f"--state {path}: cannot be written: {exc.strerror or exc}") from None
        if state.configuration != configuration:
            state.configuration = dict(configuration)
            state._append({"configuration": state.configuration})
        return state

    def _load(self, path: Path) -> None:
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                self._torn = not line.endswith(b"\n")  # only the last line can be without one
                if line.strip():
                    self._read_line(number, line)

    def _read_line(self, number: int, line: bytes) -> None:
        try:
            entry: Any = orjson.loads(line)
        except orjson.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict):
            self.unparsable.append(number)  # cut by a crash: what it said is simply not known
            return
        self._read(entry)

    def _read(self, entry: dict[str, Any]) -> None:
        if isinstance(entry.get("configuration"), dict):
            self.configuration = entry["configuration"]
            return
        self._entries += 1
        if isinstance(entry.get("finished"), str):
            self._finished.add(entry["finished"])
            self._delivered.pop(entry["finished"], None)
        elif (
            isinstance(entry.get("delivered"), str)
            and isinstance(entry.get("object"), str)
            and entry["object"] not in self._finished
        ):
            self._delivered.setdefault(entry["object"], set()).add(entry["delivered"])

    def _check(self, configuration: Mapping[str, Any]) -> None:
        if self.configuration is None:
            if self._entries:
                raise BadConfiguration(
                    f"--state {self.path}: the file does not say which rules and filters it was made "
                    f"with (an older trailalert wrote it); pass {FORCE_FLAG} to use it anyway"
                )
            return
        differences = [
            _difference(name, self.configuration.get(name), value)
            for name, value in configuration.items()
            if self.configuration.get(name) != value
        ]
        if differences:
            raise BadConfiguration(
                f"--state {self.path} was made with another configuration ({'; '.join(differences)}): "
                f"the objects it lists as finished were not read with these settings. Use another "
                f"state file, or pass {FORCE_FLAG} to skip them anyway"
            )

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

    def _open(self) -> None:
        if not self.path.parent.exists():
            self.path.parent.mkdir(parents=True)
        self._handle = open(self.path, "ab")  # noqa: SIM115 - kept open for the run, closed by close()
        if self._torn:  # end the line a crash cut short, so the next one is not glued to it
            self._handle.write(b"\n")
            self._handle.flush()
            self._torn = False

    def _append(self, entry: dict[str, Any]) -> None:
        if self._handle is None:
            self._open()
        assert self._handle is not None
        self._handle.write(orjson.dumps(entry) + b"\n")
        self._handle.flush()


def _difference(name: str, recorded: Any, now: Any) -> str:
    if name == "rules":
        return "other rules"
    if name == "send":
        return "with --send" if recorded else "as a dry run (without --send)"
    label = {"start": "--start", "end": "--end", "accounts": "--account", "regions": "--region"}.get(
        name, name
    )
    return f"{label} {_shown(recorded)} (now {_shown(now)})"


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "not set"
    return ", ".join(value) if isinstance(value, list) else str(value)
