"""Sigma rules for CloudTrail to trailalert rule files, faithfully or not at all.

pySigma parses the rules (SigmaCollection: detection items with their modifiers applied, the
condition tree with `1 of`/`all of` resolved, correlation rules); this module translates the parsed
trees into our rule language itself. Sigma's meaning is kept exactly or the rule is refused with the
construct named: a loose translation would alert on what the rule's author did not mean, or stay
silent where they expected an alert, and nobody would notice.

What Sigma means, in our terms (docs/sigma.md says the same for users):

* A field is a flat key of the record, as written (`requestParameters.bucketName`).
* Every value is matched as a case-insensitive string (Sigma's general rule): the field's text,
  `str(value)`, and the value are both casefolded. `*` and `?` are wildcards; `contains`,
  `startswith` and `endswith` add `*`. `cased` keeps case. A field that is absent, or JSON null,
  matches no string (not even `''`, `*` or `none`).
* `re` is an unanchored RE2 search (`re_search`), case-sensitive unless `|i`; `m` and `s` are
  RE2's flags of the same names.
* `null` is "no value": absent or JSON null; `exists` is "present" (null included). Both are
  refused on the record's object fields (`requestParameters`, ...), where flatten has no key.
* `count() by F > N` over `timeframe`, and `event_count` correlations, become threshold rules
  grouped by F; an event without F does not count (as SIEM aggregations drop it).

pySigma is an optional extra (`pip install 'trailalert[sigma]'`): this module imports it at the top,
and only the `rules import-sigma` command imports this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
    SigmaCondition,
)
from sigma.correlations import (
    SigmaCorrelationRule,
    SigmaCorrelationTimespan,
    SigmaCorrelationType,
)
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.modifiers import reverse_modifier_mapping
from sigma.policy import SigmaPolicy
from sigma.policy.regex_engine import RE2RegexEngine
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from processor.errors import RuleError
from processor.rules.files import parse_sources
from processor.rules.files.schema import ID_PATTERN, MAX_WINDOW_SECONDS
from processor.rules.language import compile_expression

__all__ = ["ImportReport", "Outcome", "import_sigma"]

SETTING: Final = "RULES_FILE"  # the generated files are rule files; the checker reports under this name
SUFFIXES: Final = (".yml", ".yaml")

# Modifiers whose meaning the translation keeps exactly (by their Sigma names).
SUPPORTED_MODIFIERS: Final = frozenset(
    {"contains", "startswith", "endswith", "all", "cased", "re", "i", "ignorecase", "m", "multiline"}
    | {"s", "dotall", "cidr", "exists"}
)
# Why the others are refused, for the report (any modifier not named here: "not supported").
REFUSED_MODIFIERS: Final = {
    "base64": "matches an encoding of the value; CloudTrail fields are not encoded",
    "base64offset": "matches an encoding of the value; CloudTrail fields are not encoded",
    "wide": "matches a UTF-16 encoding; CloudTrail fields are text",
    "utf16": "matches a UTF-16 encoding; CloudTrail fields are text",
    "utf16le": "matches a UTF-16 encoding; CloudTrail fields are text",
    "utf16be": "matches a UTF-16 encoding; CloudTrail fields are text",
    "windash": "expands Windows command-line dashes; not a CloudTrail construct",
    "expand": "placeholders need values only your environment knows",
    "fieldref": "compares two fields; the rule language compares a field with literals",
    "neq": "not supported yet",
    "lt": "numeric comparisons of Sigma are not translated",
    "lte": "numeric comparisons of Sigma are not translated",
    "gt": "numeric comparisons of Sigma are not translated",
    "gte": "numeric comparisons of Sigma are not translated",
}
# CloudTrail record members that hold objects or lists: flatten names no key for them, so `null`
# and `exists` on them would not mean what Sigma means (an object is neither null nor absent).
OBJECT_FIELDS: Final = frozenset(
    {
        "userIdentity",
        "userIdentity.sessionContext",
        "userIdentity.sessionContext.attributes",
        "userIdentity.sessionContext.sessionIssuer",
        "userIdentity.sessionContext.webIdFederationData",
        "userIdentity.onBehalfOf",
        "requestParameters",
        "responseElements",
        "additionalEventData",
        "serviceEventDetails",
        "resources",
        "tlsDetails",
        "insightDetails",
        "edgeDeviceDetails",
        "addendum",
    }
)
LEVELS: Final = {
    "informational": "info",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}
DEFAULT_SEVERITY: Final = "medium"
# `count() by F > N`, `count() > N`, `>=` too (Sigma 1's aggregation, which pySigma refuses to parse).
_AGGREGATION = re.compile(
    r"count\(\s*(?P<counted>[^)]*?)\s*\)(?:\s+by\s+(?P<by>\S+))?\s*(?P<op>>=|<=|==|=|>|<)\s*(?P<n>\S+)"
)
_REGEX_SPECIALS: Final = frozenset("\\.+*?()|[]{}^$")


class _QuietRE2(RE2RegexEngine):
    """pySigma's RE2 engine without RE2's own log lines on stderr, its reason as text (not bytes)."""

    def __init__(self) -> None:  # no module in an attribute: pySigma deep-copies rules and policies
        pass

    @property
    def error(self) -> type[Exception]:
        import re2

        return re2.error  # type: ignore[no-any-return]

    def compile(self, pattern: str, flags: int = 0) -> Any:
        import re2

        options = re2.Options()
        options.log_errors = False
        prefix = "".join(letter for flag, letter in _RE_FLAGS if int(flags) & int(flag))
        try:
            return re2.compile(f"(?{prefix}){pattern}" if prefix else pattern, options)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            raise re2.error(str(reason)) from None


_RE_FLAGS: Final = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))
_POLICY: Final = SigmaPolicy(regex_engine=_QuietRE2())


class Untranslatable(Exception):
    """A construct the translation cannot keep exactly; the message names it and says why."""


# --- the outcome ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """One Sigma rule: written to `written`, or skipped with `reason`."""

    label: str  # the Sigma rule's id, name or title, as the report shows it
    source: str  # the file it came from
    written: Path | None = None
    reason: str = ""
    notes: tuple[str, ...] = ()  # what the user should know about a written rule (e.g. no level)


@dataclass
class ImportReport:
    """Every Sigma rule found, in input order, translated or skipped."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def translated(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.written is not None]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.written is None]


