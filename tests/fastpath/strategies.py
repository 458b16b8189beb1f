"""Hypothesis strategies: CloudTrail-like records with the fields rules read in odd places, and
JSON text that spells the same record many ways (\\u escapes, `\\/`, whitespace) or damages it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.rules.helpers import all_fixtures

FIXTURES = list(all_fixtures().values())

# Strings rules compare with, so generated records do match rules, plus near misses.
LITERALS = [
    "Root",
    "root",
    "ConsoleLogin",
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "Client.UnauthorizedOperation",
    "ANONYMOUS_PRINCIPAL",
    "cloudtrail.amazonaws.com",
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "lambda.amazonaws.com",
    "UpdateFunctionCode20150331v2",
    "acme-trailalert",
    "Yes",
    "No",
    "IAMUser",
    "AWSService",
    "Decrypt",
    "AssumeRole",
    "AssumedRole",
    "GetObject",
    "PutObject",
    "CreateUser",
    "arn:aws:iam::111122223333:user/break-glass",
    "185.220.101.4",
    "us-east-1",
    "ap-south-1",
    "ThrottlingException",
    "legacy-backup",
    "0.0.0.0/0",
    "p4d.24xlarge",
    "dotted-leaf",
    "arm64",
    "AWS::S3::Object",
    "false",
    "null",
    "",
    "Get",
    "x.y",
    "a\u00e9\u2603",
    "::ffff:185.220.101.9",
    '{"Statement": [{"Principal": {"AWS": "*"}}]}',
    "%7B%22Statement%22%3A%5B%7B%22Principal%22%3A%7B%22AWS%22%3A%5B%22*%22%5D%7D%7D%5D%7D",
]
KEYS = [
    "eventName",
    "eventSource",
    "errorCode",
    "userIdentity",
    "type",
    "arn",
    "accountId",
    "userName",
    "invokedBy",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "MFAUsed",
    "functionName",
    "items",
    "0",
    "1",
    "01",
    "instancesSet",
    "maxCount",
    "items.0",
    "0.maxCount",
    "bucketName",
    "roleArn",
    "awsRegion",
    "readOnly",
    "sourceIPAddress",
    "resources",
    "ARN",
    "a",
    "b",
    "a.b",
    "userIdentity.type",
    "requestParameters.a",
    "eventID",
    "eventTime",
    "eventType",
    "insightDetails",
    "detail",
    "detail-type",
    "cidrIp",
]

scalars = st.one_of(
    st.sampled_from(LITERALS),
    st.text(max_size=8),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([0, 1, 21, 2**63, -(2**63) - 1, 2**70, 1e300]),
    st.floats(allow_nan=False, allow_infinity=False),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A fixture record with some fields replaced, removed or added, nested or dotted."""
    record = json.loads(json.dumps(draw(st.sampled_from(FIXTURES))))
    for _ in range(draw(st.integers(0, 6))):
        path = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3))
        action = draw(st.sampled_from(["set", "set", "delete", "dotted"]))
        if action == "dotted":
            record[".".join(path)] = draw(values)
            continue
        node: Any = record
        for segment in path[:-1]:
            child = node.get(segment) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                child = {}
                node[segment] = child
            node = child
        if action == "delete":
            node.pop(path[-1], None)
        else:
            node[path[-1]] = draw(values)
    return record


@st.composite
def json_text(draw: st.DrawFn, value: Any) -> bytes:
    """`value` as JSON text, each string character possibly written as \\uXXXX (or `\\/`)."""
    escape = draw(st.sampled_from([0.0, 0.05, 0.5]))
    seed = draw(st.integers(0, 2**32 - 1))
    space = draw(st.sampled_from(["", " ", "\n  "]))
    import random

    rng = random.Random(seed)

    def string(text: str) -> str:
        out = ['"']
        for char in text:
            if char == "/" and rng.random() < escape:
                out.append("\\/")
            elif rng.random() < escape or char in '"\\' or ord(char) < 0x20:
                out.append("".join(f"\\u{unit:04x}" for unit in _utf16(char)))
            else:
                out.append(char)
        out.append('"')
        return "".join(out)

    def encode(node: Any) -> str:
        if isinstance(node, dict):
            inner = f",{space}".join(f"{string(k)}:{space}{encode(v)}" for k, v in node.items())
            return "{" + space + inner + space + "}"
        if isinstance(node, list):
            return "[" + f",{space}".join(encode(v) for v in node) + "]"
        if isinstance(node, str):
            return string(node)
        return json.dumps(node)

    return encode(value).encode()


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


@st.composite
def damaged(draw: st.DrawFn, text: bytes) -> bytes:
    """`text`, mostly as is; else cut short, with a byte that is not UTF-8 in a string, nested
    deeper than msgspec reads (but not orjson), or not an object at all."""
    kind = draw(st.sampled_from(["as is"] * 8 + ["cut", "not utf-8", "deep", "scalar"]))
    if kind == "cut" and len(text) > 2:
        return text[: draw(st.integers(1, len(text) - 1))]
    if kind == "not utf-8" and b'":"' in text:
        at = text.index(b'":"') + 3
        return text[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])) + text[at:]
    if kind == "deep" and text.endswith(b"}"):
        depth = draw(st.sampled_from([900, 1100]))
        return text[:-1] + b',"deep":' + b"[" * depth + b"]" * depth + b"}"
    if kind == "scalar":
        return draw(st.sampled_from([b"5", b'"x"', b"null", b"[]", b"{}"]))
    return text
