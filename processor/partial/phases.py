"""The two phases for one rule set: which fields phase 1 decodes, and the decoders that do it.

Phase 1 decodes, for every record (`first`), the fields the guards test, every key the rules
read except those through a list index, and what the pipeline itself reads (eventName/eventSource and the Insights fields
that make a record a CloudTrail record, eventID for rule failures, eventTime and group_by keys
for thresholds, errorCode for the Lambda's metric). The guards then name the few rules that may
match; when those read more (`requestParameters.instancesSet.items.0.maxCount` after
`eventName == "RunInstances"`), the record is decoded again with a schema for those keys, still
partially. Only records that alert are decoded in full, by the caller, with orjson. (Measured:
decoding arrays of structs costs every record more than a second decode costs the few that need
it; decoding only the guards' fields made a second decode of nearly half the records.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import msgspec

from processor.partial.schema import envelope_keys, object_type, record_type, whole
from processor.rules.lookup import through_list
from processor.rules.ruleset import RuleSet

__all__ = ["PIPELINE_KEYS", "Phases"]

PIPELINE_KEYS: Final = frozenset(
    {"eventName", "eventSource", "eventType", "insightDetails", whole("eventID"), "eventTime", "errorCode"}
)
_SECOND_LIMIT: Final[int] = 256  # distinct key sets of a second decode; each is one Decoder


class Phases:
    """Decoders of partial views for one RuleSet; `to_view` turns what they return into a dict."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        extra = set(PIPELINE_KEYS)
        for rule in rules.rules:
            extra.update(rule.ref.group_by)
        self.extra = frozenset(extra)
        # Phase 1 decodes every key but those through a list index: an array of structs costs
        # every record far more than a second decode costs the few records that need one.
        # The guards' fields and the unguarded rules' keys are always in: `plan` reads them.
        cheap = frozenset(key for key in rules.keys if not through_list(key))
        self.first = rules.first_keys() | cheap | self.extra
        self.all = rules.keys | self.extra
        record_type(self.all)  # raises UnsupportedKey now rather than on some record later
        payload = object_type(envelope_keys(self.first))  # a payload taken here starts with "{"
        self.payload = msgspec.json.Decoder(payload)
        self.run = msgspec.json.Decoder(list[record_type(self.first)])  # type: ignore[misc]
        self._record: msgspec.json.Decoder[Any] | None = None
        self.raw_run = msgspec.json.Decoder(list[msgspec.Raw])
        self._second_payload: dict[frozenset[str], msgspec.json.Decoder[Any]] = {}
        self._second_record: dict[frozenset[str], msgspec.json.Decoder[Any]] = {}
        self.to_view = msgspec.to_builtins

    @property
    def record(self) -> msgspec.json.Decoder[Any]:
        """Phase 1's decoder for one log-file element (built on first use: few records need it)."""
        if self._record is None:
            self._record = msgspec.json.Decoder(record_type(self.first))
        return self._record

    def second_payload(self, keys: Iterable[str]) -> msgspec.json.Decoder[Any]:
        """A payload decoder (envelope or bare record) for `keys` on top of phase 1's fields."""
        return self._second(self._second_payload, keys, envelope=True)

    def second_record(self, keys: Iterable[str]) -> msgspec.json.Decoder[Any]:
        """A record decoder (a log file's element) for `keys` on top of phase 1's fields."""
        return self._second(self._second_record, keys, envelope=False)

    def _second(
        self, cache: dict[frozenset[str], msgspec.json.Decoder[Any]], keys: Iterable[str], *, envelope: bool
    ) -> msgspec.json.Decoder[Any]:
        wanted = frozenset(keys) | self.first
        found = cache.get(wanted)
        if found is None:
            schema = object_type(envelope_keys(wanted)) if envelope else record_type(wanted)
            found = msgspec.json.Decoder(schema)
            if len(cache) >= _SECOND_LIMIT:
                cache.clear()
            cache[wanted] = found
        return found