# --- the entry point --------------------------------------------------------------------------


def import_sigma(paths: Iterable[str], output: Path) -> ImportReport:
    """Translate every Sigma rule under `paths` (files or folders) into a rule file in `output`."""
    report = ImportReport()
    collections: list[SigmaCollection] = []
    for path in _files(paths, report):
        try:
            text = path.read_text(encoding="utf-8")
            collections.append(
                SigmaCollection.from_yaml(
                    text,
                    collect_errors=True,
                    source=SigmaRuleLocation(path),
                    collect_filters=True,
                    resolve_references=False,
                    policy=_POLICY,
                )
            )
        except (OSError, UnicodeDecodeError, SigmaError, ValueError) as exc:
            report.outcomes.append(Outcome(path.name, str(path), reason=f"cannot be read: {_text(exc)}"))
        except Exception as exc:  # PyYAML's errors and pySigma's own, named for the report
            report.outcomes.append(
                Outcome(path.name, str(path), reason=f"cannot be parsed: {type(exc).__name__}: {exc}")
            )
    for sigma_filter in (f for collection in collections for f in collection.filters):
        report.outcomes.append(
            Outcome(_label(sigma_filter), _source(sigma_filter), reason="Sigma filters are not supported")
        )
    # One collection of every file's rules, so a correlation finds the rules it counts in other
    # files; filters stay out (SigmaCollection.merge would apply them to the rules).
    merged = SigmaCollection(
        [rule for collection in collections for rule in collection.rules],
        collect_filters=True,
        resolve_references=False,
    )
    _Translation(merged, output, report).run()
    return report


def _files(paths: Iterable[str], report: ImportReport) -> Iterator[Path]:
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
            if not found:
                report.outcomes.append(
                    Outcome(given, given, reason="the folder holds no .yml or .yaml files")
                )
            yield from found
        elif path.is_file():
            yield path
        else:
            report.outcomes.append(Outcome(given, given, reason="no such file or folder"))


