"""The rules of one deployment, built once per cold start, and the verdict for one record.

Order and outcome follow the reference: ignore rules first (the first that matches suppresses
the record), then RULES, the default rules and EVENTS_TO_TRACK; the first rule that matches
wins. A rule that raises is recorded as a failure and the next rule is tried.

Rule files (RULES_FILE) and the detection pack (USE_DETECTION_PACK) run after RULES and before
the default rules: a specific, titled rule should name an alert before a generic default does.
Ids are unique across every source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from processor.errors import ConfigError, RuleError
from processor.models import RuleFailure, RuleRef, Verdict
from processor.rules.defaults import DEFAULT_RULE_INFO, default_rules, events_to_track_rule
from processor.rules.language import CompiledExpression, compile_expression
from processor.rules.selector import Plan, Selector
from processor.rules.threshold import ThresholdCounter

if TYPE_CHECKING:
    from processor.rules.files import FileLoad

__all__ = [
    "CompiledRule",
    "RuleCheck",
    "RulesReport",
    "RuleSet",
    "build_ruleset",
    "check_rules",
    "split_rules",
]

RULES: Final = "RULES"
IGNORE_RULES: Final = "IGNORE_RULES"
USE_DEFAULT_RULES: Final = "USE_DEFAULT_RULES"
EVENTS_TO_TRACK: Final = "EVENTS_TO_TRACK"
RULES_SEPARATOR: Final = "RULES_SEPARATOR"

_NO_VERDICT: Final = Verdict()


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule as alerts name it (`ref`) and as it runs (`expression`); a slotted dataclass because
    it is read for every rule a record runs (see processor/models.py)."""

    ref: RuleRef
    expression: CompiledExpression


class RuleCheck(NamedTuple):
    """One configured rule and whether it compiled: what `trailalert rules check` prints."""

    ref: RuleRef
    expression: CompiledExpression | None
    error: ConfigError | None  # a RuleError, or a RuleFileError pointing at file:line

    @property
    def ok(self) -> bool:
        return self.error is None


