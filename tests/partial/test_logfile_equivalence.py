"""Two-phase decoding of CloudTrail log files decides exactly what the record-by-record decode does.

Generated log files (records in odd spellings, non-records and broken elements among them, nested
arrays whose objects open like records, gzip or not, any chunking) go through the backfill's
per-object evaluator both ways; every count, alert, rule failure and decode failure must agree.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backfill.window import EventFilter
from backfill.work import ObjectEvaluator
from processor.partial.mode import decode_mode
from processor.routing import Router
from processor.settings import load_settings
from tests.partial.strategies import json_text, records
from tests.partial.test_lambda_equivalence import CONFIGS, SEPARATOR, _rules

ROUTER = Router(load_settings({"HOOK_URL": "https://hooks.slack.com/services/T0/B0/x"}))
WINDOW = EventFilter("2024-03-11T09:05:00Z", None)
ANYTIME = EventFilter(None, None)
ODD_ELEMENTS = [b"1", b'"x"', b"null", b"[]", b"{}", b'{"eventName":"X"}', b"{bad json}", b'{"a":"\xff"}']
NESTED = b'{"eventVersion":"1.09","eventName":"CreateUser","eventSource":"iam.amazonaws.com","resources":[{"a":1},{"eventVersion":"2"}]}'


def outcome(
    body: bytes, sizes: list[int], config: dict[str, str], *, two_phase: bool, window: EventFilter = WINDOW
) -> list[Any]:
    rules = _rules(config)
    mode = decode_mode(rules, {} if two_phase else {"TRAILALERT_DECODE": "full"})
    assert (mode.phases is not None) == two_phase
    evaluator = ObjectEvaluator(rules, ROUTER, window, as_lines=False, phases=mode.phases)
    chunks, at = [], 0
    for size in sizes:
        chunks.append(body[at : at + size])
        at += size
    chunks.append(body[at:])
    found = []
    for batch in evaluator.run("file", [chunk for chunk in chunks if chunk]):
        found.append(
            (
                batch.counts,
                [(a.record.index, a.rule.id, a.record.event, a.slack, a.sns) for a in batch.alerts],
                [(f.rule.id, f.error, f.event_id) for f in batch.rule_failures],
                batch.reasons,
                batch.error,
            )
        )
    return found


@st.composite
def log_files(draw: st.DrawFn) -> bytes:
    elements = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["record"] * 6 + ["odd", "nested"]))
        if kind == "record":
            record = {"eventVersion": "1.09", **draw(records())}
            elements.append(draw(json_text(record)))
        elif kind == "odd":
            elements.append(draw(st.sampled_from(ODD_ELEMENTS)))
        else:
            elements.append(NESTED)
    space = draw(st.sampled_from([b",", b", ", b",\n"]))
    body = b'{"Records":[' + space.join(elements) + b"]}"
    return gzip.compress(body) if draw(st.booleans()) else body


@pytest.mark.parametrize("config", list(CONFIGS))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=log_files(), sizes=st.lists(st.integers(1, 4096), max_size=4))
def test_two_phase_log_files_decide_as_the_full_decode(config: str, body: bytes, sizes: list[int]) -> None:
    two = outcome(body, sizes, CONFIGS[config], two_phase=True)
    assert two == outcome(body, sizes, CONFIGS[config], two_phase=False)


@pytest.mark.parametrize("config", list(CONFIGS))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=log_files(), sizes=st.lists(st.integers(1, 4096), max_size=4))
def test_two_phase_log_files_without_a_window_decide_as_the_full_decode(
    config: str, body: bytes, sizes: list[int]
) -> None:
    """Without --since/--until every record is in the window: counted runs take a bulk path."""
    two = outcome(body, sizes, CONFIGS[config], two_phase=True, window=ANYTIME)
    assert two == outcome(body, sizes, CONFIGS[config], two_phase=False, window=ANYTIME)


def test_phase_one_reads_most_records_of_a_file() -> None:
    """The equivalence is not won by falling back: runs of real records take phase 1."""
    import orjson

    from processor.decode.shapes import is_cloudtrail_record
    from processor.logfiles import LogFileReader
    from processor.partial.records import PartialRecord
    from tests.partial.strategies import FIXTURES

    body = (
        b'{"Records":['
        + b",".join(orjson.dumps({**r, "eventVersion": "1.09"}) for r in FIXTURES * 20)
        + b"]}"
    )
    phases = decode_mode(_rules(CONFIGS["user rules"]), {}).phases
    found = list(
        LogFileReader("x", phases=phases).records([body[i : i + 5000] for i in range(0, len(body), 5000)])
    )
    partial = sum(type(record) is PartialRecord for record in found)
    records = sum(is_cloudtrail_record(record) for record in FIXTURES) * 20  # one fixture is not a record
    assert len(found) == records and partial >= 0.8 * len(found)


def _unmatched_file(count: int) -> bytes:
    import orjson

    records = [
        {
            "eventVersion": "1.09",
            "eventName": f"DescribeThing{n % 7}",
            "eventSource": "ec2.amazonaws.com",
            "eventTime": f"2024-03-11T09:{n % 10:02d}:00Z",  # half of them before WINDOW's start
            "userIdentity": {"type": "IAMUser"} if n % 3 else {},
        }
        for n in range(count)
    ]
    return b'{"Records":[' + b",".join(orjson.dumps(r) for r in records) + b"]}"


@pytest.mark.parametrize("count", [5, 4500])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_records_no_rule_can_match_are_counted_alike(config: str, count: int) -> None:
    """Records counted in bulk (processor.partial.skip) add up to what evaluating them counts,
    in and outside the window, also when a file holds nothing else and over many batches."""
    body = _unmatched_file(count)
    sizes = [len(body) // 3, len(body) // 3]
    two = outcome(body, sizes, CONFIGS[config], two_phase=True)
    full = outcome(body, sizes, CONFIGS[config], two_phase=False)
    for part in (1, 2, 3):  # alerts, rule failures, reasons: the same, in the same order
        assert [x for batch in two for x in batch[part]] == [x for batch in full for x in batch[part]]
    assert two[-1][4] == full[-1][4]  # the error, if any
    for name in ("events", "outside_window", "ignored", "unmatched", "undecodable", "rule_errors", "alerts"):
        assert sum(getattr(b[0], name) for b in two) == sum(getattr(b[0], name) for b in full), name
    if count <= 5:  # one batch: the same batches, counts included
        assert two == full


def test_records_no_rule_can_match_are_not_made_into_records() -> None:
    from processor.logfiles import LogFileReader
    from processor.partial.skip import Skipper

    phases = decode_mode(_rules(CONFIGS["defaults"]), {}).phases
    reader = LogFileReader("x", phases=phases, skipper=Skipper(phases, None))
    found = list(reader.records([_unmatched_file(100)]))
    assert reader.skipped_unmatched >= 90 and len(found) + reader.skipped_unmatched == 100


def _file_of(records: list[dict[str, Any]]) -> bytes:
    import orjson

    head = {"eventVersion": "1.09", "eventTime": "2024-03-11T10:00:00Z"}  # inside WINDOW
    return b'{"Records":[' + b",".join(orjson.dumps({**head, **r}) for r in records) + b"]}"


def test_booleans_and_numbers_of_a_guarded_field_are_told_apart_in_one_run() -> None:
    """True == 1 and False == 0 as dict keys: a run holding both must still decide each exactly."""
    # str() tells them apart: a number that found a boolean's class would be wrongly left out
    later = 'event["eventName"] == "PutThing" and str(event.get("readOnly")) in ["1", "0.0"]'
    first = 'str(event.get("readOnly")) in ["1", "0", "1.0", "0.0"] and event["eventName"] == "GetThing"'
    for rules in (later, first, later + SEPARATOR + first):
        config = {"RULES": rules}
        records = [
            {"eventName": name, "eventSource": "s.amazonaws.com", "readOnly": value}
            for name in ("PutThing", "GetThing")
            for value in (False, 0, 0.0, True, 1, 1.0, None, "false", False)
        ]
        body = _file_of(records * 3)
        sizes = [len(body) // 3] * 2  # three runs: the memo filled by one is used by the next
        two = outcome(body, sizes, config, two_phase=True)
        assert two == outcome(body, sizes, config, two_phase=False), rules
        alerts = sum(batch[0].alerts for batch in two)
        assert alerts == {later: 6, first: 12, later + SEPARATOR + first: 18}[rules]


def test_a_later_guard_rules_a_record_out_without_evaluating_it() -> None:
    """`eventName == "AssumeRole" and roleArn.endswith(...)`: most AssumeRole records fail the
    second guard, so they are counted in bulk like records no rule names at all."""
    from processor.logfiles import LogFileReader
    from processor.partial.skip import Skipper

    config = {
        "RULES": 'event["eventName"] == "AssumeRole" and event.get("requestParameters.roleArn", "").endswith(":role/Admin")'
    }
    records = [
        {
            "eventName": "AssumeRole",
            "eventSource": "sts.amazonaws.com",
            "requestParameters": {"roleArn": f"arn:aws:iam::1:role/{'Admin' if n == 7 else f'app-{n}'}"},
        }
        for n in range(200)
    ]
    records[3]["requestParameters"]["roleArn"] = ["arn:aws:iam::1:role/Admin"]  # containers where a
    records[4]["requestParameters"]["roleArn"] = {"arn": "x"}  # string is read: evaluated as usual
    body = _file_of(records)
    rules = _rules(config)
    plan = rules.plan(records[0])
    assert not plan.rules and not plan.ignore  # the selector itself: nothing to run
    phases = decode_mode(rules, {}).phases
    reader = LogFileReader("x", phases=phases, skipper=Skipper(phases, None))
    found = list(reader.records([body]))
    # the last record of a file ends with "]", not with the next record: it is read on its own
    assert reader.skipped_unmatched >= 196 and len(found) + reader.skipped_unmatched == 200
    assert "arn:aws:iam::1:role/Admin" in [r.event["requestParameters"]["roleArn"] for r in found]
    assert outcome(body, [], config, two_phase=True) == outcome(body, [], config, two_phase=False)


def test_a_batch_ends_after_as_many_records_read_as_it_may_hold() -> None:
    """Most records are only counted, so a batch of BATCH_RECORDS kept records could span ten
    times as many read, holding their views meanwhile: batches end by records read as well."""
    from backfill.work import BATCH_RECORDS

    config = {"RULES": 'event["eventName"] == "PutThing"'}
    records = [
        {"eventName": "PutThing" if n % 10 == 0 else "GetThing", "eventSource": "s.amazonaws.com"}
        for n in range(10 * BATCH_RECORDS)
    ]
    body = _file_of(records)
    batches = outcome(body, [], config, two_phase=True)
    events = [batch[0].events for batch in batches]
    assert sum(events) == len(records) and sum(batch[0].alerts for batch in batches) == BATCH_RECORDS
    assert len(batches) >= 8 and max(events) <= BATCH_RECORDS + 1000  # a run is counted at once


def test_records_an_ignore_rule_is_known_to_match_are_counted_as_ignored() -> None:
    """An ignore rule made only of guards that all pass is True: such records are counted as
    ignored without being evaluated (outside the window they count as outside, as before)."""
    from processor.logfiles import LogFileReader
    from processor.partial.skip import Skipper

    config = CONFIGS["user rules"]
    identity = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    records = [
        {"eventName": "Decrypt", "eventSource": "kms.amazonaws.com", "userIdentity": identity}
        for _ in range(300)
    ]
    for n in range(0, 300, 3):
        records[n]["eventTime"] = "2024-03-11T09:00:00Z"  # before WINDOW's start
    body = _file_of(records)
    phases = decode_mode(_rules(config), {}).phases
    reader = LogFileReader("x", phases=phases, skipper=Skipper(phases, None))
    found = list(reader.records([body]))
    # the last record of a file ends with "]", not with the next record: it is read on its own
    assert reader.skipped_ignored >= 299 and len(found) + reader.skipped_ignored == 300
    two = outcome(body, [], config, two_phase=True)
    assert two == outcome(body, [], config, two_phase=False)
    assert sum(batch[0].ignored for batch in two) == 200
    assert sum(batch[0].outside_window for batch in two) == 100
    anytime = outcome(body, [], config, two_phase=True, window=ANYTIME)
    assert anytime == outcome(body, [], config, two_phase=False, window=ANYTIME)
    assert sum(batch[0].ignored for batch in anytime) == 300


@pytest.mark.parametrize("nested_every", [3, 0])
@pytest.mark.parametrize("alert_at", [1, 5, 20, 38])
def test_a_kept_record_near_one_end_of_a_run_is_read_from_part_of_it(
    alert_at: int, nested_every: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bytes of a kept record come from a prefix or suffix of its run, cut at a record's
    opening: nested objects that open alike (NESTED) must not shift which bytes are whose."""
    import orjson

    from processor.logfiles import LogFileReader
    from processor.partial import logruns
    from processor.partial.records import complete
    from processor.partial.skip import Skipper

    parts = []
    part = logruns.Run._part
    monkeypatch.setattr(logruns.Run, "_part", lambda run: parts.append(part(run)) or parts[-1])
    config = {"RULES": 'event["eventName"] == "DeleteTrail"'}
    plain = orjson.dumps({"eventVersion": "1.09", "eventName": "GetThing", "eventSource": "s"})
    nested = NESTED.replace(b"CreateUser", b"ListThings")  # a nested object opens like a record
    elements = [nested if nested_every and n % nested_every else plain for n in range(40)]
    alert = {"eventVersion": "1.09", "eventName": "DeleteTrail", "eventSource": "cloudtrail.amazonaws.com"}
    elements[alert_at] = orjson.dumps({**alert, "n": alert_at})
    body = b'{"Records":[' + b",".join(elements) + b"]}"
    phases = decode_mode(_rules(config), {}).phases
    skipper = Skipper(phases, None)
    # not located by address: see test_kept_records_are_read_from_where_they_are_located
    skipper.locator = None
    reader = LogFileReader("x", phases=phases, skipper=skipper)
    found = [complete(record).event for record in reader.records([body])]  # type: ignore[union-attr]
    # the last record of a file ends with "]", not with the next record: it is read on its own
    assert [event for event in found if event["eventName"] != "GetThing"] == [{**alert, "n": alert_at}]
    if not nested_every and alert_at != 20:  # near one end: a part, not the whole run
        assert parts and parts[0] is not None and len(parts[0][0]) < 30
    for window in (WINDOW, ANYTIME):
        two = outcome(body, [], config, two_phase=True, window=window)
        assert two == outcome(body, [], config, two_phase=False, window=window)


