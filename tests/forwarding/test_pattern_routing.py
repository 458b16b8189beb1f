"""The forwarding pattern lets through every event the rules alert on, checked on EventBridge's side.

For the default rules, the detection pack and generated user rules, each event a rule's condition is
True for (what a backfill of the same events alerts on, and every event a burst rule counts) is put
on a bus of moto's server whose rule carries the pattern, and must arrive in the rule's SQS queue.
Events no rule matches are routed too, to show the pattern narrows (it is not "everything").
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from typing import Any

import pytest

from bench import userrules
from bench.corpus import generate
from processor.pattern_cli import derive_forwarding
from processor.rules.files import load_rule_files
from processor.rules.forwarding import EVERY_CLOUDTRAIL_EVENT, forwarding_pattern
from processor.rules.ruleset import CompiledRule, RuleSet, build_ruleset
from tests.forwarding.eventbridge import route
from tests.forwarding.generated import EDGE_RULES, generated_events, generated_rules
from tests.pack.everyday import everyday_events
from tests.rules.helpers import FUNCTION_NAME, all_fixtures

OPTIONS = {"rules": None, "ignore_rules": None, "events_to_track": None, "function_name": FUNCTION_NAME}


def conditions_true(rules: Iterable[CompiledRule], event: dict[str, Any]) -> bool:
    """Some rule's condition is exactly True (a raising rule does not alert)."""
    for rule in rules:
        try:
            if rule.expression.matches(event):
                return True
        except Exception:  # noqa: BLE001, S112 - a rule's error is not an alert
            continue
    return False


