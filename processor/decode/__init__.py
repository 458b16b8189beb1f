"""Decoding of every shape a Kinesis record can carry into CloudTrail records."""

from processor.decode.kinesis import (
    DecodedPayload,
    DecodeFailure,
    KinesisBatch,
    decode_kinesis_event,
    decode_payload,
    is_cloudtrail_record,
    json_kind,
)
from processor.decode.kpl import aggregate, deaggregate, is_aggregated

__all__ = [
    "DecodeFailure",
    "DecodedPayload",
    "KinesisBatch",
    "aggregate",
    "deaggregate",
    "decode_kinesis_event",
    "decode_payload",
    "is_aggregated",
    "is_cloudtrail_record",
    "json_kind",
]
