"""One payload (the bytes of a Kinesis record) to CloudTrail records, whatever its shape."""

from __future__ import annotations

from processor.decode.cwlogs import InflateBudget, collect_cwlogs, is_gzip
from processor.decode.jsonload import load_json
from processor.decode.kpl import deaggregate, is_aggregated
from processor.decode.result import DecodedPayload, PayloadBuilder
from processor.decode.shapes import collect_json
from processor.errors import DecodeError

KPL_PREFIX = "kpl+"


def decode_payload(data: bytes) -> DecodedPayload:
    """Decode a payload: KPL aggregate, gzip CloudWatch Logs message, or JSON.

    Shapes are told apart by their first bytes (KPL magic, gzip magic, else JSON), so nothing
    is tried twice. Raises DecodeError when the payload as a whole is unreadable; a bad KPL
    user record or log event is reported in `errors` and the others are still returned.
    """
    out = PayloadBuilder()
    collect_payload(data, out)
    return out.build()


def collect_payload(data: bytes, out: PayloadBuilder) -> None:
    """`decode_payload` into a builder: the Kinesis loop reads it directly, saving a frozen copy.

    All the gzip members of the payload (one per KPL user record, at most) share one inflate
    budget, so a small aggregate of many members cannot inflate without bound."""
    budget = InflateBudget()
    if is_aggregated(data):
        for i, user_record in enumerate(deaggregate(data)):
            where = f"KPL user record {i}: "
            try:
                _collect(user_record, out, KPL_PREFIX, where, budget)
            except DecodeError as exc:
                out.fail(f"{where}{exc}")
    else:
        _collect(data, out, "", "", budget)


def _collect(data: bytes, out: PayloadBuilder, prefix: str, where: str, budget: InflateBudget) -> None:
    if not data:
        raise DecodeError("payload is empty (0 bytes)")
    if is_gzip(data):
        collect_cwlogs(data, out, prefix, where, budget)
    elif prefix and is_aggregated(data):
        raise DecodeError("KPL aggregate nested inside a KPL aggregate (the KPL never nests them)")
    else:
        collect_json(load_json(data), out, prefix, where)
