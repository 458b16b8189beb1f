"""YAML to plain values, remembering the line of every mapping and key, so errors can point there.

PyYAML is imported here and only here, on first use: deployments without RULES_FILE or the
detection pack never import it (it is not on their cold-start path).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from processor.rules.files.errors import RuleFileError


class LineDict(dict):
    """A YAML mapping: a dict that also knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A YAML sequence with the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]


def load_yaml(text: str, *, setting: str, path: str) -> Any:
    """Parse one YAML document; a syntax error or a duplicate key is a RuleFileError with its line."""
    import yaml

    loader_base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: ~10x faster
    loader = _loader_class(yaml, loader_base)(text)
    try:
        return loader.get_single_data()
    except _DuplicateKey as exc:
        raise RuleFileError(setting, path, exc.line, f"duplicate key {exc.key!r}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        reason = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise RuleFileError(setting, path, line, f"invalid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        raise RuleFileError(setting, path, 0, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        self.key = key
        self.line = line


_LOADERS: dict[type, type] = {}


def _loader_class(yaml: Any, base: type) -> type:
    """A SafeLoader whose mappings and sequences carry line numbers and whose dates stay strings."""
    cached = _LOADERS.get(base)
    if cached is not None:
        return cached

    class LineLoader(base):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> LineDict:
            self.flatten_mapping(node)
            mapping = LineDict()
            mapping.line = node.start_mark.line + 1
            mapping.key_lines = {}
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    key = str(key)
                if key in mapping:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1)
                mapping[key] = self.construct_object(value_node, deep=True)
                mapping.key_lines[key] = key_node.start_mark.line + 1
            return mapping

        def construct_yaml_map(self, node: Any) -> Any:
            yield self.construct_mapping(node)

        def construct_yaml_seq(self, node: Any) -> Any:
            items = LineList()
            items.line = node.start_mark.line + 1
            items.item_lines = [child.start_mark.line + 1 for child in node.value]
            yield items
            items.extend(self.construct_sequence(node, deep=True))

    LineLoader.add_constructor("tag:yaml.org,2002:map", LineLoader.construct_yaml_map)
    LineLoader.add_constructor("tag:yaml.org,2002:seq", LineLoader.construct_yaml_seq)
    # CloudTrail times are strings in JSON; keep `eventTime: 2024-08-01T12:00:00Z` a string too.
    LineLoader.add_constructor("tag:yaml.org,2002:timestamp", LineLoader.construct_yaml_str)
    _LOADERS[base] = LineLoader
    return LineLoader


def plain(value: Any) -> Any:
    """A copy made of plain dicts, lists and JSON scalars: what a decoded CloudTrail record holds."""
    if isinstance(value, dict):
        return {str(key): plain(child) for key, child in value.items()}
    if isinstance(value, list):
        return [plain(child) for child in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
