"""The Skipper's bulk paths decide each element as the rule set's own selector decides the record.

Over many runs, so the paths that only start after a few runs are taken too: a field whose values
are mostly new (a source IP, an ARN) is classified directly rather than looked up, also when it
is absent or null in some records; a column whose member is missing in some structs is read the
slow way for a while; pending plans refine with remembered later classes.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from processor.partial.mode import decode_mode
from processor.partial.skip import IGNORED, Skipper
from processor.rules import build_ruleset

SEPARATOR = "\x1f"
RULES = SEPARATOR.join(
    [
        'event.get("sourceIPAddress", "").startswith("185.220.")',
        'event.get("userIdentity.arn", "").endswith(":user/break-glass")',
        'event["eventName"] == "AssumeRole" and event.get("requestParameters.roleArn", "").endswith("/Admin")',
        'event["eventName"] == "PutThing" and event.get("readOnly") is False',
    ]
)
IGNORE = (
    'event.get("userIdentity.arn", "x").endswith(":assumed-role/noisy") and event["eventName"] == "GetThing"'
)


def _record(rng: random.Random) -> dict[str, Any]:
    ip = rng.choice(["185.220.", "10.0.", "192.168."]) + f"{rng.randrange(256)}.{rng.randrange(256)}"
    arn = rng.choice(
        [
            f"arn:aws:iam::1:user/u{rng.randrange(10**6)}",
            "arn:aws:iam::1:user/break-glass",
            "arn:aws:sts::1:assumed-role/noisy",
            f"arn:aws:sts::1:assumed-role/r{rng.randrange(10**6)}",
        ]
    )
    identity: Any = {"type": "IAMUser", "arn": arn}
    roll = rng.random()
    if roll < 0.15:
        del identity["arn"]  # absent: a hole in a column of strings
    elif roll < 0.2:
        identity["arn"] = None
    elif roll < 0.23:
        identity = "not an object"  # the member below it is absent
    elif roll < 0.25:
        identity = None
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventName": rng.choice(["AssumeRole", "GetThing", "PutThing", "ListThings"]),
        "eventSource": "x.amazonaws.com",
        "sourceIPAddress": ip if rng.random() > 0.05 else None,
        "userIdentity": identity,
    }
    if rng.random() < 0.02:
        del record["userIdentity"]
    if record["eventName"] == "AssumeRole":
        role = rng.choice(["Admin", f"app-{rng.randrange(10**6)}"])
        record["requestParameters"] = {"roleArn": f"arn:aws:iam::1:role/{role}"}
        if rng.random() < 0.05:
            record["requestParameters"] = None
    record["readOnly"] = rng.choice([True, False, 0, 1, None, "false"])
    return record


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_element_is_decided_as_the_selector_decides_its_record(seed: int) -> None:
    rules = build_ruleset(
        rules=RULES, ignore_rules=IGNORE, separator=SEPARATOR, events_to_track=None, function_name="fn"
    )
    phases = decode_mode(rules, {}).phases
    assert phases is not None
    skipper = Skipper(phases, None)
    rng = random.Random(seed)
    decided = direct = ignored = 0
    for _ in range(60):  # runs: the direct path starts once a run mostly missed the memo
        records = [_record(rng) for _ in range(rng.randrange(20, 80))]
        structs = skipper.skim_run.decode(b"[" + b",".join(map(orjson.dumps, records)) + b"]")
        skips = skipper.split(structs)
        assert skips is not None
        direct += any(skipper._direct)
        for record, skip in zip(records, skips, strict=True):
            plan = rules.plan(record)
            if skip is False:  # left to the usual evaluation: allowed, but must be rare
                continue
            decided += 1
            ignored += skip is IGNORED
            assert (skip is IGNORED) == plan.ignored, record
            if plan.ignored:  # the ignore rule is True for it: evaluating it says so too
                assert rules.evaluate_planned(record, rules.plan(record)).ignored_by is not None
                continue
            nothing = not plan.ignore and not plan.rules
            assert (skip is True) == nothing, record
            if skip is not True:
                assert (skip.ignore, skip.rules) == (plan.ignore, plan.rules), record
    assert direct >= 30 and decided >= 0.9 * 60 * 20 and ignored >= 50


@pytest.mark.parametrize(
    ("ignore", "known", "true"),
    [
        ('event["eventName"] == "Decrypt" and event.get("userIdentity.type") == "AWSService"', True, True),
        ('event["eventName"] == "Decrypt"', True, True),
        # the last conjunct is truthy but not True: the rule is not True, so it does not ignore
        ('event["eventName"] == "Decrypt" and event.get("userIdentity.type")', False, False),
        # a conjunct reading two fields is no guard: the guards do not cover the rule
        ('event["eventName"] == "Decrypt" and event["eventSource"] != event["eventName"]', False, True),
        # a later guard through a list index is a guard (a first one is not: every record would read it)
        ('event["eventName"] == "Decrypt" and event.get("resources.0.ARN") is None', True, True),
        ('event.get("resources.0.ARN") is None and event["eventName"] == "Decrypt"', False, True),
    ],
)
def test_an_ignore_rule_is_known_to_match_only_when_its_guards_are_the_whole_rule(
    ignore: str, known: bool, true: bool
) -> None:
    rules = build_ruleset(rules=None, ignore_rules=ignore, events_to_track=None, function_name="fn")
    record = {
        "eventName": "Decrypt",
        "eventSource": "kms.amazonaws.com",
        "userIdentity": {"type": "AWSService"},
    }
    assert rules.plan(record).ignored is known
    unguarded = rules.without_index()
    assert (unguarded.evaluate(record).ignored_by is not None) is true


def _only(rules_text: str) -> tuple[Any, Skipper]:
    """The rule set of just these rules (no defaults, no ignore rules) and its Skipper."""
    rules = build_ruleset(
        rules=rules_text,
        separator=SEPARATOR,
        ignore_rules=None,
        events_to_track=None,
        function_name="fn",
        use_default_rules=False,
    )
    phases = decode_mode(rules, {}).phases
    assert phases is not None
    return rules, Skipper(phases, None)


def test_a_later_guard_through_a_list_index_reads_what_flatten_names() -> None:
    """`eventName == "RunInstances" and instancesSet.items.0.maxCount > 20`: the skim does not read
    a key through a list (arrays of structs cost every record), so the records whose plan reads
    one are decoded again from their bytes, and the second guard reads item 0 of a list, or the
    member "0" of an object, as flatten names both "items.0"; the others are counted as before."""
    from tests.partial.test_logfile_equivalence import ANYTIME, outcome

    rule = 'event["eventName"] == "RunInstances" and event.get("requestParameters.instancesSet.items.0.maxCount", 0) > 20'
    rules, skipper = _only(rule)
    assert not any("items" in key for key in skipper.skim_keys)
    shapes: list[Any] = [
        [{"maxCount": 50}],
        [{"maxCount": 5}, {"maxCount": 50}],
        {"0": {"maxCount": 50}},
        {"0": {"maxCount": 5}},
        [],
        [50],
        [None],
        [{"maxCount": "50"}],  # a string: `>` raises, so the rule fails
        [{"maxCount": [50]}],
        None,
        "items",
    ]
    records = [
        {
            "eventVersion": "1.09",
            "eventName": name,
            "eventSource": "ec2.amazonaws.com",
            "requestParameters": {"instancesSet": {"items": items}},
        }
        for items in shapes
        for name in ("RunInstances", "StopInstances")
    ]
    records.append({"eventName": "RunInstances", "eventSource": "ec2.amazonaws.com"})
    datas = [orjson.dumps(record) for record in records]
    for _ in range(3):  # the later classes are remembered after the first run
        structs = skipper.skim_run.decode(orjson.dumps(records))
        # without the elements' bytes, the records whose plan reads a key through a list are not
        # known here; with them, each is decided as the selector decides the whole record
        assert skipper.split(structs) == [record["eventName"] != "RunInstances" for record in records]
        skips = skipper.split(structs, datas.__getitem__)
        assert skips is not None
        for record, skip in zip(records, skips, strict=True):
            if skip is False:  # a container where a scalar is read: left to the usual evaluation
                assert record["eventName"] == "RunInstances" and "[50]" in str(record), record
                continue
            assert (skip is True) == (not rules.plan(record).rules), record
        decided = [skip for skip in skips if skip is not True and skip is not False]
        assert len(decided) == 3  # items.0.maxCount 50 as a list item or as member "0"; the string
    body = b'{"Records":[' + b",".join(map(orjson.dumps, records)) + b"]}"
    config = {"RULES": rule}
    two = outcome(body, [], config, two_phase=True, window=ANYTIME)
    assert two == outcome(body, [], config, two_phase=False, window=ANYTIME)
    assert sum(batch[0].alerts for batch in two) == 2 and sum(batch[0].rule_errors for batch in two) == 1


def test_a_later_field_joins_the_skim_once_records_need_it_often_and_decides_alike_throughout() -> None:
    """Later fields start out of the skim: the records whose plan reads one are decoded again from
    their own bytes. A field that many records need (roleArn after AssumeRole) joins the skim
    after a run or two; one that almost none need (policyArn after a rare event) stays out, so
    no record pays for it. Before, during and after the change every element is decided as the
    selector decides its record, with and without the elements' bytes at hand."""
    rules_text = SEPARATOR.join(
        [
            'event["eventName"] == "AssumeRole" and event.get("requestParameters.roleArn", "").endswith("/Admin")',
            'event["eventName"] == "AttachRolePolicy" and event.get("requestParameters.policyArn") == "x"',
        ]
    )
    rules, skipper = _only(rules_text)
    assert "requestParameters.roleArn" not in skipper.skim_keys
    assert "requestParameters.policyArn" not in skipper.skim_keys
    rng = random.Random(7)
    joined_after = None
    for run in range(40):
        records = []
        for _ in range(200):
            name = rng.choice(["AssumeRole", "GetThing", "ListThings"])
            if rng.random() < 0.002:
                name = "AttachRolePolicy"
            parameters = {
                "roleArn": rng.choice(
                    ["arn:aws:iam::1:role/Admin", f"arn:aws:iam::1:role/r{rng.randrange(99)}"]
                ),
                "policyArn": rng.choice(["x", "y"]),
            }
            records.append(
                {
                    "eventVersion": "1.09",
                    "eventName": name,
                    "eventSource": "s",
                    "requestParameters": parameters,
                }
            )
        datas = [orjson.dumps(record) for record in records]
        structs = skipper.skim_run.decode(b"[" + b",".join(datas) + b"]")
        bytes_at_hand = run % 2 == 0
        skips = skipper.split(structs, datas.__getitem__ if bytes_at_hand else None)
        assert skips is not None
        for record, skip in zip(records, skips, strict=True):
            if skip is False:  # an unskimmed later field without the bytes: the usual evaluation
                assert not bytes_at_hand, record
                continue
            plan = rules.plan(record)
            assert (skip is True) == (not plan.rules), record
            if skip is not True:
                assert skip.rules == plan.rules, record
        if joined_after is None and "requestParameters.roleArn" in skipper.skim_keys:
            joined_after = run
    assert joined_after is not None and joined_after <= 1
    assert "requestParameters.policyArn" not in skipper.skim_keys