# Elements between which kept records are located, each spelled so an address off by a byte,
# a nested object taken for a record, or a separator left in would change what is read.
_LOCATE_ELEMENTS = [
    b'{"eventVersion":"1.09","eventName":"GetThing","eventSource":"s"}',
    NESTED.replace(b"CreateUser", b"GetThing"),  # a nested object opens like a record
    b'{"eventVersion":"1.09","eventName":"GetThing","eventSource":"s","x":{"eventVersion":"3"}}',
    b'{"eventName":"GetThing","eventVersion":"1.09","eventSource":"s"}',  # not the first member
    b'{"eventVersion" : "1.09","eventName":"GetThing","eventSource":"s"}',  # spaced: not located
    b'{"eventVersion":"1.09","eventName":"GetThing","eventSource":"s","eventVersion":"1.10"}',  # twice
    b'{"eventName":"GetThing","eventSource":"s"}',  # none
    b'{"eventVersion":["1.09"],"eventName":"GetThing","eventSource":"s"}',  # not a string
    b"[]",
    b"null",
]
_LOCATE_SEPARATORS = [b",", b", ", b" ,\n ", b"\t,\r\n"]


@contextlib.contextmanager
def _run_calls(*names: str) -> Iterator[list[tuple[str, Any]]]:
    """(name, result) of each call of these methods of logruns.Run, while inside."""
    from processor.partial import logruns

    calls: list[tuple[str, Any]] = []
    originals = {name: getattr(logruns.Run, name) for name in names}

    def spy(name: str) -> Any:
        def call(run: Any, *args: Any) -> Any:
            calls.append((name, originals[name](run, *args)))
            return calls[-1][1]

        return call

    for name in names:
        setattr(logruns.Run, name, spy(name))
    try:
        yield calls
    finally:
        for name, original in originals.items():
            setattr(logruns.Run, name, original)