def keyed(prefix: str, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies with unique eventIDs, so what arrives can be told apart."""
    out = []
    for position, event in enumerate(events):
        copied = copy.deepcopy(event)
        copied["eventID"] = f"{prefix}-{position}"
        out.append(copied)
    return out


def pack_test_events(positive: bool) -> list[dict[str, Any]]:
    tests = [
        t for rule in load_rule_files(None, use_pack=True).rules for t in rule.tests if t.alert is positive
    ]
    return keyed("pack-alert" if positive else "pack-quiet", (t.event for t in tests))


def corpus_events() -> list[dict[str, Any]]:
    records = itertools.chain.from_iterable(records for _, records in generate(4000, seed=11))
    everyday = everyday_events(2000, seed=11)
    return [
        *keyed("bench", records),
        *keyed("everyday", everyday),
        *keyed("fixture", all_fixtures().values()),
        *pack_test_events(True),
        *pack_test_events(False),
    ]


def split(rules: RuleSet, events: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(eventIDs some rule is True for, eventIDs no rule is True for); the backfill's verdicts agree."""
    matched = {e["eventID"] for e in events if conditions_true(rules.rules, e)}
    alerted = {e["eventID"] for e in events if rules.evaluate(e).matched is not None}
    assert alerted <= matched
    return matched, {e["eventID"] for e in events} - matched


USER_RULES = {"rules": userrules.rules_setting(), "separator": userrules.SEPARATOR}


@pytest.mark.parametrize(
    ("options", "widened", "quiet_share"),
    [
        ({}, None, 0.25),
        ({"use_detection_pack": True}, "reads kept whole", 0.15),
        # one of these rules alerts on every write (readOnly false): most quiet events pass anyway
        ({**USER_RULES, "use_detection_pack": True}, "reads kept whole", 0.9),
    ],
    ids=["default rules", "default rules and pack", "default rules, pack and the bench's 51 user rules"],
)
def test_every_event_the_rules_match_reaches_the_target(
    aws: str, options: dict[str, Any], widened: str | None, quiet_share: float
):
    rules = build_ruleset(**{**OPTIONS, **options})
    forwarding = forwarding_pattern(rules)
    assert forwarding.narrowed, forwarding.reasons
    assert [reason for reason in forwarding.reasons if widened and widened in reason] or not widened
    events = corpus_events()
    matched, unmatched = split(rules, events)
    assert len(matched) > 60

    delivered = route(aws, forwarding.pattern, events, "probe")

    assert matched - delivered == set(), "events a rule matches were not forwarded"
    # measured on the bench's general activity: the everyday corpus and the pack's near misses are
    # written as the neighbours of detections (the same event names), so most of them pass by design
    ordinary = {event_id for event_id in unmatched if event_id.startswith("bench-")}
    assert len(delivered & ordinary) < len(ordinary) * quiet_share, "the pattern keeps quiet events out"


def test_generated_user_rules_each_forward_what_they_match(aws: str):
    texts = [*generated_rules(30, seed=17), *EDGE_RULES]
    rules = build_ruleset(
        **{**OPTIONS, "rules": "%".join(texts), "separator": "%", "use_default_rules": False}
    )
    assert len(rules.rules) == len(texts)
    events = generated_events(2000, seed=17)
    alone = [(rule, forwarding_pattern(RuleSet([rule]))) for rule in rules.rules]
    narrowed = [rule for rule, forwarding in alone if forwarding.narrowed]
    assert len(narrowed) >= 20, "the generator should exercise narrowing, not only the fallback"
    assert len(alone) - len(narrowed) >= 2, "and the fallback"

    for position, (rule, forwarding) in enumerate(alone):
        delivered = route(aws, forwarding.pattern, events, f"rule-{position}")
        matched, unmatched = split(RuleSet([rule]), events)
        missed = matched - delivered
        assert not missed, f"{rule.ref.expression}: {sorted(missed)[:5]} not forwarded"
        if forwarding.narrowed:
            assert unmatched - delivered, f"{rule.ref.expression} is said to narrow but forwards everything"
    delivered = route(aws, forwarding_pattern(rules).pattern, events, "all-rules")
    assert split(rules, events)[0] - delivered == set()


def test_a_rule_the_analysis_cannot_bound_forwards_every_cloudtrail_event():
    forwarding = derive_forwarding(
        {**OPTIONS, "rules": 'event.get("eventName") != "GetObject"', "use_default_rules": True}
    )
    assert forwarding.pattern == EVERY_CLOUDTRAIL_EVENT
    assert any("RULES[0]" in reason for reason in forwarding.reasons)


def test_ignore_rules_never_widen_the_pattern():
    base = derive_forwarding(OPTIONS)
    with_ignore = derive_forwarding({**OPTIONS, "ignore_rules": 'event.get("x") != "y"'})
    assert with_ignore.pattern == base.pattern and base.narrowed


def test_an_s3_rules_file_forwards_everything_since_it_changes_without_a_deploy():
    rules = build_ruleset(**OPTIONS)
    forwarding = forwarding_pattern(rules, rules_file="s3://bucket/rules/")
    assert forwarding.pattern == EVERY_CLOUDTRAIL_EVENT and "S3" in forwarding.reasons[0]


def test_a_long_union_is_fitted_by_cutting_the_names_of_writes_first() -> None:
    """The pack's names do not fit 2,048 characters: writes are cut to shared prefixes (PutBucket*,
    Delete*), reads stay whole (Get* would forward most of CloudTrail); only when that is not enough
    are all names cut to their verb."""
    from processor.rules.forwarding import pattern_json

    rules = build_ruleset(**{**OPTIONS, "use_detection_pack": True})
    assert forwarding_pattern(rules, max_length=100_000).reasons == ()
    fitted = forwarding_pattern(rules)
    text = pattern_json(fitted.pattern)
    assert len(text) <= 2048 and "reads kept whole" in fitted.reasons[0]
    assert '"GetSecretValue"' in text and '"ListUsers"' in text and '"DescribeInstanceAttribute"' in text
    assert not any(f'{{"prefix":"{verb}"}}' in text for verb in ("Get", "List", "Describe", "Invoke"))
    assert '{"prefix":"PutBucket"}' in text and '{"prefix":"Put"}' not in text
    tight = forwarding_pattern(rules, max_length=1500)
    assert "cut to their verb" in tight.reasons[0] and '{"prefix":"Get"}' in pattern_json(tight.pattern)
