"""KPL aggregated records: magic, protobuf AggregatedRecord, MD5 of the protobuf.

The format (amazon-kinesis-producer, aggregation-format.md)::

    AggregatedRecord { repeated string partition_key_table = 1;
                       repeated string explicit_hash_key_table = 2;
                       repeated Record records = 3; }
    Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
             required bytes data = 3; repeated Tag tags = 4; }

A hand-written reader keeps the Lambda free of a protobuf dependency; it reads only what
deaggregation needs and skips everything else by wire type, as protobuf requires.
"""

from __future__ import annotations

import hashlib

from processor.errors import DecodeError

MAGIC = b"\xf3\x89\x9a\xc2"
_DIGEST_SIZE = 16

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5

# AggregatedRecord fields
_PK_TABLE, _RECORDS = 1, 3
# Record fields
_PK_INDEX, _DATA = 1, 3


def is_aggregated(data: bytes) -> bool:
    """True when `data` starts with the KPL magic; without it a record is a plain user record."""
    return data[:4] == MAGIC


def deaggregate(data: bytes) -> list[bytes]:
    """Return the user records' data of a KPL aggregate, in order.

    Raises DecodeError when the checksum does not match or the protobuf is malformed: an
    aggregate is all or nothing, since a bad checksum means no user record can be trusted.
    """
    end = len(data) - _DIGEST_SIZE
    if end < len(MAGIC):
        raise DecodeError(
            f"KPL aggregate is truncated: {len(data)} bytes, less than magic and checksum "
            f"({len(MAGIC) + _DIGEST_SIZE} bytes)"
        )
    view = memoryview(data)
    if hashlib.md5(view[len(MAGIC) : end], usedforsecurity=False).digest() != data[end:]:
        raise DecodeError("KPL aggregate checksum mismatch: the MD5 does not match the protobuf message")
    records: list[bytes] = []
    pos = len(MAGIC)
    while pos < end:
        field, wire, pos = _key(data, pos, end)
        if field == _RECORDS and wire == _LENGTH:
            size, pos = _varint(data, pos, end)
            stop = _bounded(pos, size, end, "user record")
            records.append(_user_record(data, pos, stop, len(records)))
            pos = stop
        else:  # the key tables: deaggregation needs only the data
            pos = _skip(data, pos, end, wire)
    if not records:
        raise DecodeError("KPL aggregate holds no user records")
    return records


def aggregate(records: list[bytes], partition_key: str = "pk") -> bytes:
    """Build a KPL aggregate of `records`, all under `partition_key`, as the KPL would.

    Used by tests and the demo to produce real aggregated records.
    """
    key = partition_key.encode()
    body = bytearray(_length_field(_PK_TABLE, key))
    first_key = _encode_varint(_PK_INDEX << 3 | _VARINT) + b"\x00"  # partition_key_index = 0
    for data in records:
        body += _length_field(_RECORDS, first_key + _length_field(_DATA, data))
    payload = bytes(body)
    return MAGIC + payload + hashlib.md5(payload, usedforsecurity=False).digest()


def _user_record(data: bytes, pos: int, end: int, index: int) -> bytes:
    payload: bytes | None = None
    has_key = False
    while pos < end:
        field, wire, pos = _key(data, pos, end)
        if field == _DATA and wire == _LENGTH:
            size, pos = _varint(data, pos, end)
            stop = _bounded(pos, size, end, "user record data")
            payload = data[pos:stop]
            pos = stop
        else:
            has_key = has_key or (field == _PK_INDEX and wire == _VARINT)
            pos = _skip(data, pos, end, wire)
    if payload is None or not has_key:
        missing = "data" if payload is None else "partition_key_index"
        raise DecodeError(f"KPL aggregate is malformed: user record {index} has no {missing}")
    return payload


def _key(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    key, pos = _varint(data, pos, end)
    return key >> 3, key & 7, pos


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while pos < end:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise DecodeError("KPL aggregate is malformed: varint longer than 10 bytes")
    raise DecodeError("KPL aggregate is truncated: a varint runs past the end of its message")


def _bounded(pos: int, size: int, end: int, what: str) -> int:
    stop = pos + size
    if stop > end:
        raise DecodeError(
            f"KPL aggregate is truncated: {what} of {size} bytes runs past the end of its message"
        )
    return stop


def _skip(data: bytes, pos: int, end: int, wire: int) -> int:
    if wire == _VARINT:
        return _varint(data, pos, end)[1]
    if wire == _LENGTH:
        size, pos = _varint(data, pos, end)
        return _bounded(pos, size, end, "field")
    if wire in (_FIXED64, _FIXED32):
        return _bounded(pos, 8 if wire == _FIXED64 else 4, end, "fixed-size field")
    raise DecodeError(f"KPL aggregate is malformed: unsupported protobuf wire type {wire}")


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_field(field: int, value: bytes) -> bytes:
    return _encode_varint(field << 3 | _LENGTH) + _encode_varint(len(value)) + value
