"""Rules: a safe, precompiled subset of Python matched against CloudTrail records.

See language.py for the rule language, ruleset.py for how a deployment's rules are built and
evaluated, lookup.py for how flat keys are read from nested records.
"""

from processor.rules.defaults import default_rules, events_to_track_rule
from processor.rules.language import CompiledExpression, compile_expression
from processor.rules.lookup import MISSING, KeyPath, resolve
from processor.rules.ruleset import (
    CompiledRule,
    RuleCheck,
    RuleSet,
    RulesReport,
    build_ruleset,
    check_rules,
    split_rules,
)

__all__ = [
    "MISSING",
    "CompiledExpression",
    "CompiledRule",
    "KeyPath",
    "RuleCheck",
    "RuleSet",
    "RulesReport",
    "build_ruleset",
    "check_rules",
    "compile_expression",
    "default_rules",
    "events_to_track_rule",
    "resolve",
    "split_rules",
]
