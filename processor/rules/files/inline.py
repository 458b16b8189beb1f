"""Run the inline tests of rule definitions: each test event through its own rule's condition.

A test checks the condition alone. For a rule with a threshold it says whether the event counts
toward the burst; the counting itself is tested once, in the rule set, not in every rule.
A condition that raises on a test event fails the test whatever it expected: a rule that raises
on a plausible partial record would raise in production too (use event.get with a default).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from processor.errors import RuleError
from processor.rules.files.schema import RuleDefinition, RuleTest
from processor.rules.language import compile_expression


@dataclass(frozen=True, slots=True)
class TestResult:
    """One inline test: what it expected, what the rule did, and any error."""

    __test__ = False  # not a pytest test class

    rule: RuleDefinition
    test: RuleTest | None  # None when the rule itself did not compile
    alerted: bool | None
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.test is not None and not self.error and self.alerted is self.test.alert


def run_inline_tests(rules: Iterable[RuleDefinition]) -> list[TestResult]:
    """Every test of every rule, in file order; a rule that does not compile is one failed result."""
    results: list[TestResult] = []
    for rule in rules:
        try:
            expression = compile_expression(rule.condition, setting=rule.setting)
        except RuleError as exc:
            results.append(TestResult(rule, None, None, f"{rule.condition_location}: {exc.reason}"))
            continue
        for test in rule.tests:
            try:
                results.append(TestResult(rule, test, expression.matches(test.event)))
            except Exception as exc:  # the rule's own error is the test's result
                results.append(TestResult(rule, test, None, f"{type(exc).__name__}: {exc}"))
    return results