# --- rules and correlations -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Translated:
    """A Sigma rule's detection as our expression tree, with the threshold its condition asked for."""

    node: Node
    threshold: tuple[int, int] | None = None  # (count, window_seconds)
    group_by: tuple[str, ...] = ()


class _Translation:
    def __init__(self, collection: SigmaCollection, output: Path, report: ImportReport) -> None:
        self._collection = collection
        self._output = output
        self._report = report
        self._ids: dict[str, str] = {}  # our rule id -> the source that took it

    def run(self) -> None:
        rules = [r for r in self._collection.rules if isinstance(r, SigmaRule)]
        correlations = [r for r in self._collection.rules if isinstance(r, SigmaCorrelationRule)]
        base: dict[int, _Translated | Untranslatable] = {}
        for rule in rules:
            try:
                base[id(rule)] = self._rule(rule)
            except Untranslatable as exc:
                base[id(rule)] = exc
        referenced: dict[int, list[SigmaCorrelationRule]] = {}
        for correlation in correlations:
            try:
                correlation.resolve_rule_references(self._collection)
            except SigmaError:
                continue  # reported with the correlation below
            for reference in correlation.rules or []:
                referenced.setdefault(id(reference.rule), []).append(correlation)
        for rule in rules:
            users = referenced.get(id(rule), [])
            result = base[id(rule)]
            if users and not any(c.generate for c in users):
                continue  # Sigma: a rule a correlation counts alerts on its own only with `generate: true`
            if isinstance(result, Untranslatable):
                self._skip(rule, str(result))
            else:
                self._write(rule, result)
        for correlation in correlations:
            try:
                self._write(correlation, self._correlation(correlation, base))
            except Untranslatable as exc:
                self._skip(correlation, str(exc))

    def _rule(self, rule: SigmaRule) -> _Translated:
        if rule.errors:
            raise Untranslatable(f"pySigma refused it: {_text(rule.errors[0])}")
        _check_logsource(rule)
        for name, detection in rule.detection.detections.items():
            _check_detection(name, detection)
        conditions = rule.detection.condition
        if any("|" in condition for condition in conditions):
            if len(conditions) != 1:
                raise Untranslatable("an aggregation in a list of conditions")
            return _aggregation(rule, conditions[0])
        nodes = [_condition(_parse(rule, condition)) for condition in conditions]
        return _Translated(nodes[0] if len(nodes) == 1 else _or(nodes))

    def _correlation(
        self, correlation: SigmaCorrelationRule, base: dict[int, _Translated | Untranslatable]
    ) -> _Translated:
        if correlation.errors:
            raise Untranslatable(f"pySigma refused it: {_text(correlation.errors[0])}")
        if correlation.type is not SigmaCorrelationType.EVENT_COUNT:
            raise Untranslatable(
                f"correlation type {correlation.type.name.lower()}: only event_count becomes a threshold rule"
            )
        if correlation.aliases.aliases:
            raise Untranslatable("correlation field aliases")
        try:
            correlation.resolve_rule_references(self._collection)
        except SigmaError as exc:
            raise Untranslatable(f"a rule it refers to is not among the inputs: {_text(exc)}") from None
        nodes = []
        for reference in correlation.rules or []:
            used = reference.rule
            if not isinstance(used, SigmaRule):
                raise Untranslatable(f"it refers to another correlation ({reference.reference})")
            result = base[id(used)]
            if isinstance(result, Untranslatable):
                raise Untranslatable(f"the rule it counts, {_label(used)}, cannot be translated: {result}")
            if result.threshold is not None:
                raise Untranslatable(f"the rule it counts, {_label(used)}, has an aggregation of its own")
            nodes.append(result.node)
        condition = correlation.condition
        count = _threshold_count(condition.op.name.lower(), condition.count)
        group_by = tuple(correlation.group_by or ())
        window = _window(correlation.timespan.seconds, correlation.timespan.spec)
        return _grouped(_or(nodes), count, window, group_by)

    # --- writing ---

    def _skip(self, rule: Any, reason: str) -> None:
        self._report.outcomes.append(Outcome(_label(rule), _source(rule), reason=reason))

    def _write(self, rule: Any, translated: _Translated) -> None:
        try:
            rule_id = self._rule_id(rule)
            document, notes = _document(rule, rule_id, translated)
            text = _render_file(rule, document)
            if not _check(rule_id, text, document["condition"]):
                notes += ("no guard: it runs on every record, and the fast path is off while it is active",)
        except Untranslatable as exc:
            self._skip(rule, str(exc))
            return
        self._output.mkdir(parents=True, exist_ok=True)
        target = self._output / f"{rule_id}.yml"
        target.write_text(text, encoding="utf-8")
        self._ids[rule_id] = _source(rule)
        self._report.outcomes.append(Outcome(_label(rule), _source(rule), written=target, notes=notes))

    def _rule_id(self, rule: Any) -> str:
        candidates = [str(rule.id) if rule.id else None, rule.name]
        chosen = next((c for c in candidates if c), None)
        if chosen is None:
            stem = Path(_source(rule)).stem
            chosen = "sigma." + re.sub(r"[^A-Za-z0-9._:-]", "-", stem)[:120]
        if not ID_PATTERN.fullmatch(chosen):
            raise Untranslatable(f"its id {chosen!r} is not letters, digits and . _ : - (at most 128)")
        if chosen in self._ids:
            raise Untranslatable(f"id {chosen} is already taken by {self._ids[chosen]}")
        return chosen


