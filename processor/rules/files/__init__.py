"""Rules as reviewed YAML files with metadata and inline tests, and the bundled detection pack.

`load_rule_files` reads RULES_FILE (file, folder or s3://) and/or the pack and returns every rule
definition plus every problem, each pointing at a file and line. Compiling the conditions and
checking ids are the rule set's job (processor/rules/ruleset.py), so env and file rules share it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from processor.rules.files.errors import RuleFileError
from processor.rules.files.schema import Location, RuleDefinition, RuleTest, parse_document
from processor.rules.files.sources import Source, read_pack, read_source
from processor.rules.files.yamlload import load_yaml

__all__ = [
    "FileLoad",
    "Location",
    "PACK_SETTING",
    "RULES_FILE_SETTING",
    "RuleDefinition",
    "RuleFileError",
    "RuleTest",
    "load_rule_files",
    "parse_sources",
]

RULES_FILE_SETTING: Final = "RULES_FILE"
PACK_SETTING: Final = "USE_DETECTION_PACK"


@dataclass(frozen=True, slots=True)
class FileLoad:
    """Rule definitions in file order (RULES_FILE first, then the pack) and every problem found."""

    rules: tuple[RuleDefinition, ...]
    problems: tuple[RuleFileError, ...]


def load_rule_files(
    rules_file: str | None, *, use_pack: bool = False, s3_client: Callable[[], Any] | None = None
) -> FileLoad:
    """Read and parse RULES_FILE and, if asked, the bundled pack; never raises for a bad file."""
    rules: list[RuleDefinition] = []
    problems: list[RuleFileError] = []
    if rules_file:
        sources, unreadable = read_source(rules_file, setting=RULES_FILE_SETTING, s3_client=s3_client)
        problems.extend(unreadable)
        _add(parse_sources(sources, setting=RULES_FILE_SETTING), rules, problems)
    if use_pack:
        _add(parse_sources(read_pack(), setting=PACK_SETTING), rules, problems)
    return FileLoad(tuple(rules), tuple(problems))


def parse_sources(sources: list[Source], *, setting: str) -> FileLoad:
    """Parse (name, text) pairs: YAML errors and schema errors are collected, file by file."""
    rules: list[RuleDefinition] = []
    problems: list[RuleFileError] = []
    for name, text in sources:
        try:
            document = load_yaml(text, setting=setting, path=name)
        except RuleFileError as exc:
            problems.append(exc)
            continue
        found, bad = parse_document(document, setting=setting, path=name)
        rules.extend(found)
        problems.extend(bad)
    return FileLoad(tuple(rules), tuple(problems))


def _add(load: FileLoad, rules: list[RuleDefinition], problems: list[RuleFileError]) -> None:
    rules.extend(load.rules)
    problems.extend(load.problems)
