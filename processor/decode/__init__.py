"""Decoding of every shape a Kinesis record can carry into CloudTrail records."""

from processor.decode.kinesis import KinesisBatch, decode_kinesis_event, decode_payload
from processor.decode.kpl import aggregate, deaggregate, is_aggregated
from processor.decode.shapes import DecodedPayload, DecodeFailure, is_cloudtrail_record

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
]