def _usual(rng: random.Random) -> dict[str, Any]:
    """A record from a small pool of values: after a run or two the memos remember them all."""
    return {
        "eventVersion": "1.09",
        "eventName": rng.choice(["CreateUser", "GetUser", "Decrypt", "ListUsers"]),
        "eventSource": rng.choice(["iam.amazonaws.com", "kms.amazonaws.com"]),
        "sourceIPAddress": rng.choice(["185.220.1.1", "10.0.0.1", "192.168.0.1"]),
        "userIdentity": {"type": rng.choice(["IAMUser", "Root", "AWSService"])},
        "errorCode": rng.choice(["AccessDenied", None]),
    }


def _odd(rng: random.Random, record: dict[str, Any], kinds: int) -> dict[str, Any]:
    """One way a record may differ from the pool's: a value not remembered, or one that makes the
    run take the columns (a member missing on the way, a value that is not hashable)."""
    odd = rng.choice(["no name", "no source", "null name", "new ip", "number", "no identity", "list"][:kinds])
    if odd == "no name":
        del record["eventName"]
    elif odd == "no source":
        del record["eventSource"]
    elif odd == "null name":
        record["eventName"] = None
    elif odd == "new ip":
        record["sourceIPAddress"] = f"185.220.{rng.randrange(256)}.{rng.randrange(256)}"
    elif odd == "number":
        record["errorCode"] = rng.choice([0, 1, 2.5])
    elif odd == "no identity":
        del record["userIdentity"]
    else:
        record["errorCode"] = ["AccessDenied"]
    return record


