"""The pack stays quiet on everyday activity: at most twice the default rules' alert rate.

Measured on a fixed seed, so the figures are exact and repeatable (no timing involved):
the bench's general corpus, and everyday activity in the services the pack watches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest

from processor.rules import build_ruleset
from tests.pack.everyday import everyday_events


def _alerts(events: Iterable[dict[str, Any]], *, defaults: bool, pack: bool) -> Counter[str]:
    rules = build_ruleset(
        rules=None,
        ignore_rules=None,
        events_to_track=None,
        function_name="trailalert",
        use_default_rules=defaults,
        use_detection_pack=pack,
    )
    return Counter(verdict.matched.id for verdict in map(rules.evaluate, events) if verdict.matched)


def _rates(events: list[dict[str, Any]]) -> dict[str, float]:
    return {
        name: sum(_alerts(events, defaults=defaults, pack=pack).values()) / len(events)
        for name, defaults, pack in (("defaults", True, False), ("pack", False, True), ("both", True, True))
    }


def test_pack_on_everyday_activity_in_its_own_services() -> None:
    events = list(everyday_events(20_000, seed=7))
    rates = _rates(events)
    assert rates["defaults"] == pytest.approx(1 / 200)
    assert rates["pack"] <= 2 * rates["defaults"], rates
    assert rates["both"] <= 2 * rates["defaults"], rates
    fired = _alerts(events, defaults=False, pack=True)
    assert set(fired) <= {"pack.execution.ssm-start-session-burst"}, fired  # bursts of admin sessions only


def test_pack_on_the_bench_corpus() -> None:
    corpus = pytest.importorskip("bench.corpus")
    events = [record for _, records in corpus.generate(50_000, seed=7) for record in records]
    rates = _rates(events)
    assert rates["defaults"] == pytest.approx(1 / 200, rel=0.01)
    assert rates["pack"] <= 2 * rates["defaults"], rates
    assert rates["both"] <= 2 * rates["defaults"], rates
