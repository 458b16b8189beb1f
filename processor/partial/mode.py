"""Which decode mode a rule configuration runs in, and why: what `trailalert rules check` prints.

Two-phase decoding is exact for every configuration the rule language accepts, so it is the
default; the full decode remains for what the partial view cannot represent (a key with an empty
segment, such as "a..b"), when msgspec is not installed, and when TRAILALERT_DECODE=full asks
for it (to compare, or to rule the optimisation out while diagnosing).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from processor.decode.kinesis import KinesisBatch, decode_kinesis_event
from processor.rules.ruleset import RuleSet

if TYPE_CHECKING:
    from processor.partial.phases import Phases

__all__ = ["DecodeMode", "decode_mode", "kinesis_decoder", "DECODE_SETTING"]

DECODE_SETTING: Final = "TRAILALERT_DECODE"


@dataclass(frozen=True)
class DecodeMode:
    """`phases` is None for the full decode; `reason` says why this mode, in one line."""

    phases: Phases | None
    reason: str

    @property
    def name(self) -> str:
        return "full" if self.phases is None else "two-phase"

    def describe(self) -> str:
        return f"decode mode: {self.name} ({self.reason})"


def decode_mode(rules: RuleSet, environ: Mapping[str, str] | None = None) -> DecodeMode:
    """Two-phase when it can be exact for `rules`, else the full decode with the reason."""
    environ = os.environ if environ is None else environ
    wanted = environ.get(DECODE_SETTING, "auto").strip().lower() or "auto"
    if wanted == "full":
        return DecodeMode(None, f"{DECODE_SETTING}=full")
    try:
        from processor.partial.phases import Phases  # imports msgspec
        from processor.partial.schema import UnsupportedKey
    except ImportError as exc:
        return DecodeMode(None, f"msgspec is not installed ({exc.name})")
    try:
        phases = Phases(rules)
    except UnsupportedKey as exc:
        return DecodeMode(None, f"the partial view cannot be exact: {exc}")
    return DecodeMode(
        phases,
        f"every record decodes {len(phases.first)} fields for matching, "
        f"{len(phases.all)} at most; only records that alert are decoded in full",
    )


def kinesis_decoder(mode: DecodeMode | None) -> Callable[[Mapping[str, Any]], KinesisBatch]:
    """`decode_kinesis_event` for this mode: two-phase payloads when it is on."""
    phases = mode.phases if mode is not None else None
    if phases is None:
        return decode_kinesis_event
    import functools

    from processor.partial.kinesis import b64decode, b64decode_all, payload_batch
    from processor.partial.skip import Skipper

    fast = functools.partial(payload_batch, phases, Skipper(phases, None))
    return functools.partial(
        decode_kinesis_event, fast=fast, b64decode=b64decode, b64decode_all=b64decode_all
    )