def test_remembered_classes_decide_each_element_as_the_selector_decides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With eventName and eventSource guarded, a run whose values are remembered is classified by
    one comprehension over the memos; the few values not remembered (a new IP, a number, an
    absent eventName or eventSource) are classified one struct at a time, and a run with many
    of them, a missing member or a list takes the columns; a field whose values are mostly new
    (source IPs) is classified directly as a column meanwhile. Either way each element is decided as
    the selector decides its record, and one without eventName or eventSource is never counted.
    Booleans in a guarded field (equal to 1 and 0 as keys) send every later run to the columns."""
    rules_text = SEPARATOR.join(
        [
            'event["eventSource"] == "iam.amazonaws.com" and event["eventName"] in ["CreateUser", "DeleteUser"]',
            'event.get("userIdentity.type") == "Root"',
            'event.get("sourceIPAddress", "").startswith("185.220.")',
            'event.get("errorCode") is True',
        ]
    )
    rules = build_ruleset(
        rules=rules_text,
        separator=SEPARATOR,
        ignore_rules='event["eventName"] == "Decrypt" and event.get("userIdentity.type") == "AWSService"',
        events_to_track=None,
        function_name="fn",
        use_default_rules=False,
    )
    phases = decode_mode(rules, {}).phases
    assert phases is not None
    skipper = Skipper(phases, None)
    answered: list[bool] = []  # per run: whether the memos' comprehension answered it

    def remembered(structs: list[Any]) -> Any:
        skips = Skipper._remembered(skipper, structs)
        answered.append(skips is not None)
        return skips

    monkeypatch.setattr(skipper, "_remembered", remembered)
    rng = random.Random(11)
    remembered = direct = odd_ones = 0
    for run in range(80):
        records = [_usual(rng) for _ in range(100)]
        heavy = run in (30, 50)  # many odd ones, some of them sending the run to the columns
        for position in rng.sample(range(100), 40 if heavy else rng.randrange(4)):
            records[position] = _odd(rng, records[position], 7 if heavy else 5)
        if 5 <= run < 25:  # source IPs mostly new: classified directly, the rest remembered
            for record in records:
                if rng.random() < 0.8:
                    record["sourceIPAddress"] = (
                        f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
                    )
        if run >= 70:  # booleans from here on, and numbers equal to them as keys
            records[0]["errorCode"] = rng.choice([True, False])
            records[1]["errorCode"] = rng.choice([1, 0, 1.0])
        structs = skipper.skim_run.decode(orjson.dumps(records))
        skips = skipper.split(structs)
        if skips is None:  # a list where a scalar is read: the whole run takes the usual way
            assert any(isinstance(record.get("errorCode"), list) for record in records)
            continue
        taken = answered.pop() and run < 70
        remembered += taken
        direct += taken and any(skipper._direct)
        for record, skip in zip(records, skips, strict=True):
            if "eventName" not in record or "eventSource" not in record:
                odd_ones += 1
                assert skip is not True and skip is not IGNORED, record
            if skip is False:
                continue
            plan = rules.plan(record)
            assert (skip is IGNORED) == plan.ignored, record
            if plan.ignored:
                continue
            assert (skip is True) == (not plan.ignore and not plan.rules), record
            if skip is not True:
                assert (skip.ignore, skip.rules) == (plan.ignore, plan.rules), record
    assert skipper._keys is not None and remembered >= 30 and direct >= 8 and odd_ones >= 20
    assert skipper._keys_off or skipper._bools[skipper.fields.index("errorCode")]
