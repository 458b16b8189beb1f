"""`trailalert rules pack-table`: docs/pack.md, the table of the detection pack, made from its rule files.

The rule files are the source of truth; the table is printed from them (a test compares it with
docs/pack.md), so it is never kept by hand. "Needs forwarded" is what the real-time path must let
through for the rule to see its events: the rule's own part of the EventBridge pattern
(processor/rules/forwarding.py), before the pattern as a whole is widened to fit EventBridge's limits.
"""

from __future__ import annotations

import re

import click

from processor.rules.files import RuleDefinition, load_rule_files
from processor.rules.forwarding import Matcher, rule_union, simplify
from processor.rules.language import compile_expression
from processor.rules.ruleset import CompiledRule

_ATTACK_ID = re.compile(r"T\d{4}(\.\d{3})?")
_HEADER = """\
# The detection pack

`USE_DETECTION_PACK=true` runs these {count} rules (`processor/rules/pack/`, one reviewed YAML file per
rule, each with events that must alert and near misses that must not; `trailalert rules test --pack`).
This page is generated from the rule files by `trailalert rules pack-table > docs/pack.md`; a test
fails when it is out of date.

*Needs forwarded* is the rule's part of the EventBridge pattern real time deploys
(`trailalert rules pattern`; see [deploy.md](deploy.md)): `|` separates alternatives, `·` joins
tests that must all hold, `x*` is a prefix and `*x*` a substring. The deployed pattern may be wider (EventBridge
limits its length), never narrower.

| id | title | severity | ATT&CK | needs forwarded |
|---|---|---|---|---|
"""


@click.command(name="pack-table", short_help="Print docs/pack.md: the detection pack's rules (Markdown).")
def pack_table_command() -> None:
    """Print the table of the bundled detection pack's rules and their runbooks, as Markdown."""
    click.echo(pack_markdown(), nl=False)


def pack_markdown() -> str:
    """docs/pack.md: the table, then each rule's runbook, in the pack's (path) order."""
    rules = load_rule_files(None, use_pack=True).rules
    lines = [_HEADER.format(count=len(rules))]
    lines += [_row(rule) for rule in rules]
    lines.append("\n## Runbooks: what to check first\n\n")
    lines += [f"- **`{rule.ref.id}`**: {_cell(rule.ref.runbook or rule.ref.description)}\n" for rule in rules]
    return "".join(lines)


def _row(rule: RuleDefinition) -> str:
    attack = ", ".join(ref for ref in rule.ref.references if _ATTACK_ID.fullmatch(ref))
    cells = (f"`{rule.ref.id}`", rule.ref.title, rule.ref.severity, attack, forwarded(rule))
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |\n"


def forwarded(rule: RuleDefinition) -> str:
    """The rule's necessary conditions as EventBridge sees them, e.g. `eventName DeleteDetector`."""
    compiled = CompiledRule(rule.ref, compile_expression(rule.condition, setting=rule.setting))
    terms = sorted(simplify(rule_union(compiled)), key=repr)
    if not terms or () in terms:
        return "every event"
    return " \\| ".join(" · ".join(_field(key, matchers) for key, matchers in term) for term in terms)


def _field(key: str, matchers: frozenset[Matcher]) -> str:
    return f"`{key}` " + ", ".join(sorted(f"`{_matcher(kind, value)}`" for kind, value in matchers))


def _matcher(kind: str, value: object) -> str:
    if kind == "exists":
        return "present" if value else "absent"
    if kind == "prefix":
        return f"{value}*"
    if kind == "suffix":
        return f"*{value}"
    if kind == "literal":
        return str(value).lower()
    return str(value)


def _cell(text: str) -> str:
    """One Markdown table cell (or list item): one line, pipes escaped unless already."""
    return re.sub(r"(?<!\\)\|", r"\\|", " ".join(str(text).split()))
