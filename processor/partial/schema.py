"""msgspec types that decode a CloudTrail record into the fields a set of flat keys can read.

A rule reads flat keys ("userIdentity.type", "resources.0.ARN") with flatten's meaning (see
rules/lookup.py): dict keys joined with ".", list items named by canonical indices, and only
scalar leaves exist. The partial view built here must resolve every such key exactly as the
full record does. For each key the schema keeps every member on every path a lookup may walk:

* at an object, each member named by a leading run of the key's segments ("a", and also the
  spelling "a.b" that flatten would join the same way), with the rest of the key below it;
* at an array, every element (positions matter), typed by what a canonical index leads to;
* scalars exactly as orjson returns them; any other value only as an empty container of the
  same kind, so a key naming it is still absent.

Two things a partial view could get wrong are refused instead, which makes msgspec raise and
the caller fall back to the full decode for that input: a member spelled with a dot that a key
could resolve through (when two spellings of one key both exist, flatten lets the later one in
the document win, and a msgspec Struct does not keep document order), and integers outside
64 bits (orjson turns them into floats; msgspec would keep them exact).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Annotated, Any, Final, Union

import msgspec

from processor.rules.lookup import is_canonical_index

__all__ = [
    "whole",
    "located",
    "attribute_name",
    "object_type",
    "record_type",
    "envelope_keys",
    "envelope_type",
    "UnsupportedKey",
]

# orjson keeps i64 and u64 integers as int and turns wider ones into floats; msgspec keeps them
# exact, and its bounds stop at i64, so anything outside i64 makes the decode fall back.
_INT = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# No value satisfies both bounds: a member of this type makes the whole decode fail.
_REFUSE = Annotated[str, msgspec.Meta(min_length=2, max_length=1)]
_SCALARS: Final = (_INT, float, str, bool, type(None))
_EMPTY = msgspec.defstruct("Empty", [], gc=False)
# Positions of an array that no key indexes: kept so positions and lengths stay right.
_ANY_ELEMENT: Any = Union[_EMPTY, list[Any], *_SCALARS]  # noqa: UP007 - built at run time


# A value kept whole (eventID): a scalar exactly as in a leaf (an integer outside 64 bits, which
# orjson makes a float, fails the decode) or an empty container; a non-empty container (never seen
# in an eventID) fails the decode too, so that input takes the full decode. (msgspec cannot bound
# the integers nested in an Any, and a deep union of bounded containers costs every Decoder.)
_WHOLE_VALUE: Any = Union[_INT, float, str, bool, None, list[_REFUSE], dict[str, _REFUSE]]  # noqa: UP007

# A last segment that no JSON key can name here: "eventID.<WHOLE>" keeps eventID's value whole,
# containers included (rule failures name the record by `event.get("eventID")`, as it is).
_WHOLE: Final = "*whole*"


def whole(key: str) -> str:
    """The key under which `key`'s value is kept whole, however deep, rather than as a leaf."""
    return f"{key}.{_WHOLE}"


# A last segment that no JSON key can name here: "eventVersion.<LOCATED>" decodes the value as a
# msgspec.Raw, a view into the input that tells where the record is (see logruns.Run), not what
# it holds. Only for a member no other key reads.
_LOCATED: Final = "*located*"


def located(key: str) -> str:
    """The key under which `key`'s value is decoded as a msgspec.Raw (its place in the input)."""
    return f"{key}.{_LOCATED}"


class UnsupportedKey(ValueError):
    """A key the partial view cannot represent exactly (the configuration falls back)."""


def record_type(keys: Iterable[str]) -> Any:
    """The msgspec type of a record (an object holding every field `keys` can read)."""
    keys = frozenset(keys)
    for key in keys:
        if not key or "" in key.split("."):
            raise UnsupportedKey(f"key {key!r} has an empty segment")
        if any(char in '"\\' or char < " " for char in key):
            raise UnsupportedKey(f"key {key!r} holds a quote, a backslash or a control character")
    return _Builder().node(keys)


def object_type(keys: Iterable[str]) -> Any:
    """The Struct of a record that is a JSON object (what `record_type` allows besides scalars)."""
    return record_type(keys).__args__[0]