def _check_logsource(rule: SigmaRule) -> None:
    source = rule.logsource
    if (source.product, source.service, source.category) != ("aws", "cloudtrail", None):
        shown = ", ".join(
            f"{name}: {value}"
            for name, value in (
                ("product", source.product),
                ("service", source.service),
                ("category", source.category),
            )
            if value is not None
        )
        raise Untranslatable(f"logsource {{{shown}}} is not product aws, service cloudtrail")


def _check_detection(name: str, detection: SigmaDetection) -> None:
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            _check_detection(name, item)
            continue
        assert isinstance(item, SigmaDetectionItem)
        if item.field is None:
            raise Untranslatable(
                f"{name}: keyword search (a value without a field) searches the whole record"
            )
        if "*" in item.field or "?" in item.field:
            raise Untranslatable(f"{name}: field name with a wildcard ({item.field})")
        for modifier in item.modifiers:
            modifier_name = reverse_modifier_mapping.get(modifier.__name__, modifier.__name__)
            if modifier_name not in SUPPORTED_MODIFIERS:
                why = REFUSED_MODIFIERS.get(modifier_name, "not supported")
                raise Untranslatable(f"{name}: modifier {modifier_name!r} on {item.field} ({why})")


def _parse(rule: SigmaRule, condition: str) -> Any:
    try:
        return SigmaCondition(condition, rule.detection, rule.source).parse()
    except SigmaError as exc:
        raise Untranslatable(f"condition {condition!r}: {_text(exc)}") from None


def _aggregation(rule: SigmaRule, condition: str) -> _Translated:
    """Sigma 1's `search | count() [by F] > N` with `timeframe`, pySigma's parser refusing the pipe."""
    search, _, aggregation = condition.partition("|")
    match = _AGGREGATION.fullmatch(aggregation.strip())
    if match is None:
        raise Untranslatable(f"aggregation {aggregation.strip()!r}: only count() [by field] > N or >= N")
    if match["counted"]:
        raise Untranslatable(
            f"aggregation count({match['counted']}) counts distinct values; only count() becomes a threshold"
        )
    try:
        number = int(match["n"])
    except ValueError:
        raise Untranslatable(
            f"aggregation {aggregation.strip()!r}: the count is not a whole number"
        ) from None
    count = _threshold_count({">": "gt", ">=": "gte"}.get(match["op"], match["op"]), number)
    timeframe = rule.custom_attributes.get("timeframe")
    if timeframe is None:
        raise Untranslatable("count() without a timeframe")
    try:
        span = SigmaCorrelationTimespan(str(timeframe))
    except SigmaError as exc:
        raise Untranslatable(f"timeframe {timeframe!r}: {_text(exc)}") from None
    by = match["by"]
    if by is not None and ("*" in by or "?" in by or "," in by):
        raise Untranslatable(f"count() by {by}: one field without wildcards")
    node = _condition(_parse(rule, search.strip()))
    return _grouped(node, count, _window(span.seconds, span.spec), (by,) if by else ())


