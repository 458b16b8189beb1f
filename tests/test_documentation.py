"""The README stays true to the code: every setting the processor reads is documented."""

from __future__ import annotations

from pathlib import Path

from processor.settings import ENVIRONMENT_VARIABLES

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_has_a_row_in_the_configuration_table() -> None:
    text = README.read_text()
    table = text[text.index("## Configuration") : text.index("## Rules")]
    missing = [name for name in ENVIRONMENT_VARIABLES if f"| `{name}` |" not in table]
    assert missing == []


def test_quick_start_is_the_two_commands() -> None:
    text = README.read_text()
    quick = text[text.index("## Quick start") : text.index("## How it works")]
    assert "make demo" in quick and "make test" in quick


DOCS = README.parent / "docs"


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


def test_the_readme_deploy_sections_are_short_and_link_their_docs() -> None:
    text = README.read_text()
    deploy = text[text.index("## Deploy") : text.index("### Organization trails")]
    organizations = text[text.index("### Organization trails") : text.index("## Performance")]
    assert "docs/deploy.md" in deploy and "trailalert config check" in deploy
    assert "docs/organizations.md" in organizations
    assert len(deploy.splitlines()) < 30 and len(organizations.splitlines()) < 12
    assert (DOCS / "organizations.md").is_file()
