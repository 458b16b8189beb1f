"""The EventBridge pattern that forwards every event a rule could alert on, and as little else as it can.

Real time sees only what the EventBridge rule forwards to Kinesis, so the pattern must never drop an
event some alerting rule would match; anything it forwards beyond that is only cost (Kinesis puts,
Lambda time). The pattern is derived from the rules themselves: for each alerting rule (ignore
rules never widen it) the analysis finds conditions that are *necessary* for the rule to be True,
as a union of conjunctions of EventBridge field tests, and the pattern is the union over the rules.
A rule, or a part of one, the analysis cannot bound stands for "any event", so one such rule makes
the pattern forward every CloudTrail event.

What narrows (a conjunct of `and`, or every branch of an `or`):

* `event["k"] == "v"`, `event.get("k") == "v"`, `event.get("k") in ["a", "b"]`
  (with `event.get("k", d)` only when the default `d` itself cannot pass the test)
* `event["k"].startswith("p")` / `.endswith("s")` (EventBridge prefix / suffix matching)
* `"text" in event.get("k", "")` (EventBridge wildcard matching, `*text*`)
* `"k" in event`, a bare `event["k"]` (the field exists: EventBridge's `exists: true`, which a
  null value passes too), `event.get("k") is not None`,
  `event.get("k") is True/False`; `"k" not in event` only for fields CloudTrail writes as scalars
  (`errorCode`, ...), since EventBridge's `exists: false` also matches an object or a list
* `event["readOnly"] == False` and the like on CloudTrail's boolean fields

Anything else, `not` and `!=` included, is unbounded: `event.get("x") != "y"` is True for records
without `x`, and `not` turns a necessary condition into a sufficient one. Only top-level fields and
fields under `userIdentity` narrow: their structure is CloudTrail's, while `requestParameters` and
the like may hold members spelled with dots, which the rules' flat keys read but EventBridge's
nested patterns would not be guaranteed to match; list positions (`resources.0.ARN`) never narrow.

EventBridge limits a pattern to 2,048 characters by default: when the union does not fit, it is
widened step by step (absence tests dropped, then every test but the eventName one, then the names
of writes cut to their verb as prefixes, DeleteTrail -> Delete*, then every event name, GetSecretValue
-> Get*), and if it still does not fit, every
CloudTrail event is forwarded. Every step only widens, so the pattern is never narrower than the
rules need.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import reduce
from typing import Any, Final

from processor.rules import patterns
from processor.rules.lookup import through_list
from processor.rules.ruleset import CompiledRule, RuleSet

__all__ = [
    "EVERY_CLOUDTRAIL_EVENT",
    "MAX_PATTERN_LENGTH",
    "Forwarding",
    "forwarding_pattern",
    "pattern_json",
    "rule_union",
    "simplify",
]

# EventBridge delivers CloudTrail records as "<kind> via CloudTrail" (AWS API Call, AWS Console
# Sign In, AWS Service Event, AWS Insight, ...): exactly the detail-types the processor accepts
# (processor/decode/kinesis.py). Only AWS services may send a source starting with "aws.", so events
# another account's application puts on the bus are never forwarded.
ENVELOPE: Final[dict[str, Any]] = {
    "source": [{"prefix": "aws."}],
    "detail-type": [{"suffix": " via CloudTrail"}],
}
EVERY_CLOUDTRAIL_EVENT: Final[dict[str, Any]] = dict(ENVELOPE)
MAX_PATTERN_LENGTH: Final[int] = 2048  # EventBridge's default quota (adjustable to 4096)
MAX_VALUES_PER_FIELD: Final[int] = 256
_MAX_TERMS: Final[int] = 64  # a conjunction of unions larger than this keeps one side (still sound)

# Top-level fields CloudTrail always writes as a string, number or boolean, never an object or a
# list: for these, EventBridge's `exists: false` means exactly what `"k" not in event` means.
SCALAR_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
        "userAgent", "errorCode", "errorMessage", "requestID", "eventID", "eventType", "apiVersion",
        "readOnly", "managementEvent", "recipientAccountId", "sharedEventID", "vpcEndpointId",
        "vpcEndpointAccountId", "eventCategory", "sessionCredentialFromConsole",
    }
)  # fmt: skip
# CloudTrail's boolean fields, where `== True` can only mean the JSON literal true.
BOOLEAN_FIELDS: Final[frozenset[str]] = frozenset({"readOnly", "managementEvent"})

# A matcher is one element of an EventBridge field's list, kept hashable: ("equals", "v"),
# ("prefix", "p"), ("suffix", "s"), ("wildcard", "*v*"), ("exists", True/False), ("literal",
# True/False) for JSON true/false.
Matcher = tuple[str, Any]
# A term is a conjunction of field tests (field -> matchers, any of which passes), sorted by field.
Term = tuple[tuple[str, frozenset[Matcher]], ...]
# A union of terms. The empty term matches every event; the empty union matches none.
Union = frozenset[Term]

_ANY: Final[Union] = frozenset({()})
_NONE: Final[Union] = frozenset()


@dataclass(frozen=True, slots=True)
class Forwarding:
    """The pattern, and why it is wider than the rules alone would make it (empty: it is not)."""

    pattern: dict[str, Any]
    reasons: tuple[str, ...] = ()

    @property
    def narrowed(self) -> bool:
        return self.pattern != EVERY_CLOUDTRAIL_EVENT


def forwarding_pattern(
    ruleset: RuleSet, *, rules_file: str | None = None, max_length: int = MAX_PATTERN_LENGTH
) -> Forwarding:
    """The narrowest pattern this analysis finds that still forwards every event a rule could match.

    `rules_file` is the RULES_FILE setting: one in S3 is read again at every cold start, so its
    rules can change without a deploy, and a pattern derived from today's could drop tomorrow's.
    """
    if rules_file and rules_file.startswith("s3://"):
        reason = "RULES_FILE is in S3 and may change without a deploy, so every event is forwarded"
        return Forwarding(dict(EVERY_CLOUDTRAIL_EVENT), (reason,))
    unions = [(rule, rule_union(rule)) for rule in ruleset.rules]
    unbounded = [
        f"rule {rule.ref.id} ({rule.ref.origin}) cannot be bounded, so every event is forwarded"
        for rule, union in unions
        if () in union
    ]
    if unbounded:
        return Forwarding(dict(EVERY_CLOUDTRAIL_EVENT), tuple(unbounded))
    terms = simplify(reduce(frozenset.union, (union for _, union in unions), _NONE))
    if not terms:  # no rule can ever be True: nothing to narrow towards, forward as before
        return Forwarding(dict(EVERY_CLOUDTRAIL_EVENT), ("no rule can ever match",))
    for label, widen in _WIDENINGS:
        if label == _VERBS_LABEL:  # before every name is cut to its verb, try cutting fewer
            prefixed = _fit_write_prefixes(terms, max_length)
            if prefixed is not None:
                return Forwarding(prefixed[1], (f"{_WRITES_LABEL} (limit {max_length} characters)",))
        fitted = simplify(widen(terms))
        pattern = _pattern(fitted)
        if _fits(fitted, pattern, max_length):
            return Forwarding(pattern, (f"{label} (limit {max_length} characters)",) if label else ())
    return Forwarding(
        dict(EVERY_CLOUDTRAIL_EVENT),
        (f"the rules need a pattern over {max_length} characters, so every event is forwarded",),
    )


def pattern_json(pattern: dict[str, Any]) -> str:
    """Compact JSON, as EventBridge counts it against its length quota."""
    return json.dumps(pattern, separators=(",", ":"), ensure_ascii=False)


def rule_union(rule: CompiledRule) -> Union:
    """Conditions necessary for `rule` to be True, as a union of terms (the empty term: anything)."""
    with warnings.catch_warnings():  # the rule compiled already; its warnings were seen then
        warnings.simplefilter("ignore")
        tree = ast.parse(rule.ref.expression.lstrip(" \t"), mode="eval")
    return _necessary(tree.body)


# --- the analysis: a node's value can be truthy only if one of the terms holds -----------------


def _necessary(node: ast.expr) -> Union:
    if isinstance(node, ast.BoolOp):
        parts = [_necessary(value) for value in node.values]
        return reduce(_and if isinstance(node.op, ast.And) else _or, parts)
    if isinstance(node, ast.IfExp):  # truthy: (test and body) or orelse
        return _or(_and(_necessary(node.test), _necessary(node.body)), _necessary(node.orelse))
    if isinstance(node, ast.Constant):
        return _ANY if node.value else _NONE
    if isinstance(node, ast.Compare):
        return _compare(node)
    field = _Field.of(node)
    if field is not None:  # a bare read is truthy only when the field exists and is not null
        return field.term(("exists", True), when_missing=bool)
    if isinstance(node, ast.Call):
        return _call(node)
    return _ANY


def _compare(node: ast.Compare) -> Union:
    if len(node.ops) != 1:
        return _ANY
    op, left, right = node.ops[0], node.left, node.comparators[0]
    key = patterns.contains_key(node)
    if key is not None:
        if isinstance(op, ast.In):
            return _term(key, {("exists", True)})
        return _term(key, {("exists", False)}) if key in SCALAR_FIELDS else _ANY
    field, other = _Field.of(left), right
    text = patterns.str_literal(left)
    if text is not None and isinstance(op, ast.In) and _Field.of(right) is not None:
        return _contains(_Field.of(right), text)  # type: ignore[arg-type]
    if field is None and isinstance(op, ast.Eq | ast.Is):
        field, other = _Field.of(right), left
    if field is None or not isinstance(other, ast.Constant | ast.List | ast.Tuple | ast.Set):
        return _ANY
    if isinstance(op, ast.Eq):
        return _equals(field, [other])
    if isinstance(op, ast.In) and isinstance(other, ast.List | ast.Tuple | ast.Set):
        return _equals(field, other.elts)
    if isinstance(op, ast.Is) and isinstance(other, ast.Constant) and isinstance(other.value, bool):
        return field.term(("literal", other.value), when_missing=lambda d: d is other.value)
    if isinstance(op, ast.IsNot) and isinstance(other, ast.Constant) and other.value is None:
        return field.term(("exists", True), when_missing=lambda d: d is not None)
    return _ANY


def _contains(field: _Field, text: str) -> Union:
    """`"text" in field`: the field is a string holding `text` (a wildcard; "" only needs the field)."""
    escaped = text.replace("\\", "\\\\").replace("*", "\\*")
    matcher = ("wildcard", f"*{escaped}*") if text else ("exists", True)
    return field.term(matcher, when_missing=lambda default: isinstance(default, str) and text in default)


def _equals(field: _Field, elements: list[ast.expr]) -> Union:
    """`field == v` or `field in [v, ...]`: strings (and booleans of boolean fields) narrow."""
    values = [element.value for element in elements if isinstance(element, ast.Constant)]
    if len(values) != len(elements):
        return _ANY
    if all(type(value) is str for value in values):
        matchers = {("equals", value) for value in values}
    elif field.key in BOOLEAN_FIELDS and all(type(value) is bool for value in values):
        matchers = {("literal", value) for value in values}
    else:  # numbers: 1 == 1.0 == True in a rule, not in EventBridge
        return _ANY
    return field.terms(matchers, when_missing=lambda default: default in values)


def _call(node: ast.Call) -> Union:
    func = node.func
    if node.keywords:
        return _ANY
    if isinstance(func, ast.Name) and len(node.args) == 1:
        (arg,) = node.args
        if func.id == "bool":
            return _necessary(arg)
        if func.id in ("any", "all") and isinstance(arg, ast.List | ast.Tuple | ast.Set) and arg.elts:
            return reduce(_or if func.id == "any" else _and, [_necessary(e) for e in arg.elts])
        return _ANY
    if not (isinstance(func, ast.Attribute) and func.attr in ("startswith", "endswith")):
        return _ANY
    field = _Field.of(func.value)
    if field is None or len(node.args) != 1:
        return _ANY
    affixes = _strings(node.args[0])
    if affixes is None:
        return _ANY
    kind = "prefix" if func.attr == "startswith" else "suffix"
    # "" passes any string: the field only has to exist (and hold a string, which exists covers).
    matchers = {(kind, affix) if affix else ("exists", True) for affix in affixes}

    def passes(default: Any) -> bool:  # the method on the default: a non-string raises, never True
        return isinstance(default, str) and getattr(default, func.attr)(tuple(affixes))

    return field.terms(matchers, when_missing=passes)


def _strings(node: ast.expr) -> list[str] | None:
    """A string literal or a tuple of them (as `startswith` takes), else None."""
    if patterns.str_literal(node) is not None:
        return [node.value]  # type: ignore[attr-defined]
    if isinstance(node, ast.Tuple) and node.elts:
        values = [patterns.str_literal(element) for element in node.elts]
        return None if any(value is None for value in values) else values  # type: ignore[return-value]
    return None


@dataclass(frozen=True, slots=True)
class _Field:
    """A read of one field: `event["k"]` (no default: a missing field raises, so never matches),
    `event.get("k")` (default None) or `event.get("k", d)` with a literal or unknown default."""

    key: str
    has_default: bool
    default: Any = None
    default_known: bool = True

    @classmethod
    def of(cls, node: ast.expr) -> _Field | None:
        key = patterns.subscript_key(node)
        if key is not None:
            return cls(key, has_default=False)
        key = patterns.get_key(node)
        if key is None:
            return None
        args = node.args  # type: ignore[attr-defined]
        if len(args) == 1:
            return cls(key, has_default=True)
        default = args[1]
        if isinstance(default, ast.Constant):
            return cls(key, has_default=True, default=default.value)
        return cls(key, has_default=True, default_known=False)

    def terms(self, matchers: set[Matcher], when_missing: Callable[[Any], bool]) -> Union:
        """The field passes one of `matchers`, unless the test can pass on the default (then anything)."""
        if self.has_default and (not self.default_known or when_missing(self.default)):
            return _ANY
        return _term(self.key, matchers)

    def term(self, matcher: Matcher, when_missing: Callable[[Any], bool]) -> Union:
        return self.terms({matcher}, when_missing)


def _narrowable(key: str) -> bool:
    """Fields whose structure CloudTrail owns, read without list positions (see the module doc)."""
    segments = key.split(".")
    if not all(segments) or through_list(key):
        return False
    return len(segments) == 1 or segments[0] == "userIdentity"


def _term(key: str, matchers: set[Matcher]) -> Union:
    if not _narrowable(key):
        return _ANY
    return frozenset({((key, frozenset(matchers)),)})


# --- union algebra -------------------------------------------------------------------------------


def _or(a: Union, b: Union) -> Union:
    return _ANY if () in a or () in b else a | b


def _and(a: Union, b: Union) -> Union:
    if () in a and len(a) == 1:
        return b
    if () in b and len(b) == 1:
        return a
    if len(a) * len(b) > _MAX_TERMS:  # keeping either side alone is still a necessary condition
        return min(a, b, key=lambda union: (() in union, len(union)))
    return frozenset(_conjoin(x, y) for x in a for y in b)


def _conjoin(x: Term, y: Term) -> Term:
    """Both terms hold. A field tested on both sides keeps one test (either is necessary): the
    one of exact values, which is the narrower and merges best."""
    fields = dict(x)
    for key, matchers in y:
        mine = fields.get(key)
        if mine is None or (_exact(matchers) and not _exact(mine)):
            fields[key] = matchers
    return tuple(sorted(fields.items()))


def _exact(matchers: frozenset[Matcher]) -> bool:
    return all(kind in ("equals", "literal") for kind, _ in matchers)


def simplify(terms: Iterable[Term]) -> Union:
    """Drop terms another one covers, and merge terms that differ in one field's test.

    Pairs are visited in a fixed order, so the same rules always give the same pattern (merging
    in another order could give another, equally correct one, and a needless stack update)."""
    current = sorted(set(terms), key=_sort_key)
    while True:
        step = _simplify_once(current)
        if step is None:
            return frozenset(current)
        current = sorted(step, key=_sort_key)


def _simplify_once(terms: list[Term]) -> list[Term] | None:
    for i, x in enumerate(terms):
        for j, y in enumerate(terms):
            if i == j:
                continue
            if _covers(x, y):
                return terms[:j] + terms[j + 1 :]
            merged = _merge(x, y)
            if merged is not None:
                return [t for k, t in enumerate(terms) if k not in (i, j)] + [merged]
    return None


def _covers(x: Term, y: Term) -> bool:
    """Every event `y` lets through, `x` lets through too."""
    y_fields = dict(y)
    return all(key in y_fields and y_fields[key] <= matchers for key, matchers in x)


def _merge(x: Term, y: Term) -> Term | None:
    """x or y as one term, when they test the same fields and differ in one field only."""
    if [key for key, _ in x] != [key for key, _ in y]:
        return None
    differ = [i for i, (a, b) in enumerate(zip(x, y, strict=True)) if a[1] != b[1]]
    if len(differ) != 1:
        return None
    i = differ[0]
    if any(kind == "exists" for kind, _ in x[i][1] | y[i][1]):
        return None  # `exists` is kept alone in its list: not mixed with values
    return (*x[:i], (x[i][0], _tidy(x[i][1] | y[i][1])), *x[i + 1 :])


def _tidy(matchers: frozenset[Matcher]) -> frozenset[Matcher]:
    """Without the exact values a prefix or suffix of the same list already lets through, and the
    prefixes a shorter prefix of the list lets through (Create covers CreateFunctionUrlConfig)."""
    affixes = [(kind, value) for kind, value in matchers if kind in ("prefix", "suffix")]
    prefixes = [value for kind, value in affixes if kind == "prefix"]

    def covered(value: str) -> bool:
        return any(
            value.startswith(affix) if kind == "prefix" else value.endswith(affix) for kind, affix in affixes
        )

    def shadowed(kind: str, value: Any) -> bool:
        if kind == "equals":
            return covered(value)
        return kind == "prefix" and any(value != p and value.startswith(p) for p in prefixes)

    return frozenset(m for m in matchers if not shadowed(*m))


# --- fitting EventBridge's limits: each step only widens -----------------------------------------


def _drop_absence(terms: Union) -> Union:
    """Forget `"k" not in event` tests (failed calls of the same names get through too)."""
    return frozenset(tuple((key, m) for key, m in term if ("exists", False) not in m) for term in terms)


def _event_names_only(terms: Union) -> Union:
    """Keep only the eventName test of the terms that have one (other services' calls of the same
    names, and other principals, get through too)."""
    return frozenset(
        tuple((key, m) for key, m in term if key == "eventName")
        if any(key == "eventName" for key, _ in term)
        else term
        for term in terms
    )


def _event_name_verbs(terms: Union) -> Union:
    """Event names cut to their verb, as prefixes: GetSecretValue -> Get* (every Get call gets through;
    still far less than every event)."""
    return frozenset(
        tuple((key, _verbs(m) if key == "eventName" else m) for key, m in term) for term in terms
    )


def _fit_write_prefixes(terms: Union, max_length: int) -> tuple[Union, dict[str, Any]] | None:
    """The names of writes cut to prefixes, as few as needed to fit: first groups of names sharing
    their first two words (PutBucketPolicy, PutBucketLogging -> PutBucket*), then their verb
    (Delete*), the groups that save the most characters first (Put and Create, busy with data
    events and log streams, last). Reads (and runtime calls such as
    Invoke*) stay whole: they are most of CloudTrail's volume, so Get* or Describe* would forward
    most events, while the calls under PutBucket* or Delete* are still a small share."""
    base = _event_names_only(_drop_absence(terms))
    names = sorted(
        {v for term in base for key, m in term if key == "eventName" for kind, v in m if kind == "equals"}
    )
    cut: dict[str, str] = {}
    for words in (2, 1):
        groups: dict[str, list[str]] = {}
        for name in names:
            parts = _WORD.findall(name)
            if len(parts) > words and parts[0] not in _READ_VERBS:
                groups.setdefault("".join(parts[:words]), []).append(name)
        ranked = sorted(
            groups.items(),
            key=lambda g: (g[0] in _BUSY_VERBS, -sum(len(n) + 3 for n in g[1]) + len(g[0]), g[0]),
        )
        for prefix, members in ranked:
            if words == 2 and len(members) < 2:
                continue
            cut.update(dict.fromkeys(members, prefix))
            fitted = simplify(_cut_names(base, cut))
            pattern = _pattern(fitted)
            if _fits(fitted, pattern, max_length):
                return fitted, pattern
    return None


def _cut_names(terms: Union, cut: dict[str, str]) -> Union:
    def widen(matchers: frozenset[Matcher]) -> frozenset[Matcher]:
        return _tidy(
            frozenset(
                ("prefix", cut[v]) if kind == "equals" and v in cut else (kind, v) for kind, v in matchers
            )
        )

    return frozenset(tuple((key, widen(m) if key == "eventName" else m) for key, m in term) for term in terms)


def _verbs(matchers: frozenset[Matcher]) -> frozenset[Matcher]:
    out: set[Matcher] = set()
    for kind, value in matchers:
        verb = _VERB.match(value) if kind in ("equals", "prefix") and isinstance(value, str) else None
        out.add(("prefix", verb.group(0)) if verb else (kind, value))
    return _tidy(frozenset(out))


_VERB: Final = re.compile(r"[A-Z][a-z]+(?=[A-Z0-9])")
# Verbs of frequent writes (PutObject, CreateLogStream): cut last, after every other verb.
_BUSY_VERBS: Final = frozenset({"Put", "Create"})
_WORD: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z][a-z]*|[a-z0-9]+")
# Verbs of read-only calls, of Batch (mostly BatchGet*) and of runtime calls (Invoke*, Converse*, data
# events of Lambda and Bedrock): kept whole by _fit_write_prefixes.
_READ_VERBS: Final = frozenset(
    {"Get", "List", "Describe", "Head", "Lookup", "Search", "Batch", "Query", "Scan", "Invoke", "Converse"}
)


def _names_only_as_verbs(terms: Union) -> Union:
    return _event_name_verbs(_event_names_only(_drop_absence(terms)))


_WRITES_LABEL: Final = (
    "event names of writes cut to shared prefixes (PutBucketPolicy -> PutBucket*, DeleteTrail -> Delete*;"
    " reads kept whole) to fit EventBridge's limits"
)
_VERBS_LABEL: Final = "event names cut to their verb (GetSecretValue -> Get*) to fit EventBridge's limits"
_WIDENINGS: Final[tuple[tuple[str | None, Callable[[Union], Union]], ...]] = (
    (None, lambda terms: terms),
    ("absence tests dropped to fit EventBridge's limits", _drop_absence),
    (
        "only eventName tests kept (where a term has one) to fit EventBridge's limits",
        lambda terms: _event_names_only(_drop_absence(terms)),
    ),
    (_VERBS_LABEL, _names_only_as_verbs),
)


def _fits(terms: Union, pattern: dict[str, Any], max_length: int) -> bool:
    too_many = any(len(matchers) > MAX_VALUES_PER_FIELD for term in terms for _, matchers in term)
    return () not in terms and not too_many and len(pattern_json(pattern)) <= max_length


# --- JSON -----------------------------------------------------------------------------------------


def _pattern(terms: Union) -> dict[str, Any]:
    if () in terms or not terms:
        return dict(EVERY_CLOUDTRAIL_EVENT)
    branches = [_term_json(term) for term in sorted(terms, key=_sort_key)]
    # EventBridge reads "$or" as an or only with two or more branches.
    detail = branches[0] if len(branches) == 1 else {"$or": branches}
    return {**ENVELOPE, "detail": detail}


def _sort_key(term: Term) -> tuple[Any, ...]:
    return tuple((key, sorted(map(repr, matchers))) for key, matchers in term)


def _term_json(term: Term) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, matchers in term:
        *parents, leaf = key.split(".")
        node = root
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = _matchers_json(matchers)
    return root


def _matchers_json(matchers: frozenset[Matcher]) -> list[Any]:
    order = {"equals": 0, "literal": 1, "prefix": 2, "suffix": 3, "wildcard": 4, "exists": 5}
    out: list[Any] = []
    for kind, value in sorted(matchers, key=lambda m: (order[m[0]], repr(m[1]))):
        if kind in ("equals", "literal"):
            out.append(value)
        else:
            out.append({kind: value})
    return out