@st.composite
def _files_with_kept_records(draw: st.DrawFn) -> tuple[bytes, list[dict[str, Any]]]:
    import orjson

    elements, alerts = [], []
    for n in range(draw(st.integers(1, 30))):
        if draw(st.integers(0, 3)) == 0:  # a kept record, itself spelled in one of the ways above
            shape = draw(st.sampled_from(_LOCATE_ELEMENTS[:8]))
            element = shape.replace(b'"GetThing"', b'"DeleteTrail","n":%d' % n)
            alerts.append(orjson.loads(element))
        else:
            element = draw(st.sampled_from(_LOCATE_ELEMENTS))
        elements.append(element)
    separators = [draw(st.sampled_from(_LOCATE_SEPARATORS)) for _ in elements]
    body = (
        b'{"Records":['
        + b"".join(s + e for s, e in zip(separators, elements, strict=True))[len(separators[0]) :]
    )
    return body + draw(st.sampled_from([b"]}", b" ]}", b"\n]\n}"])), alerts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_files_with_kept_records(), rules=st.sampled_from(["eventName", "eventVersion"]))
def test_kept_records_are_read_from_where_they_are_located(
    case: tuple[bytes, list[dict[str, Any]]], rules: str
) -> None:
    """A kept record's bytes are found by its first member's address (logruns.Run): exactly its
    own, whatever surrounds it, or found by scanning the run when its spelling does not allow it
    (and always when a rule reads eventVersion, which then cannot be decoded as a Raw)."""
    from processor.logfiles import LogFileReader
    from processor.partial.records import complete
    from processor.partial.skip import Skipper

    body, alerts = case
    config = {"RULES": 'event["eventName"] == "DeleteTrail"'}
    if rules == "eventVersion":
        config = {"RULES": config["RULES"] + ' and event.get("eventVersion") != "0"'}
    phases = decode_mode(_rules(config), {}).phases
    skipper = Skipper(phases, None)
    assert (skipper.locator is None) == (rules == "eventVersion")
    with _run_calls("_located") as located:
        reader = LogFileReader("x", phases=phases, skipper=skipper)
        found = [complete(record).event for record in reader.records([body])]  # type: ignore[union-attr]
    assert [event for event in found if event.get("eventName") == "DeleteTrail"] == alerts
    if rules == "eventVersion":
        assert not located
    assert outcome(body, [], config, two_phase=True) == outcome(body, [], config, two_phase=False)


def test_plainly_spelled_kept_records_are_located_without_scanning_the_run() -> None:
    """Kept records anywhere in a run (first, among nested look-alikes, before the last) are read
    where their first member is: the run is not scanned a second time."""
    from processor.logfiles import LogFileReader
    from processor.partial.records import complete
    from processor.partial.skip import Skipper

    config = {"RULES": 'event["eventName"] == "DeleteTrail"'}
    kept = {0, 7, 8, 20, 38}
    elements = [
        _LOCATE_ELEMENTS[n % 3].replace(
            b'"GetThing"', b'"DeleteTrail","n":%d' % n if n in kept else b'"GetThing"'
        )
        for n in range(40)
    ]
    body = b'{"Records":[' + b", \n".join(elements) + b"]}"
    phases = decode_mode(_rules(config), {}).phases
    with _run_calls("_located", "_whole", "_part") as calls:
        reader = LogFileReader("x", phases=phases, skipper=Skipper(phases, None))
        found = [complete(record).event for record in reader.records([body])]  # type: ignore[union-attr]
    assert [event["n"] for event in found if event["eventName"] == "DeleteTrail"] == sorted(kept)
    # the last element is read on its own, not in a run
    assert calls and {name for name, _ in calls} == {"_located"}