def attribute_name(name: str) -> str:
    """The attribute that holds the JSON member `name`, the same in every schema built here."""
    return "m_" + name.encode().hex()


def envelope_type(keys: Iterable[str]) -> Any:
    """The Struct of an EventBridge envelope whose detail is a record holding `keys`.

    Only `detail-type` and `detail` are members: the rules read the record, never the envelope,
    so no spelling of the envelope's own members needs refusing (see `envelope_keys` for a
    payload that may be either shape). Each member unknown to a Struct costs a scan of its
    members, so an envelope read this way skips its other members at a fraction of the cost.
    """
    leaf = _Builder().node(frozenset({""}))  # a scalar, or an empty container: as in a leaf
    return msgspec.defstruct(
        "Envelope",
        [
            (attribute_name("detail-type"), leaf, msgspec.field(default=msgspec.UNSET, name="detail-type")),
            (
                attribute_name("detail"),
                record_type(keys),
                msgspec.field(default=msgspec.UNSET, name="detail"),
            ),
        ],
        gc=False,
    )


def envelope_keys(keys: Iterable[str]) -> frozenset[str]:
    """Keys of a payload that is an EventBridge envelope or a bare record: both shapes at once."""
    keys = frozenset(keys)
    return keys | {"detail-type", "detail"} | {f"detail.{key}" for key in keys}


# Members in the order CloudTrail writes them (an envelope's and userIdentity's too). msgspec finds
# a key among a Struct's members by a scan that starts after the member found last, so members in
# document order are found at once; spellings with a dot go last, since none is ever found
# (measured: the bench corpus's skim with the user rules took 0.82x the time of alphabetical order).
_DOCUMENT_ORDER: Final = {
    name: rank
    for rank, name in enumerate(
        """
        version id detail-type source account time region detail
        eventVersion userIdentity type principalId arn accountId accessKeyId userName sessionContext
        invokedBy eventTime eventSource eventName awsRegion sourceIPAddress userAgent errorCode
        errorMessage requestParameters responseElements additionalEventData requestID eventID
        readOnly resources eventType apiVersion managementEvent recipientAccountId sharedEventID
        vpcEndpointId eventCategory tlsDetails serviceEventDetails insightDetails
        """.split()  # noqa: SIM905 - one line per group reads better than 43 lines
    )
}


def _member_order(name: str) -> tuple[bool, int, str]:
    return "." in name, _DOCUMENT_ORDER.get(name, len(_DOCUMENT_ORDER)), name


class _Builder:
    """Builds one Struct per distinct set of remaining keys (memoised: shared subtrees share types)."""

    def __init__(self) -> None:
        self._memo: dict[frozenset[str], Any] = {}
        self._names = itertools.count()

    def node(self, rests: frozenset[str]) -> Any:
        """Any JSON value at a point where the keys `rests` continue ("" marks a leaf here)."""
        found = self._memo.get(rests)
        if found is None:
            found = self._memo[rests] = self._build(rests)
        return found

    def _build(self, rests: frozenset[str]) -> Any:
        if _WHOLE in rests:
            return _WHOLE_VALUE
        if _LOCATED in rests:
            if len(rests) > 1:
                raise UnsupportedKey(f"a located member is read by other keys too: {sorted(rests)}")
            return msgspec.Raw
        members: dict[str, set[str]] = {}
        indexed: set[str] = set()
        for rest in rests:
            if not rest:
                continue
            segments = rest.split(".")
            for cut in range(1, len(segments) + (segments[-1] not in (_WHOLE, _LOCATED))):
                members.setdefault(".".join(segments[:cut]), set()).add(".".join(segments[cut:]))
            if is_canonical_index(segments[0]):
                indexed.add(".".join(segments[1:]))
        fields = []
        for name in sorted(members, key=_member_order):
            kind = _REFUSE if "." in name else self.node(frozenset(members[name]))
            fields.append((attribute_name(name), kind, msgspec.field(default=msgspec.UNSET, name=name)))
        struct = msgspec.defstruct(f"Node{next(self._names)}", fields, gc=False) if fields else _EMPTY
        element = self.node(frozenset(indexed)) if indexed else _ANY_ELEMENT
        return Union[struct, list[element], *_SCALARS]  # noqa: UP007 - built at run time