class RulesReport(NamedTuple):
    """Every configured rule with its status, and every problem (not only the first)."""

    checks: tuple[RuleCheck, ...]
    problems: tuple[ConfigError, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def split_rules(raw: str | None, separator: str) -> list[str]:
    """Split a RULES/IGNORE_RULES value; empty and blank pieces are dropped.

    The reference drops only empty pieces and lets a blank one fail on every record; a blank
    piece can never match, so dropping it only removes that noise.
    """
    if not raw:
        return []
    if not separator:
        raise ConfigError(RULES_SEPARATOR, "must not be empty")
    return [piece for piece in raw.split(separator) if piece.strip()]


def check_rules(
    *,
    rules: str | None,
    ignore_rules: str | None,
    separator: str = ",",
    use_default_rules: bool = True,
    events_to_track: str | None,
    function_name: str,
    rules_file: str | None = None,
    use_detection_pack: bool = False,
    rule_files: FileLoad | None = None,
) -> RulesReport:
    """Compile every configured rule, collecting all problems instead of stopping at the first.

    Rule files are read here (once per cold start; S3 for an s3:// RULES_FILE) unless
    `rule_files` is given already loaded.
    """
    checks: list[RuleCheck] = []
    problems: list[ConfigError] = []
    sources: list[tuple[str, str, str]] = []  # (setting, id, text), in evaluation order
    for setting, raw in ((IGNORE_RULES, ignore_rules), (RULES, rules)):
        try:
            pieces = split_rules(raw, separator)
        except ConfigError as exc:
            problems.append(exc)
            continue
        sources.extend((setting, f"{setting}[{position}]", text) for position, text in enumerate(pieces))
    if rule_files is None and (rules_file or use_detection_pack):
        from processor.rules.files import load_rule_files  # imports PyYAML: only when asked for

        rule_files = load_rule_files(rules_file, use_pack=use_detection_pack)
    file_checks: list[RuleCheck] = []
    if rule_files is not None:
        problems.extend(rule_files.problems)
        file_checks = [_check_file_rule(definition) for definition in rule_files.rules]
    if use_default_rules:
        sources.extend((USE_DEFAULT_RULES, rule_id, text) for rule_id, text in default_rules(function_name))
    if events_to_track:
        sources.append((EVENTS_TO_TRACK, EVENTS_TO_TRACK, events_to_track_rule(events_to_track)))

    env_checks: list[RuleCheck] = []
    for setting, rule_id, text in sources:
        info = DEFAULT_RULE_INFO.get(rule_id)
        ref = RuleRef(id=rule_id, expression=text, origin=setting)
        if info is not None:
            ref = RuleRef(rule_id, text, setting, title=info.title, severity=info.severity)
        try:
            env_checks.append(RuleCheck(ref, compile_expression(text, setting=setting), None))
        except RuleError as exc:
            env_checks.append(RuleCheck(ref, None, _with_separator_hint(exc, separator)))
    # Evaluation order: ignore rules, RULES, rule files and the pack, default rules, EVENTS_TO_TRACK.
    user = [c for c in env_checks if c.ref.origin in (IGNORE_RULES, RULES)]
    checks = [*user, *file_checks, *(c for c in env_checks if c.ref.origin not in (IGNORE_RULES, RULES))]
    problems.extend(check.error for check in checks if check.error is not None)
    problems.extend(_duplicate_ids(checks))

    if not any(check.ref.origin != IGNORE_RULES for check in checks) and not any(
        problem.setting in (RULES, RULES_SEPARATOR, "RULES_FILE", "USE_DETECTION_PACK")
        for problem in problems
    ):
        problems.append(
            ConfigError(RULES, "no rules to apply: set RULES or EVENTS_TO_TRACK, or enable USE_DEFAULT_RULES")
        )
    return RulesReport(tuple(checks), tuple(problems))


def _check_file_rule(definition: Any) -> RuleCheck:
    """Compile a file rule's condition; an error points at the condition's file and line."""
    from processor.rules.files import RuleFileError

    try:
        return RuleCheck(
            definition.ref, compile_expression(definition.condition, setting=definition.setting), None
        )
    except RuleError as exc:
        where = definition.condition_location
        error = RuleFileError(
            definition.setting, where.path, where.line, f"rule {definition.ref.id!r}: {exc.reason}"
        )
        return RuleCheck(definition.ref, None, error)


def _duplicate_ids(checks: list[RuleCheck]) -> list[ConfigError]:
    """An error for every id used twice, naming both places (a file:line or a setting)."""
    first: dict[str, RuleCheck] = {}
    problems: list[ConfigError] = []
    for check in checks:
        seen = first.setdefault(check.ref.id, check)
        if seen is not check:
            setting = check.ref.origin.split(" ", 1)[0]
            problems.append(
                ConfigError(
                    setting, f"duplicate rule id {check.ref.id!r}: {_where(seen)} and {_where(check)}"
                )
            )
    return problems


def _where(check: RuleCheck) -> str:
    """`rules/aws.yml:12` for a file rule, the setting (RULES, USE_DEFAULT_RULES, ...) otherwise."""
    setting, _, location = check.ref.origin.partition(" ")
    return location or setting


def _with_separator_hint(error: RuleError, separator: str) -> RuleError:
    """A syntax error in a split rule is often a rule cut in two by the separator: say so."""
    if error.setting not in (RULES, IGNORE_RULES) or not error.reason.startswith("invalid syntax"):
        return error
    hint = (
        f"; rules are split on {separator!r}, so if a rule contains {separator!r}, "
        f"set {RULES_SEPARATOR} to a character no rule contains"
    )
    return RuleError(error.setting, error.rule, error.reason + hint)


def build_ruleset(**options: Any) -> RuleSet:
    """The RuleSet of a deployment, from check_rules' keywords; raises the first problem it finds.

    The keywords are check_rules' own (one signature to keep in step, not two); a wrong one is a
    TypeError there.
    """
    report = check_rules(**options)
    if report.problems:
        raise report.problems[0]
    compiled = [
        CompiledRule(check.ref, check.expression) for check in report.checks if check.expression is not None
    ]
    return RuleSet(
        rules=[rule for rule in compiled if rule.ref.origin != IGNORE_RULES],
        ignore_rules=[rule for rule in compiled if rule.ref.origin == IGNORE_RULES],
    )


class RuleSet:
    """Ordered ignore rules and rules, with a selector so a record runs only rules that can match.

    A rule with a threshold counts its matches (see threshold.py) and alerts only on the Nth; until
    then evaluation goes on to the next rules, as if it had not matched.
    """

    def __init__(
        self,
        rules: Sequence[CompiledRule],
        ignore_rules: Sequence[CompiledRule] = (),
        *,
        use_guards: bool = True,
    ) -> None:
        self.rules: tuple[CompiledRule, ...] = tuple(rules)
        self.ignore_rules: tuple[CompiledRule, ...] = tuple(ignore_rules)
        self.selector: Selector[CompiledRule] = Selector(self.ignore_rules, self.rules, use_guards=use_guards)
        self._counter = ThresholdCounter()

    @property
    def keys(self) -> frozenset[str]:
        """Every flat key any rule reads: the only fields a record needs for evaluation."""
        return frozenset().union(*(rule.expression.keys for rule in (*self.ignore_rules, *self.rules)))

    def evaluate(self, event: dict[str, Any]) -> Verdict:
        """Ignore rules, then rules; the first that is True decides. Raising rules become failures."""
        return self.evaluate_planned(event, self.selector.select(event))

    def evaluate_planned(self, event: dict[str, Any], plan: Plan[CompiledRule]) -> Verdict:
        """`evaluate` with the plan already made by the selector."""
        failures: list[RuleFailure] = []
        for rule in plan.ignore:
            try:
                if rule.expression.matches(event):
                    return Verdict(ignored_by=rule.ref, failures=tuple(failures))
            except Exception as exc:  # a rule's own error must not stop the others
                failures.append(_failure(rule, exc, event))
        for rule in plan.rules:
            try:
                if rule.expression.matches(event) and (
                    rule.ref.threshold is None or self._counter.hit(rule.ref, event)
                ):
                    return Verdict(matched=rule.ref, failures=tuple(failures))
            except Exception as exc:  # a rule's own error must not stop the others
                failures.append(_failure(rule, exc, event))
        return Verdict(failures=tuple(failures)) if failures else _NO_VERDICT

    def without_guards(self) -> RuleSet:
        """The same rules, every one run on every record: for checking that guards change nothing."""
        return RuleSet(self.rules, self.ignore_rules, use_guards=False)


def _failure(rule: CompiledRule, exc: Exception, event: dict[str, Any]) -> RuleFailure:
    event_id = event.get("eventID") if isinstance(event, dict) else None
    return RuleFailure(rule=rule.ref, error=f"{type(exc).__name__}: {exc}", event_id=str(event_id or ""))