def _threshold_count(op: str, number: float) -> int:
    """Our threshold alerts on the Nth match in the window: `>= N` is N, `> N` is N + 1."""
    if type(number) is not int:
        raise Untranslatable(f"count condition {op} {number}: not a whole number")
    if op == "gte" and number >= 1:
        return number
    if op == "gt" and number >= 0:
        return number + 1
    raise Untranslatable(
        f"count condition {op} {number}: a threshold rule alerts when a count reaches N (gte N >= 1, gt N)"
    )


def _window(seconds: int, spec: str) -> int:
    if seconds > MAX_WINDOW_SECONDS:
        raise Untranslatable(f"timespan {spec} is longer than the threshold window's limit of 1 day")
    return seconds


def _grouped(node: Node, count: int, window: int, group_by: tuple[str, ...]) -> _Translated:
    for name in group_by:
        if "*" in name or "?" in name:
            raise Untranslatable(f"group-by field with a wildcard ({name})")
    # A SIEM's aggregation drops events without the group-by field; so does this rule.
    present = [f"event.get({_lit(name)}) is not None" for name in group_by]
    return _Translated(_and([node, *present]) if present else node, (count, window), group_by)


# --- the condition tree -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Op:
    kind: str  # "and" | "or"
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class _Not:
    part: Node


@dataclass(frozen=True, slots=True)
class _Equals:
    """`<text of key> == literal`, kept apart so a value list becomes one `in (...)` test."""

    key: str
    cased: bool
    literal: str


Node = _Op | _Not | _Equals | str  # str: one comparison or call, binding tighter than `not`


def _and(parts: Iterable[Node]) -> Node:
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, _Op) and part.kind == "and" else [part])
    return flat[0] if len(flat) == 1 else _Op("and", tuple(flat))


def _or(parts: Iterable[Node]) -> Node:
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, _Op) and part.kind == "or" else [part])
    return flat[0] if len(flat) == 1 else _Op("or", tuple(flat))


def _condition(node: Any) -> Node:
    if isinstance(node, ConditionAND):
        return _and(_condition(arg) for arg in node.args)
    if isinstance(node, ConditionOR):
        return _or(_condition(arg) for arg in node.args)
    if isinstance(node, ConditionNOT):
        return _Not(_condition(node.args[0]))
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _leaf(node.field, node.value)
    if isinstance(node, ConditionValueExpression):
        raise Untranslatable("keyword search (a value without a field) searches the whole record")
    raise Untranslatable(f"condition element {type(node).__name__}")


def _leaf(key: str, value: Any) -> Node:
    """One field compared with one Sigma value, as Sigma means it (see the module docstring)."""
    if isinstance(value, SigmaNull | SigmaExists):
        if key in OBJECT_FIELDS:
            what = "null" if isinstance(value, SigmaNull) else "exists"
            raise Untranslatable(
                f"{what} on {key}, an object in CloudTrail records (flatten names no key for it)"
            )
        if isinstance(value, SigmaNull):
            return f"event.get({_lit(key)}) is None"
        return f"{_lit(key)} {'in' if value.exists else 'not in'} event"
    if isinstance(value, SigmaRegularExpression):
        return _regex(key, value)
    if isinstance(value, SigmaCIDRExpression):
        return f"in_cidr(event.get({_lit(key)}), {_lit(str(value.network))})"
    if isinstance(value, SigmaString):  # SigmaCasedString too
        return _string(key, value.s, cased=isinstance(value, SigmaCasedString))
    if isinstance(value, SigmaBool):
        return _string(key, ["true" if value.boolean else "false"], cased=False)
    if isinstance(value, SigmaNumber):
        number = value.number
        if isinstance(number, float) and not re.fullmatch(r"-?[0-9]+\.[0-9]+", repr(number)):
            raise Untranslatable(f"number {number!r} on {key}: only plain decimal numbers")
        return _string(key, [str(number)], cased=False)
    raise Untranslatable(f"value of type {type(value).__name__} on {key}")


