"""The docs stay true to the code: every setting the code reads and every command is documented,
the generated references are current, and `-h` works on every command."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from processor import __version__
from processor.cli import main
from processor.devtools import reference
from processor.settings import (
    DIAGNOSTIC_VARIABLES,
    ENVIRONMENT_VARIABLES,
    INTERACTIONS_VARIABLES,
    SECRET_REFERENCES,
    Settings,
)

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"
_SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
COMMANDS = [path for path, _ in reference.command_paths(main)]


def _names_read(folders: tuple[str, ...]) -> dict[str, set[str]]:
    """Environment variable names the code reads: `X.get("NAME")`, `X["NAME"]`, `os.getenv("NAME")`,
    and every such name in processor/settings.py (which reads them through helpers)."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*.py")):
            if "devtools" in path.parts or path.name == "demo.py":  # they set variables, for the demo
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                key = None
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                    if node.func.attr in ("get", "getenv", "pop") and isinstance(node.args[0], ast.Constant):
                        key = node.args[0].value
                elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                    key = node.slice.value
                elif path.name == "settings.py" and isinstance(node, ast.Constant):
                    key = node.value
                if isinstance(key, str) and _SETTING_NAME.match(key):
                    found.setdefault(key, set()).add(str(path.relative_to(REPO)))
    return found


def test_the_configuration_reference_is_generated_from_the_current_code() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert text == reference.configuration_markdown(), "docs/configuration.md is out of date: run `make docs`"


def test_every_setting_the_code_reads_is_in_the_configuration_reference() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### ([A-Z0-9_]+)$", text, re.MULTILINE))
    read = _names_read(("processor", "backfill"))
    assert len(read) >= 15  # the scan sees the settings module (it would find nothing if it broke)
    listed = set(ENVIRONMENT_VARIABLES) | set(INTERACTIONS_VARIABLES) | set(DIAGNOSTIC_VARIABLES)
    listed |= set(SECRET_REFERENCES) | set(SECRET_REFERENCES.values())
    fields = {reference.setting_of_field(f.name) for f in dataclasses.fields(Settings)}
    missing = {name: sorted(where) for name, where in read.items() if name not in documented}
    missing.update({name: ["processor/settings.py"] for name in (listed | fields) - documented})
    assert missing == {}, "document these in processor/devtools/reference.py SETTINGS, then `make docs`"
    for name in documented:  # and each one says what it does, its default, values and stack parameter
        section = text[text.index(f"### {name}\n") :].split("\n### ")[0]
        for part in ("- Default: ", "- Valid values: ", "- Read by: ", "- Stack parameter: "):
            line = section[section.index(part) :].splitlines()[0]
            assert line[len(part) :].strip(), f"{name}: empty {part.strip()}"


def test_every_deploy_time_variable_read_by_infra_is_in_the_deploy_reference() -> None:
    text = (DOCS / "deploy.md").read_text(encoding="utf-8") + (DOCS / "configuration.md").read_text()
    read = _names_read(("infra",))
    assert [name for name in sorted(read) if f"`{name}" not in text and name not in text] == []


def test_the_cli_reference_is_generated_from_the_current_commands() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    missing = [" ".join(path) for path in COMMANDS if f"\n## {' '.join(('trailalert', *path))}\n" not in text]
    assert missing == [], "commands missing from docs/cli.md: run `make docs`"
    assert text == reference.cli_markdown(), "docs/cli.md is out of date: run `make docs`"
    assert {"demo", "backfill", "rules", "config", "mutes"} <= {path[0] for path in COMMANDS if path}


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "trailalert")
def test_every_command_takes_dash_h_as_well_as_dash_dash_help(path: tuple[str, ...]) -> None:
    runner = CliRunner()
    short = runner.invoke(main, [*path, "-h"])
    long = runner.invoke(main, [*path, "--help"])
    assert short.exit_code == 0, short.output
    assert short.output.startswith(f"Usage: {' '.join(('trailalert', *path))}")
    assert short.output == long.output


