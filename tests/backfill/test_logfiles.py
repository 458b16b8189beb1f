"""The shared log-file reader: any chunking, gzip or not, failures as values, bounded memory."""

from __future__ import annotations

import gzip
import tracemalloc

import orjson
import pytest

from processor.logfiles import INFLATE_STEP, LogFileError, LogFileReader
from processor.logkeys import account_in_key, is_digest, parse_log_key

TRICKY = [
    {
        "eventName": "PutBucketPolicy",
        "eventSource": "s3.amazonaws.com",
        "eventID": f"e{i}",
        "requestParameters": {
            "policy": '{"Statement":[{"Effect":"Deny"}]}, },{ }]',
            "list": [{"a": 1}, {"b": [2]}],
        },
        "escaped": 'quote \\" backslash \\\\ brace } bracket ]',
        "unicode": "héllo ✓",
        "resources": [{"ARN": "arn:aws:s3:::b"}, {"ARN": "arn:aws:s3:::c"}],
    }
    for i in range(40)
]


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000, 1 << 20])
@pytest.mark.parametrize("indent", [False, True])
@pytest.mark.parametrize("gzipped", [False, True])
def test_every_chunking_yields_the_same_records(size, indent, gzipped):
    doc = orjson.dumps({"Records": TRICKY}, option=orjson.OPT_INDENT_2 if indent else 0)
    data = gzip.compress(doc) if gzipped else doc

    records = list(LogFileReader("s3://b/k").records(_chunks(data, size)))

    assert [r.event for r in records] == TRICKY
    assert [r.index for r in records] == list(range(40))
    assert {r.item_id for r in records} == {"s3://b/k"}


def test_other_top_level_members_are_skipped_and_bad_elements_reported():
    doc = orjson.dumps(
        {"meta": {"x": [1, "]}"]}, "Records": [TRICKY[0], 5, {"no": "names"}, TRICKY[1]], "z": None}
    )
    reader = LogFileReader("f")

    records = list(reader.records(_chunks(doc, 5)))

    assert [r.index for r in records] == [0, 3]
    assert [f.reason for f in reader.failures] == [
        "Records[1] is a JSON number, not a CloudTrail record",
        "Records[2] is a JSON object without 'eventName' and 'eventSource'",
    ]


def test_concatenated_gzip_members_are_one_file():
    first, second = orjson.dumps({"Records": TRICKY[:1]}), b""
    data = gzip.compress(first[:20]) + gzip.compress(first[20:] + second)

    assert len(list(LogFileReader("f").records([data]))) == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"[1, 2]", "not a CloudTrail log file: the document starts with b'[', not a JSON object at byte 0"),
        (b'{"Records": {}}', "not a CloudTrail log file: 'Records' is not an array at byte 12"),
        (b'{"hello": "world"}', "JSON object has no 'Records' array: it is not a CloudTrail log file"),
        (
            b'{"Records": [{"eventName": "a"',
            "not a complete JSON document: it ends inside Records[0]",
        ),
        (
            b'{"Records": [{"eventName": "a"},',
            "not a complete JSON document: it ends inside the 'Records' array",
        ),
        (
            b'{"Records": [], "x": [1',
            "not a complete JSON document: it ends inside the top-level object",
        ),
        (
            b"\x1f\x8bnot gzip",
            "gzip data is corrupt: Error -3 while decompressing data: unknown compression method"
            " (at compressed byte 10)",
        ),
        (
            gzip.compress(b'{"Records": []}', mtime=0)[:-4],
            "gzip data is truncated: the stream ends after 31 bytes",
        ),
        (b"", "not JSON: the object is empty"),
        (
            b'{"Records": []} trailing',
            "not a CloudTrail log file: unexpected data after the JSON document at byte 16",
        ),
    ],
)
def test_unreadable_files_raise_with_the_reason(data, reason):
    with pytest.raises(LogFileError) as caught:
        list(LogFileReader("f").records([data]))
    assert str(caught.value) == reason


def test_memory_stays_bounded_however_big_the_file():
    """~20 MB of JSON (20,000 records) streams with a peak of a few inflate steps, not the file."""
    record = orjson.dumps(TRICKY[0])
    body = b'{"Records":[' + b",".join([record] * 20_000) + b"]}"
    data = gzip.compress(body, 1)
    chunks = _chunks(data, 256 * 1024)
    del body

    tracemalloc.start()
    try:
        count = sum(1 for _ in LogFileReader("big").records(chunks))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 20_000
    assert peak < 4 * INFLATE_STEP, f"peak {peak:,} bytes while streaming {len(record) * 20_000:,}"


def test_log_keys_are_parsed_leniently():
    key = "AWSLogs/o-test/111222233344/CloudTrail/eu-west-2/2026/01/23/111222233344_CloudTrail_eu-west-2_trail_eu-central-1_20260123T194604Z.json.gz"
    parsed = parse_log_key(key)
    assert parsed is not None and (parsed.account, parsed.region) == ("111222233344", "eu-west-2")
    assert parsed.time.isoformat() == "2026-01-23T19:46:04+00:00"
    assert parse_log_key("AWSLogs/x/other.json.gz") is None
    assert (
        account_in_key("AWSLogs/o-abc/444455556666/CloudTrail/us-east-1/2026/01/01/odd.json.gz")
        == "444455556666"
    )
    assert is_digest(
        "AWSLogs/1/CloudTrail-Digest/r/2026/01/01/1_CloudTrail-Digest_r_t_r_20260101T000000Z.json.gz"
    )