def _string(key: str, parts: list[Any], *, cased: bool) -> Node:
    """A Sigma string with wildcards, on the field's text (casefolded unless `cased`)."""
    fold = (lambda text: text) if cased else str.casefold
    pieces: list[str | SpecialChars] = []
    for part in parts:
        if isinstance(part, Placeholder):
            raise Untranslatable(f"placeholder %{part.name}% on {key}")
        if isinstance(part, str):
            if pieces and isinstance(pieces[-1], str):
                pieces[-1] += part
            else:
                pieces.append(part)
        else:
            pieces.append(part)
    pieces = [fold(p) if isinstance(p, str) else p for p in pieces]
    many = SpecialChars.WILDCARD_MULTI  # the other special is WILDCARD_SINGLE, `?`
    text = f'str(event.get({_lit(key)}, ""))' + ("" if cased else ".casefold()")
    body = "".join(_regex_escape(p) if isinstance(p, str) else ".*" if p is many else "." for p in pieces)
    # The text of an absent field is "", of JSON null "None": a pattern either could match needs
    # the field to hold a value (Sigma's '' and '*' match values, not absence).
    needs_value = any(re.fullmatch(body, fold(sample), re.DOTALL) is not None for sample in ("", "None"))
    if all(isinstance(p, str) for p in pieces):
        test: Node = _Equals(key, cased, "".join(pieces))  # type: ignore[arg-type]
    elif pieces == [many]:
        return f"event.get({_lit(key)}) is not None"
    elif len(pieces) == 3 and pieces[0] is many and pieces[2] is many and isinstance(pieces[1], str):
        test = f"{_lit(pieces[1])} in {text}"
    elif len(pieces) == 2 and pieces[1] is many and isinstance(pieces[0], str):
        test = f"{text}.startswith({_lit(pieces[0])})"
    elif len(pieces) == 2 and pieces[0] is many and isinstance(pieces[1], str):
        test = f"{text}.endswith({_lit(pieces[1])})"
    else:
        test = f"re_search({text}, {_lit('(?s)^' + body + '$')})"
    return _and([f"event.get({_lit(key)}) is not None", test]) if needs_value else test


def _regex(key: str, value: SigmaRegularExpression) -> Node:
    flags = "".join(
        letter
        for flag, letter in (
            (SigmaRegularExpressionFlag.IGNORECASE, "i"),
            (SigmaRegularExpressionFlag.MULTILINE, "m"),
            (SigmaRegularExpressionFlag.DOTALL, "s"),
        )
        if flag in value.flags
    )
    pattern = str(value.regexp)
    if flags:
        pattern = f"(?{flags}){pattern}"
    # Absent and null fields match no pattern, whatever it accepts ("" or "None" included).
    return _and(
        [
            f"event.get({_lit(key)}) is not None",
            f"re_search(str(event.get({_lit(key)})), {_lit(pattern)})",
        ]
    )


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in _REGEX_SPECIALS else c for c in text)


def _lit(text: str) -> str:
    """A double-quoted Python string literal (JSON's escapes are Python's)."""
    return json.dumps(text, ensure_ascii=False)


def render(node: Node, parent: int = 0) -> str:
    """Our expression text: `or` binds 1, `and` 2, `not` 3; parentheses only where needed."""
    if isinstance(node, str):
        return node
    if isinstance(node, _Equals):
        return _equals_text(node.key, node.cased, [node.literal])
    if isinstance(node, _Not):
        text, precedence = "not " + render(node.part, 3), 3
    else:
        precedence = 1 if node.kind == "or" else 2
        parts = _merge_equals(node.parts) if node.kind == "or" else list(node.parts)
        if len(parts) == 1:
            return render(parts[0], parent)
        # `and` inside `or` gets parentheses too, for the reader (Python would not need them).
        inner = precedence if node.kind == "and" else 3
        text = f" {node.kind} ".join(render(part, inner) for part in parts)
    return f"({text})" if precedence < parent else text


def _merge_equals(parts: tuple[Node, ...]) -> list[Node]:
    """`x == "a" or x == "b"` on one key becomes `x in ("a", "b")`, in place of the first."""
    merged: list[Node] = []
    groups: dict[tuple[str, bool], list[str]] = {}
    for part in parts:
        if isinstance(part, _Equals):
            group = (part.key, part.cased)
            if group not in groups:
                groups[group] = []
                merged.append(part)
            groups[group].append(part.literal)
        else:
            merged.append(part)
    return [
        _equals_text(p.key, p.cased, groups[(p.key, p.cased)]) if isinstance(p, _Equals) else p
        for p in merged
    ]