def test_version_is_the_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"trailalert, version {__version__}\n"
    assert 'dynamic = ["version"]' in (REPO / "pyproject.toml").read_text()  # one version, not two


def _mentioned_commands(text: str) -> list[str]:
    """`trailalert a b ...` as written in code: shell blocks, backticks and Usage lines (not diagrams).

    Returns the words after `trailalert`."""
    fence = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)
    code = [body for tag, body in fence.findall(text) if tag in ("sh", "bash", "console", "shell")]
    code += re.findall(r"`[^`\n]+`", fence.sub("", text))
    code += re.findall(r"^Usage: .*$", text, re.MULTILINE)
    mention = re.compile(r"(?<![\w/.-])trailalert((?: [a-z][a-z-]*)+)")
    return [m.group(1) for block in code for m in mention.finditer(block)]


def _problem(words: str) -> str | None:
    """Why `trailalert <words>` does not name a command (None when it does, or is one plus arguments)."""
    command = main
    for word in words.split():
        if not hasattr(command, "get_command"):
            return None  # a command followed by arguments
        sub = command.get_command(None, word)  # type: ignore[arg-type]
        if sub is None:
            return f"`trailalert{words}`: no command {word!r}"
        command = sub
    return None


def test_help_and_docs_mention_only_commands_that_exist() -> None:
    texts = {
        " ".join(("trailalert", *path, "--help")): reference.command_help(main, path) for path in COMMANDS
    }
    texts.update(
        {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in [README, *DOCS.glob("*.md")]}
    )
    mentions = [(where, words) for where, text in texts.items() for words in _mentioned_commands(text)]
    assert len(mentions) > 30  # the docs name commands often: a scan finding none would be broken
    problems = [f"{where}: {problem}" for where, words in mentions if (problem := _problem(words))]
    assert problems == []
    assert "`trailalert demo`" in texts["trailalert --help"]  # the root help points at the demo


def test_quick_start_is_the_two_commands() -> None:
    text = README.read_text()
    quick = text[text.index("## Quick start") : text.index("## How it works")]
    assert "make demo" in quick and "make test" in quick


def test_every_deploy_setting_and_flag_is_in_the_deploy_reference() -> None:
    from infra.config import known_names
    from infra.deploy import build_parser
    from infra.template import load_template

    text = (DOCS / "deploy.md").read_text()
    missing = [name for name in sorted(known_names(load_template())) if f"`{name}`" not in text]
    assert missing == []
    flags = [
        flag for action in build_parser()._actions for flag in action.option_strings if flag.startswith("--")
    ]
    assert [flag for flag in flags if flag != "--help" and f"`{flag}" not in text] == []
    assert "trailalert config check" in text and "trailalert rules pattern" in text


def test_the_readme_deploy_section_is_short_and_links_its_docs() -> None:
    text = README.read_text()
    deploy = text[text.index("## Deploy") : text.index("## Rules in five minutes")]
    assert "docs/deploy.md" in deploy and "trailalert config check" in deploy
    assert "docs/organizations.md" in deploy
    assert len(deploy.splitlines()) < 30
    assert (DOCS / "organizations.md").is_file()


def test_the_readme_is_read_in_ten_minutes_and_leads_into_every_page_of_the_docs() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 350
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    contents = text[text.index("## Contents") : text.index("## Quick start")]
    for heading in headings[headings.index("Quick start") :]:
        anchor = re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        assert f"(#{anchor})" in contents, heading
    unlinked = [page.name for page in sorted(DOCS.glob("*.md")) if f"(docs/{page.name})" not in text]
    assert unlinked == []
    picture = re.search(r"!\[[^\]]+\]\((docs/images/[^)]+\.png)\)", text)
    assert picture is not None and (REPO / picture.group(1)).is_file()
