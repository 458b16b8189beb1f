"""Two-phase decoding: match on just the fields the rules read, fully decode only what alerts.

Phase 1 decodes each record into a partial view (schema.py) that holds exactly the fields the
active rules, the threshold counters and the record checks can read, and evaluates the rules on
it. Phase 2 decodes the full record with orjson only for records that alert, so routing and
rendering see what they always saw. mode.py decides, per rule configuration, whether the two
phases can be exact; when they cannot, everything goes through the full decode, visibly.
"""