def _equals_text(key: str, cased: bool, literals: list[str]) -> str:
    text = f'str(event.get({_lit(key)}, ""))' + ("" if cased else ".casefold()")
    unique = list(dict.fromkeys(literals))
    if len(unique) == 1:
        return f"{text} == {_lit(unique[0])}"
    return f"{text} in ({', '.join(_lit(literal) for literal in unique)})"


# --- the rule file ----------------------------------------------------------------------------


def _document(rule: Any, rule_id: str, translated: _Translated) -> tuple[dict[str, Any], tuple[str, ...]]:
    notes: list[str] = []
    level = rule.level.name.lower() if rule.level is not None else None
    severity = LEVELS.get(level or "", DEFAULT_SEVERITY)
    if level is None:
        notes.append(f"no level: severity {DEFAULT_SEVERITY}")
    title = (rule.title or "").strip() or rule_id
    description = (rule.description or "").strip() or title
    if rule.falsepositives:
        description += "\n\nFalse positives: " + "; ".join(str(f) for f in rule.falsepositives)
    references = [str(r).strip() for r in rule.references if str(r).strip()]
    references += [tag for tag in (_attack_tag(t) for t in rule.tags) if tag and tag not in references]
    document: dict[str, Any] = {
        "id": rule_id,
        "title": title,
        "description": description,
        "severity": severity,
    }
    if references:
        document["references"] = references
    document["condition"] = render(translated.node)
    if translated.threshold is not None:
        count, window = translated.threshold
        document["threshold"] = {"count": count, "window_seconds": window}
        if translated.group_by:
            document["group_by"] = list(translated.group_by)
    return document, tuple(notes)


def _attack_tag(tag: Any) -> str | None:
    """ATT&CK tags as the pack writes them: techniques, groups and software by id (T1078.004)."""
    if tag.namespace != "attack":
        return None
    name = str(tag.name)
    if re.fullmatch(r"[tgs]\d{4}(\.\d{3})?", name):
        return name.upper()
    return f"attack.{name}"


def _render_file(rule: Any, document: dict[str, Any]) -> str:
    import yaml

    header = (
        f"# Imported from the Sigma rule {_label(rule)} ({_source(rule)})\n"
        "# by `trailalert rules import-sigma`: change the Sigma rule and import it again.\n"
    )

    class Dumper(yaml.SafeDumper):
        pass

    def folded(dumper: Any, text: _Folded) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:str", str(text), style=">")

    Dumper.add_representer(_Folded, folded)
    shown = {
        key: _Folded(value) if key in ("description", "condition") and len(value) > 60 else value
        for key, value in document.items()
    }
    return header + yaml.dump(shown, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Folded(str):
    """A long value written as a folded block (`>-`), as the pack writes conditions."""


def _check(rule_id: str, text: str, condition: str) -> bool:
    """Our own checker on the file as written: schema, the YAML round trip, the safe subset.
    True when the rule has guards (see guards.py), so the fast path can skip most records for it."""
    load = parse_sources([(f"{rule_id}.yml", text)], setting=SETTING)
    if load.problems:
        raise Untranslatable(f"the generated rule file is invalid: {load.problems[0]}")
    (definition,) = load.rules
    if definition.condition != condition.strip():
        raise Untranslatable("the generated condition does not read back as written")
    try:
        compiled = compile_expression(definition.condition, setting=SETTING)
    except RuleError as exc:
        raise Untranslatable(f"the rule language refuses the translation: {exc.reason}") from None
    return bool(compiled.guards)


def _label(rule: Any) -> str:
    if getattr(rule, "id", None):
        return str(rule.id)
    return getattr(rule, "name", None) or getattr(rule, "title", None) or "(untitled)"


def _source(rule: Any) -> str:
    source = getattr(rule, "source", None)
    path = getattr(source, "path", None)
    return str(path) if path is not None else "?"


def _text(exc: BaseException) -> str:
    """pySigma's message without the location it appends (the report shows the file already)."""
    message = str(exc)
    source = getattr(exc, "source", None)
    if source is not None and message.endswith(f" in {source}"):
        message = message[: -len(f" in {source}")]
    return message.strip() or type(exc).__name__
